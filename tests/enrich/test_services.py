"""Protocol conformance: a protocol is recognised from sizes and the sensor's name,
not from its port; traffic on a well-known port that does not conform is a mismatch."""

from __future__ import annotations

import numpy as np
import pytest

from beaconhunt.enrich.services import PROTOCOLS, SERVICE_CODES, Traffic, service_evidence

NAN = float("nan")


def _t(
    proto: str,
    port: int,
    out: list[float],
    back: list[float],
    *,
    pkts: tuple[float, float] | None = (1, 1),
    service: str | None = None,
    log: str = "conn",
) -> Traffic:
    n = len(out)
    po, pi = pkts if pkts is not None else (NAN, NAN)
    return Traffic(
        proto=proto,
        port=port,
        service=[service] * n,
        log=[log] * n,
        bytes_out=np.asarray(out, dtype=float),
        bytes_in=np.asarray(back, dtype=float),
        pkts_out=np.full(n, po, dtype=float),
        pkts_in=np.full(n, pi, dtype=float),
    )


def _codes(t: Traffic, interval: float | None = None) -> list[str]:
    return [e.code for e in service_evidence(t, interval)]


# (case, traffic, expected codes) - sizes are payload bytes per connection (Zeek)
CASES = [
    # IoT-23 Hakai capture: 48-byte client and server packets, one each
    ("ntp, zeek without an ntp analyzer", _t("udp", 123, [48] * 20, [48] * 20), ["service.ntp"]),
    ("ntp named by zeek", _t("udp", 123, [48] * 20, [48] * 20, service="ntp"), ["service.ntp"]),
    # 48 + 4-byte key id + 20-byte SHA-1 digest = 72
    ("ntp with a symmetric-key mac", _t("udp", 123, [72] * 10, [72] * 10), ["service.ntp"]),
    # iburst at start-up: 4 requests in one Zeek connection, 4 x 48 = 192 bytes
    ("ntp burst in one conn", _t("udp", 123, [192] * 5, [192] * 5, pkts=(4, 4)), ["service.ntp"]),
    (
        "ntp burst, no packet counts",
        _t("udp", 123, [192] * 5, [192] * 5, pkts=None),
        ["service.ntp"],
    ),
    # 900 bytes a packet is no NTP packet
    ("data tunnelled on udp/123", _t("udp", 123, [900] * 20, [900] * 20), ["service.mismatch"]),
    # Suricata counts frames: 48 + 8 UDP + 20 IPv4 + 14 Ethernet = 90 bytes a packet
    (
        "ntp as suricata counts it",
        _t("udp", 123, [90] * 10, [90] * 10, log="suricata"),
        ["service.ntp"],
    ),
    ("dns query to 8.8.8.8", _t("udp", 53, [40] * 10, [120] * 10, service="dns"), ["service.dns"]),
    (
        "tls on port 53",
        _t("tcp", 53, [517] * 10, [4000] * 10, service="ssl", pkts=None),
        ["service.mismatch"],
    ),
    (
        "dns over tls",
        _t("tcp", 853, [600] * 5, [3000] * 5, service="ssl", pkts=None),
        ["service.dot"],
    ),
    (
        "http on the dot port",
        _t("tcp", 853, [600] * 5, [3000] * 5, service="http", pkts=None),
        ["service.mismatch"],
    ),
    # RFC 3948: NAT keepalive is one 0xFF byte
    ("nat-t keepalive", _t("udp", 4500, [1] * 30, [0] * 30, pkts=(1, 0)), ["service.ipsec"]),
    # STUN binding request: 20-byte header + attributes, 4-aligned
    ("stun binding", _t("udp", 3478, [108] * 9, [92] * 9), ["service.stun"]),
    # unaligned packets are not STUN, but TURN relays media on the port (RFC 8656): no mismatch
    ("not stun: unaligned", _t("udp", 3478, [101] * 9, [93] * 9), []),
    ("syslog one way", _t("udp", 514, [300] * 10, [0] * 10, pkts=(1, 0)), ["service.syslog"]),
    ("syslog with replies", _t("udp", 514, [300] * 10, [300] * 10), ["service.mismatch"]),
    ("dhcp", _t("udp", 67, [300] * 4, [300] * 4), ["service.dhcp"]),
    ("netbios name query", _t("udp", 137, [50] * 6, [0] * 6, pkts=(1, 0)), ["service.netbios"]),
    ("llmnr leaking out", _t("udp", 5355, [40] * 5, [0] * 5, pkts=(1, 0)), ["service.llmnr"]),
    ("mdns leaking out", _t("udp", 5353, [60] * 5, [0] * 5, pkts=(1, 0)), ["service.mdns"]),
    ("snmp named", _t("udp", 161, [80] * 5, [90] * 5, service="snmp"), ["service.snmp"]),
    ("ssdp m-search", _t("udp", 1900, [125] * 5, [0] * 5, pkts=(1, 0)), ["service.ssdp"]),
    # no size rule for 443, but the sensor names plain HTTP for a TLS port
    (
        "http on 443",
        _t("tcp", 443, [300] * 10, [300] * 10, service="http", pkts=None),
        ["service.mismatch"],
    ),
    ("tls on 443", _t("tcp", 443, [300] * 10, [300] * 10, service="ssl", pkts=None), []),
    ("443 unnamed", _t("tcp", 443, [300] * 10, [300] * 10, pkts=None), []),
    # PAN-OS App-IDs: web-browsing is HTTP; an application running over TLS says nothing
    (
        "pan-os web-browsing on 80",
        _t("tcp", 80, [300] * 5, [300] * 5, service="web-browsing", pkts=None, log="panos"),
        [],
    ),
    (
        "pan-os ssl on 80",
        _t("tcp", 80, [300] * 5, [300] * 5, service="ssl", pkts=None, log="panos"),
        ["service.mismatch"],
    ),
    (
        "pan-os office365 on 443",
        _t(
            "tcp",
            443,
            [300] * 5,
            [300] * 5,
            service="office365-enterprise-access",
            pkts=None,
            log="panos",
        ),
        [],
    ),
    ("a port we know nothing of", _t("tcp", 8443, [300] * 5, [300] * 5, service="ssl"), []),
]


@pytest.mark.parametrize(("case", "traffic", "expected"), CASES, ids=[c[0] for c in CASES])
def test_conformance(case: str, traffic: Traffic, expected: list[str]) -> None:
    assert _codes(traffic) == expected, case


def test_a_few_odd_connections_do_not_spoil_conformance() -> None:
    # 19 NTP exchanges and one 200-byte oddity: 95% >= CONFORM_SHARE (90%)
    t = _t("udp", 123, [48] * 19 + [200], [48] * 19 + [200])
    assert _codes(t) == ["service.ntp"]


def test_half_conforming_is_neither() -> None:
    # 60% conform: between MISMATCH_SHARE (50%) and CONFORM_SHARE (90%): nothing said
    t = _t("udp", 123, [48] * 6 + [900] * 4, [48] * 6 + [900] * 4)
    assert _codes(t) == []


def test_unknown_sizes_and_no_name_say_nothing() -> None:
    t = _t("udp", 123, [NAN] * 5, [NAN] * 5, pkts=None)
    assert _codes(t) == []


def test_ntp_sentence_names_the_poll_interval() -> None:
    [ev] = service_evidence(_t("udp", 123, [48] * 20, [48] * 20), interval=1030.0)
    assert "2^10 s poll" in ev.text
    assert "100% of 20 connections" in ev.text


def test_every_protocol_code_is_registered() -> None:
    assert {p.code for p in PROTOCOLS} | {"service.mismatch"} == set(SERVICE_CODES)
