"""Every evidence code a decision rule may name, with its one-line meaning.

:data:`EVIDENCE_CODES` is the single registry: policy validation checks each
rule pattern against it (so a typo such as ``dest.yung_domain`` is an error,
not a rule that silently never fires) and ``docs/policy.md`` lists it. Codes
emitted by other stages are imported from where they are defined (scoring's
``REASON_CODES``, the process and persistence rule registries), so adding a
rule there adds its code here. Plugins add their own with :func:`register_code`.

Codes are a public contract: add codes, never rename them.
"""

from __future__ import annotations

import fnmatch
import re

from beaconhunt.detect import reasons
from beaconhunt.detect.dns import DNS_CODES
from beaconhunt.detect.long_session import SESSION_CODES
from beaconhunt.enrich.fingerprints import FINGERPRINT_CODES
from beaconhunt.enrich.process import PERSISTENCE_RULES, PROCESS_RULES
from beaconhunt.enrich.services import SERVICE_CODES

__all__ = ["EVIDENCE_CODES", "matching_codes", "register_code"]

#: What an evidence code looks like: dotted lowercase words (``dest.young_domain``).
CODE_RE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)+")


def _one_line(text: str) -> str:
    """Docstring text as one Markdown-friendly line (````x```` -> ```x```)."""
    return " ".join(text.replace("``", "`").split())


def _reason_meanings() -> dict[str, str]:
    """Scoring codes with the condition from the table in :mod:`beaconhunt.detect.reasons`."""
    table = dict(re.findall(r"^``([a-z_.]+)``\s+(.+)$", reasons.__doc__ or "", re.M))
    fallback = "timing evidence from the beacon score (see docs/scoring.md)"
    return {code: _one_line(table.get(code, fallback)) for code in reasons.REASON_CODES}


def _rule_meanings() -> dict[str, str]:
    """Process and persistence codes with the first paragraph of their rule's docstring."""
    rules = {**PROCESS_RULES, **PERSISTENCE_RULES}
    return {code: _sentence((cls.__doc__ or code).split("\n\n")[0]) for code, cls in rules.items()}


def _sentence(doc: str) -> str:
    """A docstring's first paragraph as a table cell: one line, no final period, and
    lowercase like the other meanings (``The image runs...`` -> ``the image runs...``)."""
    text = _one_line(doc).rstrip(".")
    first, _, rest = text.partition(" ")
    return f"{first.lower()} {rest}" if first in ("A", "An", "The") else text


_PIVOT_CODES: dict[str, str] = {
    # timing: the beacon score in the bands of [decide], and what the connections look like
    "beacon.regular": "beacon score >= [decide] regular_at: regular enough to call a beacon",
    "beacon.strong": "beacon score >= [decide] strong_at: a textbook beacon"
    " (always with beacon.regular)",
    "beacon.weak": "beacon score < [decide] regular_at: too irregular (or too jittered)"
    " to call a beacon on timing alone",
    "volume.low": "little data per connection (median bytes out + in"
    " <= [evidence] low_volume_bytes), check-in sized",
    "timing.off_hours": "a workstation's check-ins continue outside working hours"
    " ([evidence] work_hours), when nobody is at the keyboard",
    # destination
    "dest.rare": "few internal hosts contact the destination"
    " ([evidence] rare_max_hosts / rare_max_share)",
    "dest.common": "many internal hosts contact the destination"
    " ([evidence] common_min_hosts and common_min_share)",
    "dest.new": "the destination first appeared after [evidence] baseline_days"
    " of history without it",
    "dest.known": "the destination has been contacted since the history (--db) began,"
    " at least [evidence] known_days ago",
    "dest.young_domain": "the registered domain was younger than [evidence] young_domain_days"
    " when the traffic began (WHOIS)",
    "dest.established_domain": "the registered domain was at least [evidence]"
    " established_domain_days old when the traffic began (WHOIS; never for shared cloud"
    " suffixes)",
    "dest.direct_ip": "connections go to a bare IP address; no name (SNI, HTTP Host, DNS) is known",
    "dest.no_dns": "the source made DNS lookups but never resolved a name to this address"
    " (hard-coded address)",
    "dest.cloud": "the name is under a shared cloud/CDN suffix: the provider's reputation"
    " says nothing about the tenant",
    "allowlist.match": "the destination is approved infrastructure (allowlist entry)",
    # process
    "process.attributed": "endpoint telemetry names the process that made the connections",
    "process.multiple": "several processes made the connections (shares listed)",
    "process.unknown": "no endpoint telemetry explains the connections: the process is unknown",
    "process.approved": "the process and destination are in the application inventory ([[apps]])",
    "process.unapproved": "an application inventory exists, but this process talking to"
    " this destination is not in it",
    # host
    "host.workstation": "the source is a workstation or laptop (asset inventory)",
    "host.server": "the source is a server or domain controller (asset inventory)",
    "host.unknown": "an asset inventory is loaded but the source host is not in it",
    "host.critical": "the source host has criticality 3 or more in the asset inventory",
    "host.suspicious_execution": "other processes on the source host show suspicious"
    " execution (process.* evidence)",
    "host.persistence": "other processes on the source host set up persistence"
    " (persistence.* evidence)",
    # lateral
    "lateral.same_destination": "other internal hosts beacon to the same destination"
    " (campaign-like)",
    "lateral.same_process": "other hosts run the same program beaconing at the same interval",
    # threat intelligence
    "intel.match": "the destination matches a threat-intelligence indicator"
    " (known C2 infrastructure)",
    # history: earlier analyst cases (--db)
    "history.escalated": "an analyst escalated this destination in an earlier case",
    "history.process_flagged": "the process was flagged as suspicious in an earlier case",
    "history.closed": "an analyst closed this destination (and process) before;"
    " their note is in the evidence",
    "history.monitored": "an analyst put this destination under monitoring in an earlier case",
    "history.seen": "this source and destination were reported in an earlier hunt",
}

EVIDENCE_CODES: dict[str, str] = {
    **_reason_meanings(),
    **_rule_meanings(),
    **_PIVOT_CODES,
    **SERVICE_CODES,
    **FINGERPRINT_CODES,
    **SESSION_CODES,
    **DNS_CODES,
    "dns.known_service": "the zone belongs to a documented service that encodes data in"
    " names (antivirus reputation, DNS blocklist, CDN, telemetry)",
}
"""Every known evidence code -> its one-line meaning; policy rules are checked against it."""


def register_code(code: str, meaning: str) -> None:
    """Make ``code`` known to policy validation (for plugins that emit their own evidence).

    Registering a code again with the same meaning is harmless; a different
    meaning, a malformed code or an empty meaning raise :class:`ValueError`.
    """
    if not CODE_RE.fullmatch(code):
        raise ValueError(f"evidence code {code!r} must be dotted lowercase words, e.g. 'dest.rare'")
    text = " ".join(meaning.split())
    if not text:
        raise ValueError(f"evidence code {code!r} needs a meaning")
    known = EVIDENCE_CODES.get(code)
    if known is not None and known != text:
        raise ValueError(f"evidence code {code!r} is already registered as: {known}")
    EVIDENCE_CODES[code] = text


def matching_codes(pattern: str) -> list[str]:
    """The known codes a pattern matches, in registry order.

    ``pattern`` is one glob (``fnmatch``, case-sensitive: ``process.powershell_*``)
    or several joined by ``|`` (``dest.rare | dest.new``), any of which may match.
    """
    globs = [g.strip() for g in pattern.split("|") if g.strip()]
    return [c for c in EVIDENCE_CODES if any(fnmatch.fnmatchcase(c, g) for g in globs)]
