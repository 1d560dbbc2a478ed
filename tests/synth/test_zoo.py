"""The benign zoo: documented kinds, placed on the right hosts with their documented timing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from beaconhunt.lab import load_labels
from beaconhunt.synth import Scenario, generate
from beaconhunt.synth.zoo import ZOO, ZooKind, allowlisted_names


def read_zeek(path: Path) -> list[dict[str, str]]:
    """Rows of a Zeek TSV log as dicts by field name."""
    fields: list[str] = []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif not line.startswith("#"):
            rows.append(dict(zip(fields, line.split("\t"), strict=True)))
    return rows


DOC = Path(__file__).resolve().parents[2] / "docs" / "benign.md"
CATEGORIES = {
    "time_sync", "os_update", "telemetry", "av_update", "edr", "rmm", "mdm", "browser_update",
    "chat", "meeting", "file_sync", "vpn", "monitoring", "log_shipping", "backup",
    "printer_iot", "mail", "cloud_metadata", "revocation", "connectivity_check", "dns",
    "network_protocol",
}  # fmt: skip


def test_the_zoo_has_at_least_25_documented_kinds() -> None:
    assert len(ZOO) >= 25
    assert len({k.id for k in ZOO}) == len(ZOO)
    assert {k.category for k in ZOO} == CATEGORIES
    # timings rest on documentation; at most five are estimates, and say so
    assert sum(k.estimate for k in ZOO) <= 5
    for k in ZOO:
        assert k.source.startswith(("https://", "http://")), k.id
        assert k.expected in ("close", "monitor"), k.id
        assert k.period_s > 0 and 0 <= k.jitter < 1, k.id
    # most are not on a first-day allowlist
    assert sum(k.allowlisted for k in ZOO) < len(ZOO) / 2


@pytest.mark.parametrize("kind", ZOO, ids=[k.id for k in ZOO])
def test_every_kind_is_documented_with_its_source(kind: ZooKind) -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert f"### {kind.id} " in doc, kind.id
    assert kind.source in doc, kind.id


def test_allowlisted_names_are_plain_domains() -> None:
    names = allowlisted_names()
    assert names
    assert all(re.fullmatch(r"[a-z0-9.-]+", n) for n in names)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zoo-day")
    generate(out, Scenario(hosts=60, days=0.5, seed=11, zoo=True), sysmon=False)
    return out


def test_a_zoo_day_labels_its_kinds_and_never_expects_an_escalation(day: Path) -> None:
    labels = load_labels(day / "labels.csv")
    kinds = {lab.kind for lab in labels}
    zoo = {k.id for k in ZOO}
    assert len(kinds & zoo) >= 25, sorted(zoo - kinds)
    assert all(lab.decision != "escalate" for lab in labels if lab.kind in zoo)
    # the lab's C2 servers live in the RFC 5737 ranges: the zoo's own endpoints never do
    zoo_ips = {lab.dst_ip for lab in labels if lab.kind in zoo}
    assert not [ip for ip in zoo_ips if ip.startswith(("192.0.2.", "198.51.100.", "203.0.113."))]


def test_a_zoo_day_has_servers_printers_and_iot(day: Path) -> None:
    assets = (day / "assets.csv").read_text(encoding="utf-8")
    assert "printer-01" in assets and "iot-02" in assets and "srv-app-06" in assets
    allow = (day / "allowlist.txt").read_text(encoding="utf-8")
    assert "reviewed vendor services (zoo)" in allow


def test_ntp_with_a_hard_coded_address_polls_on_powers_of_two(day: Path) -> None:
    conn = read_zeek(day / "conn.log")
    labels = load_labels(day / "labels.csv")
    [ntpd] = {(lab.src_ip, lab.dst_ip) for lab in labels if lab.kind == "ntpd_hardcoded_ip"}
    rows = [r for r in conn if (r["id.orig_h"], r["id.resp_h"]) == ntpd]
    assert len(rows) >= 10
    assert {(r["proto"], r["id.resp_p"], r["orig_bytes"], r["resp_bytes"]) for r in rows} == {
        ("udp", "123", "48", "48")
    }
    gaps = np.diff(sorted(float(r["ts"]) for r in rows))
    exps = np.log2(gaps)
    assert np.all(np.abs(exps - np.round(exps)) < 0.01)  # 2^n seconds, +-0.2% wobble
    # a configured address: no DNS lookup of it
    dns = (day / "dns.log").read_text(encoding="utf-8")
    assert ntpd[1] not in dns


def test_nat_t_keepalives_are_one_byte_packets(day: Path) -> None:
    # RFC 3948: a NAT-keepalive is one 0xFF byte every 20 s; Zeek keeps a UDP flow
    # open while packets keep coming, so one conn row holds many keepalives
    conn = read_zeek(day / "conn.log")
    labels = load_labels(day / "labels.csv")
    pairs = {(lab.src_ip, lab.dst_ip) for lab in labels if lab.kind == "ipsec_natt_keepalive"}
    rows = [r for r in conn if (r["id.orig_h"], r["id.resp_h"]) in pairs]
    assert rows
    for r in rows:
        assert (r["proto"], r["id.resp_p"]) == ("udp", "4500")
        assert r["orig_bytes"] == r["orig_pkts"], r  # one byte a packet
