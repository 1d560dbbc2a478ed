"""The evidence-code registry: what it holds, register_code and matching_codes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from beaconhunt.config import DecideSettings, EvidenceSettings
from beaconhunt.decide import EVIDENCE_CODES, load_policy, matching_codes, register_code
from beaconhunt.decide.codes import CODE_RE
from beaconhunt.detect.dns import DNS_CODES
from beaconhunt.detect.long_session import SESSION_CODES
from beaconhunt.detect.reasons import REASON_CODES
from beaconhunt.detect.settings import DnsSettings, LongSessionSettings
from beaconhunt.enrich.fingerprints import FINGERPRINT_CODES
from beaconhunt.enrich.process import PERSISTENCE_RULES, PROCESS_RULES
from beaconhunt.enrich.services import SERVICE_CODES
from beaconhunt.errors import ConfigError

PIPELINE_CODES = [
    "beacon.regular", "beacon.strong", "beacon.weak", "volume.low", "timing.off_hours",
    "dest.rare", "dest.common", "dest.new", "dest.known", "dest.young_domain",
    "dest.established_domain", "dest.direct_ip", "dest.no_dns", "dest.cloud",
    "process.unknown", "process.approved", "process.unapproved", "process.attributed",
    "process.multiple", "host.workstation", "host.server", "host.unknown", "host.critical",
    "host.suspicious_execution", "host.persistence", "lateral.same_destination",
    "lateral.same_process", "intel.match", "allowlist.match", "history.escalated",
    "history.process_flagged", "history.closed", "history.monitored", "history.seen",
]  # fmt: skip


@pytest.fixture
def registry() -> Iterator[dict[str, str]]:
    """EVIDENCE_CODES, restored after the test (register_code changes it for everyone)."""
    saved = dict(EVIDENCE_CODES)
    yield EVIDENCE_CODES
    EVIDENCE_CODES.clear()
    EVIDENCE_CODES.update(saved)


def test_registry_holds_every_stage_s_codes() -> None:
    expected = [*REASON_CODES, *PROCESS_RULES, *PERSISTENCE_RULES, *PIPELINE_CODES,
                *SERVICE_CODES, *FINGERPRINT_CODES, *SESSION_CODES, *DNS_CODES,
                "dns.known_service"]  # fmt: skip
    assert set(expected) <= set(EVIDENCE_CODES)
    assert len(EVIDENCE_CODES) == len(set(expected))


def test_every_code_is_well_formed_with_a_one_line_meaning() -> None:
    for code, meaning in EVIDENCE_CODES.items():
        assert CODE_RE.fullmatch(code), code
        assert meaning.strip() and "\n" not in meaning and "``" not in meaning, code
        assert len(meaning) <= 160, code


def test_scoring_meanings_come_from_the_reasons_table() -> None:
    assert EVIDENCE_CODES["timing.regular"] == "relative MAD <= 0.10 and periodicity >= 0.5"
    assert EVIDENCE_CODES["count.few"] == "fewer intervals than `count_full`"
    assert not any("docs/scoring.md" in EVIDENCE_CODES[c] for c in REASON_CODES)


def test_process_meanings_come_from_the_rule_classes() -> None:
    assert EVIDENCE_CODES["process.powershell_encoded"] == (
        "PowerShell with `-EncodedCommand` in any spelling the launcher accepts"
    )
    assert EVIDENCE_CODES["persistence.service"].startswith("a service installed")


def test_settings_named_in_meanings_exist() -> None:
    sections = {"decide": DecideSettings, "evidence": EvidenceSettings,
                "dns": DnsSettings, "long_session": LongSessionSettings}  # fmt: skip
    checked = 0
    for code, meaning in EVIDENCE_CODES.items():
        for section, first, rest in re.findall(r"\[(\w+)\] (\w+)((?: / \w+| and \w+)*)", meaning):
            names = {f.name for f in dataclasses.fields(sections[section])}
            for name in [first, *re.findall(r"\w+", rest.replace(" and ", " "))]:
                assert name in names, f"{code}: [{section}] {name}"
                checked += 1
    assert checked == 18  # every reference was found (update when adding one)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("dest.rare", ["dest.rare"]),
        ("dest.ra*", ["dest.rare"]),
        ("beacon.*", ["beacon.regular", "beacon.strong", "beacon.weak"]),
        ("dest.rare | dest.new", ["dest.rare", "dest.new"]),
        ("dest.new|dest.rare", ["dest.rare", "dest.new"]),  # registry order
        ("history.*ed", ["history.escalated", "history.process_flagged", "history.closed",
                         "history.monitored"]),
        ("dest.ne?", ["dest.new"]),
        ("DEST.RARE", []),
        ("dest", []),
        ("", []),
    ],
)  # fmt: skip
def test_matching_codes(pattern: str, expected: list[str]) -> None:
    assert matching_codes(pattern) == expected


def test_persistence_glob_matches_every_persistence_rule() -> None:
    assert matching_codes("persistence.*") == list(PERSISTENCE_RULES)


def test_register_code_makes_a_plugin_code_usable(registry: dict[str, str]) -> None:
    table = {"rules": [{"name": "ja3", "decision": "escalate", "when": ["tls.ja3_malware"],
                        "reason": "known malware TLS fingerprint"}]}  # fmt: skip
    with pytest.raises(ConfigError, match="matches no known evidence code"):
        load_policy(table, "cfg.toml")
    register_code("tls.ja3_malware", "the TLS client fingerprint (JA3)  is a known malware one")
    assert registry["tls.ja3_malware"] == "the TLS client fingerprint (JA3) is a known malware one"
    assert load_policy(table, "cfg.toml").rules[0].name == "ja3"
    # registering it again with the same meaning is harmless
    register_code("tls.ja3_malware", "the TLS client fingerprint (JA3) is a known malware one")


@pytest.mark.parametrize(
    ("code", "meaning", "message"),
    [
        ("Tls.ja3", "x", "must be dotted lowercase words"),
        ("tls", "x", "must be dotted lowercase words"),
        ("tls.ja3 ", "x", "must be dotted lowercase words"),
        ("tls.ja3", "  ", "needs a meaning"),
        ("dest.rare", "something else", "already registered as: few internal hosts"),
    ],
)
def test_register_code_rejects(
    registry: dict[str, str], code: str, meaning: str, message: str
) -> None:
    before = dict(registry)
    with pytest.raises(ValueError, match=re.escape(message)):
        register_code(code, meaning)
    assert registry == before
