"""Scenario.shapes: C2 over DNS, long sessions, NetFlow splits and their look-alikes,
checked on the files the generator writes (Zeek TSV, Sysmon JSON, labels.csv, nfdump CSV)."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pytest
from synth_helpers import ZeekTsv, read_csv, read_log

from beaconhunt.lab.labels import IMPLANT_KINDS, load_labels
from beaconhunt.synth import GenerationSummary, HiddenBeacon, Scenario, generate
from beaconhunt.synth.render import nfdump as render_nfdump
from beaconhunt.synth.shapes import DNS_KINDS, SHAPE_IMPLANTS, SHAPE_LOOKALIKES
from beaconhunt.synth.world import registered_domain

SCENARIO = Scenario(hosts=30, days=0.5, shapes=True)
RESOLVER = "10.10.0.10"

#: sha256 of ``Scenario(hosts=30, days=0.5)`` written with ``sysmon=True`` by the
#: generator as it was before ``Scenario.shapes`` existed: with the option off the
#: output must stay byte for byte the same.
BEFORE_SHAPES = {
    "allowlist.txt": "b915257ca9022fc2c9ccb338b49e7190c567e2ce37f1d56775b5ce311cc6fc8c",
    "assets.csv": "a58b0c92874c597e537d53c0afd304776b3122b818a5ab6648bed8f1345e3e38",
    "conn.log": "442dbff9844e1098d990840dee914577ae85038736f7a999dd8d0ee07ec9ff76",
    "dns.log": "e7f5e7ed36f1d95027c1b11973dbf0a05cde920baca69762159f1b0227a7312c",
    "http.log": "e653d40173b2e9556d9a2a11524125c93eb7ac3779afda46f11fe3f134b7a39e",
    "intel.csv": "db5f89426adcee29fdc571245806dea32179b82b6d9204849519a1665a15abc8",
    "labels.csv": "c50f146594c2375a9138e8a14323580a69534157f4c9dd36da8d14c44c0fc1c9",
    "ssl.log": "9e2e303900f9df2235d16a70ff9a64f446a39f6b12922f51740833e28811f047",
    "sysmon.json": "1debb4bb4503a4fd035d17c48ee0d062d6fb0f9bec7fce2b236bdbac4b66c14b",
    "whois.csv": "d43dbb84b24a5ad3b3351c7e3dd99b5b0c3368b4b0e47e1da31b74ac591cf33a",
}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("shapes"), SCENARIO, sysmon=True)


@pytest.fixture(scope="module")
def logs(day: GenerationSummary) -> dict[str, ZeekTsv]:
    return {name: read_log(day.out_dir / f"{name}.log") for name in ("conn", "dns")}


@pytest.fixture(scope="module")
def dns(logs: dict[str, ZeekTsv]) -> list[dict[str, str]]:
    return logs["dns"].records()


@pytest.fixture(scope="module")
def conn(logs: dict[str, ZeekTsv]) -> list[dict[str, str]]:
    return logs["conn"].records()


@pytest.fixture(scope="module")
def sysmon(day: GenerationSummary) -> list[dict[str, object]]:
    assert day.sysmon_path is not None
    out = []
    with day.sysmon_path.open(encoding="utf-8") as fh:
        for line in fh:
            event = json.loads(line)["Event"]
            out.append({"id": event["System"]["EventID"], "computer": event["System"]["Computer"],
                        **event["EventData"]})  # fmt: skip
    return out


def _implant(day: GenerationSummary, family: str, i: int = 0) -> HiddenBeacon:
    return [b for b in day.beacons if b.family == family][i]


def _asked(dns: list[dict[str, str]], src: str, zone: str) -> list[dict[str, str]]:
    return [r for r in dns if r["id.orig_h"] == src and r["query"].endswith("." + zone)]


def test_the_implants_are_listed_for_the_demo(day: GenerationSummary) -> None:
    families = [b.family for b in day.beacons]
    assert families[:5] == ["cobalt_strike", "sliver", "havoc", "mythic", "meterpreter"]
    assert sorted(set(families[5:])) == sorted(SHAPE_IMPLANTS)
    assert set(SHAPE_IMPLANTS) <= IMPLANT_KINDS
    hosts = [h for b in day.beacons for h in b.hosts]
    assert len(hosts) == len(set(hosts))  # every implant on its own workstation


def test_dns_beacon_asks_fresh_names_under_one_young_zone(
    day: GenerationSummary, dns: list[dict[str, str]], sysmon: list[dict[str, object]]
) -> None:
    b = _implant(day, "dns_beacon")
    rows = _asked(dns, b.src_ips[0], b.dst)
    queries = [r["query"] for r in rows]
    assert len(rows) == b.connections > 50 and len(set(queries)) == len(queries)
    assert {r["id.resp_h"] for r in rows} == {RESOLVER}
    assert {registered_domain(q) for q in queries} == {b.dst}
    types = Counter(r["qtype_name"] for r in rows)
    assert set(types) == {"A", "TXT"} and types["A"] > types["TXT"]
    checkins = [q.split(".")[0] for q in queries if q.count(".") == 2]
    assert checkins and all(20 <= len(x) <= 40 for x in checkins)
    assert all(r["answers"].startswith("TXT ") for r in rows if r["qtype_name"] == "TXT")
    assert (
        Counter(r["answers"] for r in rows if r["qtype_name"] == "A").most_common(1)[0][0]
        == "0.0.0.0"
    )
    # every name is new, so the resolver forwards every one upstream
    forwarded = {r["query"] for r in dns if r["id.orig_h"] == RESOLVER}
    assert set(queries) <= forwarded
    assert 5 <= b.sleep <= 300 and 0 <= b.jitter <= 0.8
    whois = {r["domain"]: r["created"] for r in read_csv(day.out_dir / "whois.csv")}
    assert whois[b.dst] > "2026-10-01"
    # Sysmon 22 for every lookup, naming the implant's user-writable image
    host = b.hosts[0] + "."
    named = [e for e in sysmon if e["id"] == 22 and str(e["computer"]).startswith(host)
             and str(e["QueryName"]).endswith(b.dst)]  # fmt: skip
    assert len(named) == len(rows) and {e["Image"] for e in named} == {b.process}
    assert "\\Users\\" in b.process
    assert any(e["id"] == 1 and e["Image"] == b.process for e in sysmon)


def test_dnscat2_bursts_of_hex_txt_cname_mx(
    day: GenerationSummary, dns: list[dict[str, str]], conn: list[dict[str, str]],
    sysmon: list[dict[str, object]],
) -> None:  # fmt: skip
    b = _implant(day, "dnscat2")
    rows = _asked(dns, b.src_ips[0], b.dst)
    assert set(Counter(r["qtype_name"] for r in rows)) == {"TXT", "CNAME", "MX"}
    queries = [r["query"] for r in rows]
    assert len(set(queries)) == len(queries) == b.connections
    labels = [x for q in queries for x in q[: -len(b.dst) - 1].split(".")]
    assert all(len(x) <= 63 and set(x) <= set("0123456789abcdef") for x in labels)
    assert max(len(q) for q in queries) >= 240 and max(len(q) for q in queries) <= 253
    # one socket: every lookup of a session shares its Zeek connection
    uids = {r["uid"] for r in rows}
    assert len(uids) <= 6
    sessions = [c for c in conn if c["uid"] in uids]
    assert all(c["proto"] == "udp" and c["id.resp_p"] == "53" for c in sessions)
    assert all(900 * 0.9 <= float(c["duration"]) <= 3000 for c in sessions)
    gaps = defaultdict(list)
    for r in rows:
        gaps[r["uid"]].append(float(r["ts"]))
    steps = [y - x for t in gaps.values() for x, y in pairwise(t)]
    assert max(steps) <= 1.1  # at least once a second while a session is on
    assert 0.2 < sum(x >= 0.85 for x in steps) / len(steps) < 0.9  # idle polls and bursts
    host = b.hosts[0] + "."
    assert not [e for e in sysmon if e["id"] == 22 and str(e["QueryName"]).endswith(b.dst)]
    assert any(e["id"] == 3 and str(e["computer"]).startswith(host) and e["Image"] == b.process
               and e["DestinationPort"] == 53 for e in sysmon)  # fmt: skip


def test_iodine_null_queries_for_hours(day: GenerationSummary, dns: list[dict[str, str]]) -> None:
    b = _implant(day, "iodine")
    rows = _asked(dns, b.src_ips[0], b.dst)
    assert {r["qtype_name"] for r in rows} == {"NULL"} and {r["qtype"] for r in rows} == {"10"}
    queries = [r["query"] for r in rows]
    assert len(set(queries)) == len(queries)
    assert 240 <= max(len(q) for q in queries) <= 253
    assert max(len(x) for q in queries for x in q.split(".")) <= 63
    ts = sorted(float(r["ts"]) for r in rows)
    assert ts[-1] - ts[0] >= 3.5 * 3600
    per_second = Counter(int(t) for t in ts)
    assert max(per_second.values()) >= 8  # many a second during a transfer
    steps = [y - x for x, y in pairwise(ts)]
    assert max(steps) < 4.2  # the 4 s keepalive poll between transfers
    assert sum(3.8 < x < 4.2 for x in steps) >= 0.5 * (ts[-1] - ts[0]) / 4.0 / 2
    assert {r["answers"] for r in rows} == {"<unknown type=10>"}


def test_perimeter_lookups_only_from_the_resolver(
    day: GenerationSummary, dns: list[dict[str, str]], sysmon: list[dict[str, object]]
) -> None:
    b = _implant(day, "dns_perimeter")
    rows = [r for r in dns if r["query"].endswith("." + b.dst)]
    assert len(rows) == b.connections > 20
    assert {r["id.orig_h"] for r in rows} == {RESOLVER} and b.src_ips == (RESOLVER,)
    assert {r["id.resp_h"] for r in rows}.isdisjoint({RESOLVER})
    assert not [e for e in sysmon if str(e["computer"]).startswith(b.hosts[0] + ".")]
    lines = [lab for lab in load_labels(day.out_dir / "labels.csv") if lab.kind == "dns_perimeter"]
    assert [(lab.src_ip, lab.dst, lab.dst_port) for lab in lines] == [(RESOLVER, b.dst, 53)]
    assert lines[0].connections == len(rows) and lines[0].decision == "escalate"


def test_long_sessions(day: GenerationSummary, conn: list[dict[str, str]]) -> None:
    s = day.scenario
    for i in range(2):
        b = _implant(day, "interactive_c2", i)
        rows = sorted((c for c in conn if c["id.orig_h"] == b.src_ips[0]
                       and c["id.resp_h"] == b.dst_ip), key=lambda c: float(c["ts"]))  # fmt: skip
        assert 2 <= len(rows) <= 4
        covered = sum(float(c["duration"]) for c in rows)
        assert covered >= 0.8 * (s.end - s.start)
        last = rows[-1]
        assert last["conn_state"] == "S1" and last["history"] == "ShADad"
        assert s.end - 60 <= float(last["ts"]) + float(last["duration"]) < s.end
        assert all(float(c["duration"]) >= 600 for c in rows)
        # a small steady exchange, not a transfer: under 2 kB a minute each way
        assert sum(int(c["orig_bytes"]) for c in rows) / (covered / 60) < 2000
    assert {_implant(day, "interactive_c2", i).dst_port for i in range(2)} == {443, 4444}
    b = _implant(day, "netflow_split")
    (row,) = [c for c in conn if c["id.orig_h"] == b.src_ips[0] and c["id.resp_h"] == b.dst_ip]
    assert float(row["duration"]) >= 9 * 3600


def test_labels_csv_has_a_line_for_every_kind(
    day: GenerationSummary, dns: list[dict[str, str]]
) -> None:
    rows = read_csv(day.out_dir / "labels.csv")
    kinds = Counter(r["kind"] for r in rows)
    assert set(SHAPE_IMPLANTS) | set(SHAPE_LOOKALIKES) <= set(kinds)
    for r in rows:
        if r["kind"] in SHAPE_IMPLANTS:
            assert r["decision"] == "escalate" and r["process"]
        elif r["kind"] in SHAPE_LOOKALIKES:
            want = "monitor" if r["kind"] == "vpn_tunnel" else "close"
            assert r["decision"] == want, r
    widespread = ("av_reputation_dns", "cdn_discovery", "hashed_telemetry", "chrome_probe",
                  "chat_websocket")  # fmt: skip
    assert all(kinds[k] >= 5 for k in widespread)
    # a DNS kind's line: client, the zone, the resolver asked, 53, lookups
    asked = Counter(
        (r["id.orig_h"], registered_domain(r["query"]))
        for r in dns
        if r["rcode_name"] == "NXDOMAIN" or not r["query"].endswith(".internal")
    )
    for r in rows:
        if r["kind"] in DNS_KINDS - {"dns_perimeter"}:
            assert r["dst_port"] == "53" and r["dst_ip"] == RESOLVER, r
            assert int(r["connections"]) == asked[(r["src_ip"], r["dst"])], r
    ssh = [r for r in rows if r["kind"] == "admin_ssh"]
    roles = {a["ip"]: a["role"] for a in read_csv(day.out_dir / "assets.csv")}
    assert ssh and {roles[r["src_ip"]] for r in ssh} == {"jump_host"}
    assert {r["dst_port"] for r in ssh} == {"22"}
    mail = [r for r in rows if r["kind"] == "dnsbl"]
    assert {r["dst"] for r in mail} == {"spamhaus.org", "spamcop.net"}
    assert {roles[r["src_ip"]] for r in mail} == {"mail_server"}


def test_lookalike_dns_shapes(day: GenerationSummary, dns: list[dict[str, str]]) -> None:
    bl = [r for r in dns if r["query"].endswith(".zen.spamhaus.org")
          and r["id.orig_h"] != RESOLVER]  # fmt: skip
    assert bl and all(len(r["query"].split(".")) == 7 for r in bl)
    assert {r["rcode_name"] for r in bl} == {"NOERROR", "NXDOMAIN"}
    assert all(r["answers"].startswith("127.0.0.") for r in bl if r["rcode_name"] == "NOERROR")
    probes = [r for r in dns if r["query"].endswith(".corp.acme.internal")
              and r["rcode_name"] == "NXDOMAIN"]  # fmt: skip
    assert probes and all(7 <= len(r["query"].split(".")[0]) <= 15 for r in probes)
    assert len({r["id.orig_h"] for r in probes}) >= 5
    av = [r for r in dns if r["query"].endswith(".avqs.mcafee.com") and r["id.orig_h"] != RESOLVER]
    assert len({r["id.orig_h"] for r in av}) >= 5 and len({r["query"] for r in av}) > 100


def test_netflow_splits_long_connections(tmp_path: Path, day: GenerationSummary) -> None:
    nf = generate(tmp_path / "nf", SCENARIO, network_format="nfdump")
    lines = (nf.out_dir / render_nfdump.FILE_NAME).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    b = _implant(day, "netflow_split")
    recs = [dict(zip(header, ln.split(","), strict=False)) for ln in lines[1:]
            if ln.startswith("20") and f",{b.src_ips[0]},{b.dst_ip}," in ln]  # fmt: skip
    (row,) = [c for c in read_log(day.out_dir / "conn.log").records()
              if c["id.orig_h"] == b.src_ips[0] and c["id.resp_h"] == b.dst_ip]  # fmt: skip
    assert len(recs) == math.ceil(float(row["duration"]) / render_nfdump.ACTIVE_TIMEOUT) > 15
    assert {(r["sa"], r["sp"], r["da"], r["dp"], r["pr"]) for r in recs} == {
        (b.src_ips[0], row["id.orig_p"], b.dst_ip, row["id.resp_p"], "TCP")
    }
    assert sum(int(r["ipkt"]) for r in recs) == int(row["orig_pkts"])
    assert sum(int(r["ibyt"]) for r in recs) == int(row["orig_ip_bytes"])
    assert all(float(r["td"]) <= render_nfdump.ACTIVE_TIMEOUT for r in recs)
    flags = [r["flg"] for r in recs]
    assert flags[0][6] == "S" and flags[-1][7] == "F"
    assert all(f[6] == "." for f in flags[1:]) and all(f[7] == "." for f in flags[:-1])
    # each record starts within a second or so of the previous one's end
    starts = [_epoch(r["ts"]) for r in recs]
    ends = [_epoch(r["te"]) for r in recs]
    assert all(0 <= s - e <= 2 for e, s in zip(ends, starts[1:], strict=False))


def _epoch(text: str) -> int:
    from datetime import UTC, datetime

    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def test_no_split_without_long_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = Scenario.small(seed=2)
    a = generate(tmp_path / "a", small, network_format="nfdump")
    monkeypatch.setattr(render_nfdump, "ACTIVE_TIMEOUT", math.inf)
    b = generate(tmp_path / "b", small, network_format="nfdump")
    name = render_nfdump.FILE_NAME
    assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes()


def test_shapes_off_writes_what_the_generator_wrote_before(tmp_path: Path) -> None:
    g = generate(tmp_path, Scenario(hosts=30, days=0.5), sysmon=True)
    assert len(g.beacons) == 5
    got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in g.paths}
    assert got == BEFORE_SHAPES


def test_shapes_need_free_workstations() -> None:
    from beaconhunt.errors import ConfigError

    with pytest.raises(ConfigError, match="for shapes"):
        Scenario(hosts=16, shapes=True)
