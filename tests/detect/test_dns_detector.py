"""The DNS detector on Zeek logs in the exact TSV layout Zeek writes: a DNS beacon
through the internal resolver, a tunnel with NULL records, antivirus reputation
lookups on many hosts, a resolver forwarding, generated domains; plus the maths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from beaconhunt.detect.dns import char_entropy, split_zone, volume_score
from beaconhunt.detect.settings import DnsSettings
from beaconhunt.model import Decision, Finding
from beaconhunt.pipeline import hunt

T0 = 1_762_156_800.0  # 2025-11-03 08:00 UTC
RESOLVER = "10.10.0.10"
FORWARDER = "8.8.8.8"

DNS_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "trans_id",
    "query",
    "qtype_name",
    "rcode_name",
    "answers",
    "TTLs",
    "rejected",
]
DNS_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "count", "string",
             "string", "string", "vector[string]", "vector[interval]", "bool"]  # fmt: skip
CONN_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "orig_pkts",
               "resp_pkts"]  # fmt: skip
CONN_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
              "count", "count", "string", "count", "count"]  # fmt: skip


def _tsv(path: Path, log: str, fields: list[str], types: list[str], rows: list[list[str]]) -> None:
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", f"#path\t{log}", "#fields\t" + "\t".join(fields),
            "#types\t" + "\t".join(types)]  # fmt: skip
    rows = sorted(rows, key=lambda r: float(r[0]))
    path.write_text("\n".join(head + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")


class Day:
    """Zeek conn.log + dns.log being written: every lookup is also a udp/53 connection."""

    def __init__(self) -> None:
        self.dns: list[list[str]] = []
        self.conn: list[list[str]] = []
        self.n = 0

    def lookup(self, ts: float, src: str, name: str, qtype: str = "A",
               rcode: str = "NOERROR", answer: str = "-", dst: str = RESOLVER) -> None:  # fmt: skip
        self.n += 1
        uid = f"C{self.n:09d}"
        port = str(49152 + self.n % 16000)
        self.dns.append(
            [
                f"{ts:.6f}",
                uid,
                src,
                port,
                dst,
                "53",
                "udp",
                str(self.n % 65536),
                name,
                qtype,
                rcode,
                answer,
                "-" if answer == "-" else "60.0",
                "F",
            ]
        )
        self.conn.append([f"{ts:.6f}", uid, src, port, dst, "53", "udp", "dns", "0.01",
                          str(20 + len(name)), "-" if rcode != "NOERROR" else "120", "SF", "1",
                          "1"])  # fmt: skip

    def connect(self, ts: float, src: str, dst: str, port: int = 443, dur: float = 1.0,
                out: int = 900, back: int = 5000, state: str = "SF") -> None:  # fmt: skip
        self.n += 1
        self.conn.append([f"{ts:.6f}", f"C{self.n:09d}", src, str(40000 + self.n % 20000), dst,
                          str(port), "tcp", "ssl", f"{dur:.3f}", str(out), str(back), state,
                          "10", "10"])  # fmt: skip

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        _tsv(folder / "dns.log", "dns", DNS_FIELDS, DNS_TYPES, self.dns)
        _tsv(folder / "conn.log", "conn", CONN_FIELDS, CONN_TYPES, self.conn)
        return folder


def _office(day: Day, rng: np.random.Generator, hosts: int = 12, hours: float = 8.0) -> None:
    """Ordinary traffic: every host browses a few sites (lookups + connections)."""
    for h in range(hosts):
        src = f"10.1.1.{10 + h}"
        for ts in np.sort(rng.uniform(T0, T0 + hours * 3600, 40)):
            site = f"www.site{int(rng.integers(0, 30))}.com"
            day.lookup(float(ts), src, site, answer=f"198.51.100.{int(rng.integers(1, 250))}")
            day.connect(float(ts) + 0.1, src, f"198.51.100.{int(rng.integers(1, 250))}")


def _hexname(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("0123456789abcdef"), n))


def _by_kind(findings: list[Finding], kind: str) -> dict[tuple[str, str | None], Finding]:
    return {(f.src_ip, f.dst_domain): f for f in findings if f.kind == kind}


@pytest.fixture(scope="module")
def day_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    day = Day()
    _office(day, rng)
    # a DNS beacon: a fresh 24-hex-character name every 60 s +- 20 %, 8 h
    t = T0 + 30.0
    i = 0
    while t < T0 + 8 * 3600:
        name = f"{_hexname(rng, 24)}.{i:x}.cdn-sync-update.com"
        day.lookup(t, "10.1.1.10", name, answer="0.0.0.0")
        if i % 40 == 0:
            day.lookup(t + 0.5, "10.1.1.10", f"api.{_hexname(rng, 30)}.cdn-sync-update.com",
                       "TXT", answer="c2VuZCBtZSB0aGUgdGFza3M=")  # fmt: skip
        t += 60.0 * float(rng.uniform(0.8, 1.2))
        i += 1
    # an iodine-style tunnel: NULL lookups of long base32 names, bursts for 20 minutes
    for k in range(1500):
        ts = T0 + 3 * 3600 + k * 0.8
        label = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz234567"), 110))
        day.lookup(ts, "10.1.1.11", f"{label[:55]}.{label[55:]}.t.tun-example.net", "NULL",
                   answer="-")  # fmt: skip
    # antivirus reputation lookups of file hashes on every host (widespread)
    for h in range(12):
        for ts in np.sort(rng.uniform(T0, T0 + 8 * 3600, 80)):
            day.lookup(float(ts), f"10.1.1.{10 + h}",
                       f"{_hexname(rng, 40)}.0.sxl.sophosxl.net", rcode="NXDOMAIN")  # fmt: skip
    # the resolver forwards the beacon's names upstream: the same zone seen from the resolver
    for row in [r for r in day.dns if r[8].endswith("cdn-sync-update.com")]:
        day.lookup(float(row[0]) + 0.01, RESOLVER, row[8], dst=FORWARDER, answer="0.0.0.0")
    # generated domains: 60 random .com names that do not exist, from one host
    for k in range(60):
        name = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 14)) + ".com"
        day.lookup(T0 + 5000 + k * 7.0, "10.1.1.12", name, rcode="NXDOMAIN")
    return day.write(tmp_path_factory.mktemp("dnsday"))


@pytest.fixture(scope="module")
def findings(day_dir: Path) -> list[Finding]:
    return hunt([day_dir]).findings


def test_dns_beacon_is_found_with_its_timing(findings: list[Finding]) -> None:
    f = _by_kind(findings, "dns")[("10.1.1.10", "cdn-sync-update.com")]
    codes = {r.code for r in f.reasons}
    assert {"dns.unique_names", "dns.periodic"} <= codes
    assert f.dst_port == 53 and f.proto == "udp" and f.dst_ips == (RESOLVER,)
    assert f.interval_s is not None and 50 < f.interval_s < 70
    assert f.info is not None and f.info["unique_names"] > 400
    assert f.info["qtypes"]["TXT"] >= 10
    assert f.decision != Decision.CLOSE  # nothing condemns it without context: monitor


def test_tunnel_with_null_records_escalates(findings: list[Finding]) -> None:
    f = _by_kind(findings, "dns")[("10.1.1.11", "tun-example.net")]
    codes = {r.code for r in f.reasons}
    assert {"dns.null_records", "dns.encoded_labels", "dns.rare_qtype", "dns.high_volume"} <= codes
    assert f.decision == Decision.ESCALATE and f.rule == "dns-c2-indicators"


def test_widespread_reputation_lookups_are_not_escalated(findings: list[Finding]) -> None:
    av = [f for f in findings if f.kind == "dns" and f.dst_domain == "sophosxl.net"]
    assert len(av) == 12
    for f in av:
        codes = {r.code for r in f.reasons}
        assert f.decision == Decision.CLOSE and f.rule == "dns-known-service"
        assert {"dest.common", "dns.known_service", "dns.nxdomain", "dns.encoded_labels"} <= codes


def test_resolver_copies_are_not_a_second_finding(findings: list[Finding]) -> None:
    assert not [f for f in findings if f.kind == "dns" and f.src_ip == RESOLVER]


def test_generated_domains_are_one_finding(findings: list[Finding]) -> None:
    dga = [f for f in findings if f.kind == "dns" and f.info and f.info["pattern"] == "dga"]
    assert [f.src_ip for f in dga] == ["10.1.1.12"]
    assert dga[0].decision == Decision.MONITOR and dga[0].info is not None
    assert dga[0].dst_domain is None and "dns.dga" in {r.code for r in dga[0].reasons}
    assert dga[0].info["zones"] >= 60  # and the reputation zone it also failed to resolve


def test_beacons_are_unchanged_by_the_dns_detector(findings: list[Finding]) -> None:
    # the lookups are internal connections: no beacon finding for the DNS beacon host's resolver
    assert not [f for f in findings if f.kind == "beacon" and f.dst_ip == RESOLVER]


def test_split_zone() -> None:
    assert split_zone("a1b2.x.evil.co.uk") == ("evil.co.uk", "a1b2.x")
    assert split_zone("evil.com") == ("evil.com", "")
    assert split_zone("4.3.2.1.in-addr.arpa") == (None, "")
    assert split_zone("wpad") == (None, "")
    assert split_zone("printer.local") == (None, "")


def test_char_entropy() -> None:
    assert char_entropy([]) == 0.0
    assert char_entropy(["aaaa"]) == 0.0
    assert math.isclose(char_entropy(["0123456789abcdef"]), 4.0)
    assert math.isclose(char_entropy(["ab", "ab"]), 1.0)


def test_volume_score_is_log_linear() -> None:
    s = DnsSettings(min_unique=10, full_unique=1000)
    assert volume_score(10, s) == 0.0
    assert math.isclose(volume_score(100, s), 0.5)
    assert volume_score(5000, s) == 1.0


def test_a_perimeter_sensor_reports_the_resolver_and_says_so(tmp_path: Path) -> None:
    # the sensor sees only what the resolver forwards: the beacon's names come from it
    rng = np.random.default_rng(9)
    day = Day()
    _office(day, rng)
    t = T0 + 10.0
    for i in range(300):
        day.lookup(t, RESOLVER, f"{_hexname(rng, 20)}.{i:x}.cdn-sync-update.com",
                   dst=FORWARDER, answer="0.0.0.0")  # fmt: skip
        t += 90.0
    found = hunt([day.write(tmp_path / "perimeter")]).findings
    f = _by_kind(found, "dns")[(RESOLVER, "cdn-sync-update.com")]
    assert "dns.via_resolver" in {r.code for r in f.reasons}
    assert f.dst_ips == (FORWARDER,)
