"""Client fingerprints: known C2 defaults, prevalence, self-signed certificates, Host headers."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from beaconhunt.enrich.fingerprints import (
    ClientPrints,
    KnownPrint,
    fingerprint_evidence,
    known_prints,
    match_known,
)
from beaconhunt.pipeline import hunt

CS_SUBJECT = (
    "CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth"
)


def _ev(prints: ClientPrints, prevalence: dict[str, int] | None = None, active: int = 100,
        known: list[KnownPrint] | None = None) -> dict[str, str]:  # fmt: skip
    found = fingerprint_evidence(prints, prevalence or {}, active, 10, 5, 0.2, known)
    return {e.code: e.text for e in found}


def test_every_entry_of_the_data_file_is_sourced() -> None:
    data = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "src/beaconhunt/enrich/fingerprints.toml").read_text(
            encoding="utf-8"
        )
    )["fingerprint"]
    assert len(data) >= 20
    for e in data:
        assert e["source"] and e["confidence"] in ("high", "medium", "low"), e["value"]
    assert known_prints()  # the comparable kinds load


def test_cobalt_strike_default_certificate_is_an_indicator() -> None:
    # Zeek writes the DN as one string; Suricata in the other order: match as a substring
    prints = ClientPrints({"subject": Counter({CS_SUBJECT: 40}),
                           "issuer": Counter({CS_SUBJECT: 40})})  # fmt: skip
    ev = _ev(prints)
    assert "client.c2_fingerprint" in ev and "Cobalt Strike" in ev["client.c2_fingerprint"]
    assert "client.self_signed_cert" in ev  # issuer equals subject


def test_suricata_dn_order_is_the_same_certificate() -> None:
    suri = (
        "C=Earth, ST=Cyberspace, L=Somewhere, O=cobaltstrike, OU=AdvancedPenTesting,"
        " CN=Major Cobalt Strike"
    )
    prints = ClientPrints({"subject": Counter({suri: 1}), "issuer": Counter({CS_SUBJECT: 1})})
    assert "client.self_signed_cert" in _ev(prints)


def test_a_low_confidence_malware_ja3_is_only_reported() -> None:
    weak = next(k for k in known_prints() if k.kind == "ja3" and k.malicious
                and k.confidence == "low")  # fmt: skip
    ev = _ev(ClientPrints({"ja3": Counter({weak.value: 12})}))
    assert "client.reported_fingerprint" in ev and "client.c2_fingerprint" not in ev


def test_known_benign_values_are_not_indicators() -> None:
    chrome = next(k for k in known_prints() if not k.malicious and k.kind == "ja4")
    ev = _ev(ClientPrints({"ja4": Counter({chrome.value: 3})}))
    assert not {"client.c2_fingerprint", "client.reported_fingerprint"} & set(ev)


def test_match_kinds() -> None:
    known = [KnownPrint("user_agent", "; MANM; MANM)", "CS malleable UA", True, "medium", "suffix"),
             KnownPrint("ja3", "ABCDEF", "x", True, "medium")]  # fmt: skip
    ua = "Mozilla/4.0 (compatible; MSIE 8.0; MANM; MANM)"
    prints = ClientPrints({"user_agent": Counter({ua: 2}), "ja3": Counter({"abcdef": 1})})
    assert sorted(k.name for k, _ in match_known(prints, known)) == ["CS malleable UA", "x"]


@pytest.mark.parametrize(
    ("hosts", "active", "code"),
    [
        (60, 100, "client.common_fingerprint"),  # 60 of 100 hosts: an installed application
        (1, 100, "client.rare_fingerprint"),     # this host alone
        (3, 100, None),                          # a few hosts: nothing said
        (1, 5, None),                            # too few hosts to judge prevalence
    ],
)  # fmt: skip
def test_prevalence(hosts: int, active: int, code: str | None) -> None:
    ev = _ev(ClientPrints({"ja3": Counter({"f00d": 10})}), {"f00d": hosts}, active)
    codes = {c for c in ev if c in ("client.common_fingerprint", "client.rare_fingerprint")}
    assert codes == ({code} if code else set())


def test_ja4_is_preferred_over_ja3_for_prevalence() -> None:
    prints = ClientPrints({"ja3": Counter({"a": 1}), "ja4": Counter({"t13d1516h2_x_y": 1})})
    ev = _ev(prints, {"a": 1, "t13d1516h2_x_y": 80})
    assert "JA4" in ev["client.common_fingerprint"]


def test_http_without_host() -> None:
    assert "client.no_host_header" in _ev(ClientPrints({}, http_requests=10, no_host=10))
    assert "client.no_host_header" not in _ev(ClientPrints({}, http_requests=10, no_host=2))


CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "ja4", "mismatch"),
    [
        (CHROME_UA, "t12d190700_d83cc789557e_16bbda4055b2", True),   # at most TLS 1.2
        (CHROME_UA, "t13d191000_9dc949149365_e7c285222651", True),   # no ALPN ("00")
        (CHROME_UA, "t13d1516h2_8daaf6152771_02713d6af862", False),  # Chrome's own JA4
        ("curl/8.4.0", "t12d190700_d83cc789557e_16bbda4055b2", False),  # claims no browser
        # Internet Explorer 6 is no current browser: nothing to contradict
        ("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", "t12d190700_x_y", False),
    ],
)  # fmt: skip
def test_user_agent_contradicted_by_the_tls_fingerprint(ua: str, ja4: str, mismatch: bool) -> None:
    prints = ClientPrints({"user_agent": Counter({ua: 5}), "ja4": Counter({ja4: 5})})
    assert ("client.ua_mismatch" in _ev(prints)) is mismatch


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (" + ") " * 50_000,                # backtracking bait
        "Mozilla/5.0 (x) Chrome/" + "9" * 100_000,      # a number too long to convert
        "Mozilla/5.0 (" + "a" * 100_000,
    ],
)  # fmt: skip
def test_hostile_user_agents_are_judged_without_error(ua: str) -> None:
    # only the first 512 characters are read, with no nested quantifier (an earlier
    # pattern took 71 s on the first of these) and digits bounded (int() refuses
    # 100,000-digit strings)
    prints = ClientPrints({"user_agent": Counter({ua: 1}), "ja4": Counter({"t12d190700_x_y": 1})})
    assert "client.ua_mismatch" not in _ev(prints)


def test_hostile_values_are_inert() -> None:
    bad = "\x1b]8;;http://evil\x07CN=Major Cobalt Strike\u202e"
    ev = _ev(ClientPrints({"subject": Counter({bad: 1}), "issuer": Counter({bad: 1})}))
    for text in ev.values():
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text


def _zeek(path: Path, name: str, fields: list[str], types: list[str],
          rows: list[list[str]]) -> None:  # fmt: skip
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", f"#path\t{name}", "#fields\t" + "\t".join(fields),
            "#types\t" + "\t".join(types)]  # fmt: skip
    path.write_text("\n".join(head + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")


def test_zeek_ja3_and_certificate_columns_reach_the_finding(tmp_path: Path) -> None:
    # a beacon every 60 s to a bare IP whose certificate is Cobalt Strike's default,
    # logged by Zeek with the ja3 package's columns in ssl.log
    t0 = 1793700000.0
    conn, ssl = [], []
    for i in range(40):
        uid = f"C{i:05d}aaaa"
        ts = f"{t0 + 60.0 * i + (i % 3) * 0.2:.6f}"
        conn.append([ts, uid, "10.1.1.5", str(50000 + i), "203.0.113.9", "443", "tcp", "ssl",
                     "0.30", "310", "1200", "SF", "10", "12"])  # fmt: skip
        ssl.append([ts, uid, "10.1.1.5", str(50000 + i), "203.0.113.9", "443", "TLSv12", "-",
                    "72a589da586844d7f0818ce684948eea", "b742b407517bac9536a77a7b0fee28e9",
                    CS_SUBJECT, CS_SUBJECT])  # fmt: skip
    _zeek(tmp_path / "conn.log", "conn",
          ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
           "duration", "orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "resp_pkts"],
          ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
           "count", "count", "string", "count", "count"], conn)  # fmt: skip
    _zeek(tmp_path / "ssl.log", "ssl",
          ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version",
           "server_name", "ja3", "ja3s", "subject", "issuer"],
          ["time", "string", "addr", "port", "addr", "port", "string", "string", "string",
           "string", "string", "string"], ssl)  # fmt: skip
    [f] = hunt([tmp_path]).findings
    codes = {r.code for r in f.reasons}
    assert {"client.c2_fingerprint", "client.self_signed_cert"} <= codes
    assert (f.decision.value, f.rule) == ("escalate", "c2-indicators")


def test_suricata_tls_fingerprints_reach_the_finding(tmp_path: Path) -> None:
    # EVE: a tls event (ja3 object, ja4 string, subject, issuerdn) and the flow event of
    # the same flow_id, every 60 s; the certificate is Cobalt Strike's default
    suri_dn = (
        "C=Earth, ST=Cyberspace, L=Somewhere, O=cobaltstrike, OU=AdvancedPenTesting,"
        " CN=Major Cobalt Strike"
    )
    lines = []
    for i in range(40):
        t = f"2026-11-03T08:{i:02d}:00.{100000 + i:06d}+0000"
        addr = {"src_ip": "10.1.1.5", "src_port": 50000 + i, "dest_ip": "203.0.113.9",
                "dest_port": 443, "proto": "TCP"}  # fmt: skip
        tls = {"subject": suri_dn, "issuerdn": suri_dn, "version": "TLS 1.2",
               "ja3": {"hash": "72a589da586844d7f0818ce684948eea", "string": "771,49192"},
               "ja4": "t12d190700_d83cc789557e_16bbda4055b2"}  # fmt: skip
        flow = {"pkts_toserver": 7, "pkts_toclient": 6, "bytes_toserver": 1180,
                "bytes_toclient": 4823, "start": t, "end": t, "state": "closed"}  # fmt: skip
        lines.append(json.dumps({"timestamp": t, "flow_id": 9000 + i, "event_type": "tls",
                                 **addr, "tls": tls}))  # fmt: skip
        lines.append(json.dumps({"timestamp": t, "flow_id": 9000 + i, "event_type": "flow",
                                 **addr, "app_proto": "tls", "flow": flow}))  # fmt: skip
    (tmp_path / "eve.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    [f] = hunt([tmp_path / "eve.json"]).findings
    codes = {r.code for r in f.reasons}
    assert {"client.c2_fingerprint", "client.self_signed_cert"} <= codes
    assert f.connections == 40  # the tls events named flows, they are not connections
