"""Suricata EVE JSON: detection, the fixture's mapping, skips, bad lines, layouts, equivalence."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.config import HuntSettings
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.readers.suricata import READER, SuricataReader
from beaconhunt.ingest.sniff import sniff
from beaconhunt.lab import load_labels, match
from beaconhunt.pipeline import hunt
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.synth import Scenario, generate
from tests.conftest import FIXTURES

EVE = FIXTURES / "suricata" / "eve.json"
T0 = 1793692800.0  # 2026-11-03T08:00:00+00:00


def _load(*paths: Path, reader: SuricataReader | None = None) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    sources = (reader,) if reader is not None else ()
    return store, load_paths(list(paths), store, sources=sources)


def _rows(store: DuckDBStore) -> list[dict[str, Any]]:
    cur = store.con.execute("SELECT * FROM conn ORDER BY ts, src_ip")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _event(event_type: str, **fields: Any) -> str:
    base = {"timestamp": "2026-11-03T08:00:00.000000+0000", "flow_id": 1, "event_type": event_type,
            "src_ip": "10.1.1.5", "src_port": 50000, "dest_ip": "203.0.113.9", "dest_port": 443,
            "proto": "TCP"}  # fmt: skip
    return json.dumps(base | fields)


def _flow(start: str = "2026-11-03T08:00:00.000000+0000", **fields: Any) -> str:
    flow = {"pkts_toserver": 3, "pkts_toclient": 2, "bytes_toserver": 300, "bytes_toclient": 200,
            "start": start, "end": start, "age": 0, "state": "closed"}  # fmt: skip
    return _event("flow", **({"app_proto": "tls", "flow": flow} | fields))


# -- detection --------------------------------------------------------------------------------


def test_the_fixture_is_detected_as_suricata() -> None:
    s = sniff(EVE)
    assert (s.kind, s.log) == ("network", "suricata")
    assert READER.detect(EVE.read_text(), EVE)


def test_other_formats_are_not_claimed() -> None:
    others = [p for p in FIXTURES.rglob("*") if p.is_file() and "suricata" not in p.parts]
    assert len(others) > 20
    for path in others:
        head = path.read_bytes()[: 1 << 16].decode("utf-8", errors="replace")
        assert not READER.detect(head.removeprefix("\ufeff"), path), path


@pytest.mark.parametrize(
    "head",
    [
        '{"ts": 1793692800.0, "uid": "C1", "id.orig_h": "10.1.1.5", "event_type": "x"}',
        '{"event_type": "login", "timestamp": "yesterday", "user": "bob"}',
        '{"event_type": "login", "timestamp": "2026-11-03T08:00:00Z", "user": "bob"}',
        '{"@timestamp": "2026-11-03T08:00:00Z", "event": {"category": ["network"]}}',
        "[1, 2, 3]",
        "#Fields: date time c-ip cs-method",
    ],
)
def test_lookalikes_are_not_claimed(head: str) -> None:
    assert not READER.detect(head + "\n", Path("eve.json"))


def test_detected_after_a_broken_first_line_and_behind_a_prefix() -> None:
    assert READER.detect('{"timestamp":"2026-11\n' + _flow() + "\n", Path("x"))
    assert READER.detect("@cee: " + _flow() + "\n", Path("x"))


# -- the fixture ------------------------------------------------------------------------------


def test_fixture_maps_every_field() -> None:
    store, report = _load(EVE)
    rows = _rows(store)
    assert report.rows["suricata"] == 23 == len(rows)
    assert report.rows["suricata_dns"] == 5  # four with addresses, the v2 NXDOMAIN response
    first = rows[0]  # line 5: flow.start 08:00:00.123456, named by the tls event on line 4
    assert first["ts"] == pytest.approx(T0 + 0.123456, abs=1e-6)
    assert (first["src_ip"], first["src_port"], first["dst_ip"], first["dst_port"]) == (
        "10.1.1.5", 50000, "203.0.113.9", 443,
    )  # fmt: skip
    assert (first["proto"], first["service"], first["duration"], first["conn_state"]) == (
        "tcp", "ssl", pytest.approx(1.25), "closed",
    )  # fmt: skip
    assert (first["bytes_out"], first["bytes_in"]) == (1180, 4823)
    assert (first["dst_domain"], first["domain_source"], first["proxied"], first["log"]) == (
        "c2.badsite.example", "sni", False, "suricata",
    )  # fmt: skip
    beacon = [r for r in rows if r["dst_ip"] == "203.0.113.9"]
    assert len(beacon) == 12 and {r["dst_domain"] for r in beacon} == {"c2.badsite.example"}
    by_dst = {r["dst_ip"]: r for r in rows}
    web = by_dst["93.184.215.14"]
    assert (web["dst_domain"], web["domain_source"], web["service"]) == (
        "www.example.com", "http_host", "http",
    )  # fmt: skip
    proxy = by_dst["10.1.1.250"]  # CONNECT: the requested name and port, through the proxy
    assert (proxy["dst_domain"], proxy["domain_source"], proxy["dst_port"], proxy["proxied"]) == (
        "login.example.net", "connect", 443, True,
    )  # fmt: skip
    icmp = by_dst["8.8.8.8"]
    assert (icmp["proto"], icmp["src_port"], icmp["dst_port"], icmp["service"]) == (
        "icmp", 8, 0, None,
    )  # fmt: skip
    v6 = by_dst["2606:4700::6810:85e5"]
    assert (v6["src_ip"], v6["dst_domain"]) == ("2001:db8::5", "ipv6.example.com")
    syn = by_dst["203.0.113.200"]
    assert (syn["conn_state"], syn["bytes_in"], syn["service"]) == ("new", 0, None)
    inbound = by_dst["10.1.1.80"]  # read as a connection; the outbound filter drops it later
    assert (inbound["src_ip"], inbound["service"]) == ("198.51.100.77", "ssh")


def test_flows_without_tls_or_http_names_are_named_from_each_dns_layout() -> None:
    store, _ = _load(EVE)
    by_dst = {r["dst_ip"]: r for r in _rows(store)}
    # v1: the A record is owned by the alias; the CNAME event before it maps it back
    assert by_dst["198.51.100.20"]["dst_domain"] == "updates.evil.example"
    assert by_dst["185.15.59.224"]["dst_domain"] == "www.wikipedia.org"  # v3, TLS without SNI
    assert by_dst["192.0.2.123"]["dst_domain"] == "time.example.org"  # v2 grouped only
    assert {by_dst[ip]["domain_source"] for ip in ("198.51.100.20", "185.15.59.224")} == {"dns"}
    answers = store.con.execute("SELECT src_ip, query, answer FROM dns ORDER BY ts").fetchall()
    assert answers[0] == ("10.1.1.5", "c2.badsite.example", "203.0.113.9")  # v2 detailed


def test_skipped_events_are_counted_not_reported() -> None:
    _, report = _load(EVE)
    assert report.skipped_records == {
        "suricata other event types": 5,  # alert, fileinfo, drop, anomaly, stats
        "suricata netflow events (flows are read from flow events)": 2,
        "suricata dns queries": 2,
        "suricata dns answers without addresses": 1,  # the v1 CNAME record
    }


def test_v2_and_v3_responses_are_lookups_for_the_dns_detector() -> None:
    store, _ = _load(EVE)
    rows = store.con.execute(
        "SELECT src_ip, resolver, query, qtype, rcode FROM dns_lookup ORDER BY ts"
    ).fetchall()
    assert ("10.1.1.5", "10.1.1.53", "c2.badsite.example", "A", "NOERROR") in rows  # v2
    assert ("10.1.1.9", "10.1.1.53", "www.wikipedia.org", "A", "NOERROR") in rows  # v3
    assert ("10.1.1.11", "10.1.1.53", "nonexistent.example", "A", "NXDOMAIN") in rows
    # v1 writes one event per answer record: its address records are kept without a
    # query type or response code (Suricata does not say them per lookup)
    v1 = [r for r in rows if r[0] == "10.1.1.6"]
    assert v1 == [("10.1.1.6", None, "updates.evil.example", None, None)]


def test_malformed_lines_are_reported_with_file_and_line() -> None:
    _, report = _load(EVE)
    problems = [str(p) for p in report.problems]
    assert problems == [
        f"{EVE}:55: not valid JSON (1 line(s) skipped)",
        f"{EVE}:56: not a JSON object (1 line(s) skipped)",
        f"{EVE}:57: flow.start is not a time: 'yesterday' (1 line(s) skipped)",
        f"{EVE}:58: flow event without src_ip/dest_ip (1 line(s) skipped)",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"timestamp": "2026-11-03T08:00:00+0000", "flow": {}}', "no event_type"),
        (_event("flow"), "flow event without a 'flow' object"),
        (_flow(src_port="443"), "src_port is not a count: '443'"),
        (_flow(dest_port=-1), "dest_port is not a count: -1"),
        (_event("dns", dns=[]), "dns event without a 'dns' object"),
        (_event("dns", dns={"type": "weird"}), "dns.type is neither query nor answer: 'weird'"),
        (_event("dns", timestamp="soon", dns={"type": "answer"}), "timestamp is not a time"),
    ],
)
def test_bad_records(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "eve.json"
    f.write_text(_flow() + "\n" + line + "\n")
    store, report = _load(f)
    assert len(_rows(store)) == 1
    [problem] = report.problems
    assert problem.line == 2 and message in problem.message


# -- files ------------------------------------------------------------------------------------


def test_gzip_and_rotated_files(tmp_path: Path) -> None:
    shutil.copy(EVE, tmp_path / "eve.json.1")
    (tmp_path / "eve-2026-11-03.json.gz").write_bytes(gzip.compress(EVE.read_bytes(), mtime=0))
    store, report = _load(tmp_path)
    assert report.rows["suricata"] == 46
    assert len(report.problems) == 8
    named = [r for r in _rows(store) if r["dst_domain"] == "c2.badsite.example"]
    assert len(named) == 24


def test_time_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    f = tmp_path / "eve.json"
    lines = [_flow("2026-11-03T09:00:00.500000+0100"), _flow("2026-11-03T00:00:00.5-08:00"),
             _flow("2026-11-03T08:00:00.5")]  # fmt: skip
    f.write_text("\n".join(lines) + "\n")
    store, _ = _load(f)
    assert [r["ts"] for r in _rows(store)] == [T0 + 0.5, T0 + 0.5, T0 + 0.5]


def test_answers_in_packet_direction_name_the_client(tmp_path: Path) -> None:
    # older Suricata logged an answer from the server's side: src_ip is the resolver
    answer = _event("dns", src_ip="10.1.1.53", src_port=53, dest_ip="10.1.1.5", dest_port=53001,
                    proto="UDP", dns={"type": "answer", "rrname": "x.example", "rrtype": "A",
                                      "rdata": "203.0.113.9"})  # fmt: skip
    f = tmp_path / "eve.json"
    f.write_text(answer + "\n" + _flow("2026-11-03T08:00:01+0000", flow_id=7) + "\n")
    store, _ = _load(f)
    assert store.con.execute("SELECT src_ip FROM dns").fetchall() == [("10.1.1.5",)]
    assert _rows(store)[0]["dst_domain"] == "x.example"


def test_sni_beats_host_and_connect_beats_sni(tmp_path: Path) -> None:
    lines = [
        _event("http", flow_id=1, http={"hostname": "host.example", "url": "/"}),
        _event("tls", flow_id=1, tls={"sni": "sni.example"}),
        _event("http", flow_id=1, http={"hostname": "host.example", "url": "/"}),
        _flow(flow_id=1),
        _event("tls", flow_id=2, tls={"sni": "sni.example"}),
        _event("http", flow_id=2, http={"http_method": "CONNECT", "url": "[2001:db8::9]:8443"}),
        _flow(flow_id=2),
        _event("http", flow_id=3, http={"hostname": "origin.example", "url": "http://origin.example/a"}),
        _flow(flow_id=3),
    ]  # fmt: skip
    f = tmp_path / "eve.json"
    f.write_text("\n".join(lines) + "\n")
    store, _ = _load(f)
    got = [(r["dst_domain"], r["domain_source"], r["dst_port"], r["proxied"]) for r in _rows(store)]
    assert sorted(got) == [
        ("2001:db8::9", "connect", 8443, True),
        ("origin.example", "http_host", 443, True),  # absolute URL: a request to a proxy
        ("sni.example", "sni", 443, False),
    ]


def test_pending_names_are_bounded(tmp_path: Path) -> None:
    lines = [_event("tls", flow_id=i, tls={"sni": f"n{i}.example"}) for i in (1, 2, 3)]
    lines += [_flow(flow_id=i) for i in (1, 2, 3)]
    f = tmp_path / "eve.json"
    f.write_text("\n".join(lines) + "\n")
    store, _ = _load(f, reader=SuricataReader(max_pending=2))
    # the oldest name was dropped to keep two; its flow falls back to DNS (none here)
    assert sorted(str(r["dst_domain"]) for r in _rows(store)) == [
        "None", "n2.example", "n3.example",
    ]  # fmt: skip


def test_netflow_only_file_asks_for_flow_events(tmp_path: Path) -> None:
    netflow = {"pkts": 3, "bytes": 300, "start": "2026-11-03T08:00:00+0000",
               "end": "2026-11-03T08:00:01+0000", "age": 1}  # fmt: skip
    f = tmp_path / "eve.json"
    f.write_text(_event("netflow", netflow=netflow) + "\n")
    _, report = _load(f)
    assert report.rows["suricata"] == 0
    [problem] = report.problems
    assert "netflow events but no flow events" in problem.message and problem.line is None


def test_hostile_values_are_stored_as_data(tmp_path: Path) -> None:
    evil = "x'); DROP TABLE conn; --\x1b[31m.example"
    lines = [
        _event("tls", flow_id=1, tls={"sni": evil}),
        _flow(flow_id=1, app_proto="t'ls\x1b[0m"),
        _event("\x1b[2Jevil'); --", flow_id=2),
    ]
    f = tmp_path / "eve.json"
    f.write_text("\n".join(lines) + "\n")
    store, report = _load(f)
    [row] = _rows(store)
    assert (row["dst_domain"], row["service"]) == (evil.lower(), "t'ls\x1b[0m")
    assert report.skipped_records == {"suricata other event types": 1}


def test_hunting_the_fixture_finds_the_beacon(tmp_path: Path) -> None:
    gz = tmp_path / "eve.json.gz"
    gz.write_bytes(gzip.compress(EVE.read_bytes(), mtime=0))
    res = CliRunner().invoke(main, ["hunt", str(gz), "--format", "ndjson", "-q"])
    assert res.exit_code == 0, res.output
    top = json.loads(res.stdout.splitlines()[0])
    assert (top["src_ip"], top["dst_domain"], top["dst_port"], top["connections"]) == (
        "10.1.1.5", "c2.badsite.example", 443, 12,
    )  # fmt: skip
    assert "timing.regular" in {r["code"] for r in top["reasons"]}


# -- the generator's rendering ----------------------------------------------------------------


@pytest.fixture(scope="module")
def renderings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for fmt in ("zeek", "suricata"):
        out[fmt] = tmp_path_factory.mktemp(fmt)
        generate(out[fmt], Scenario.small(seed=11), network_format=fmt)
    return out


def test_rendering_is_one_deterministic_eve_file(
    renderings: dict[str, Path], tmp_path: Path
) -> None:
    eve = renderings["suricata"] / "eve.json"
    assert not (renderings["suricata"] / "conn.log").exists()
    assert sniff(eve).log == "suricata"
    generate(tmp_path, Scenario.small(seed=11), network_format="suricata")
    assert (tmp_path / "eve.json").read_bytes() == eve.read_bytes()
    kinds = {json.loads(line)["event_type"] for line in eve.read_text().splitlines()}
    assert kinds == {"flow", "dns", "tls", "http", "fileinfo"}


def test_hunting_the_rendering_matches_hunting_zeek(renderings: dict[str, Path]) -> None:
    """Every pair, implants included, the same decision; scores within 0.05 (measured: 0.009
    at most over seeds 3, 7, 11 and 21; implants 0.002), see the reader's docstring."""
    found = {}
    for fmt, folder in renderings.items():
        logs = sorted(p for p in folder.iterdir() if p.suffix in (".log", ".json"))
        result = hunt(logs, HuntSettings(min_score=0.0))
        found[fmt] = {(f.src_ip, f.dst_domain or f.dst_ip, f.dst_port): f for f in result.findings}
    zeek, suricata = found["zeek"], found["suricata"]
    assert set(zeek) == set(suricata)
    for key, z in zeek.items():
        s = suricata[key]
        assert s.decision == z.decision, key
        assert abs(s.score - z.score) <= 0.05, (key, z.score, s.score)
        assert s.connections == z.connections, key
    labels = load_labels(renderings["suricata"] / "labels.csv")
    implants = [o for o in match(suricata.values(), labels) if o.label.implant]
    assert len(implants) == 6 and all(o.finding is not None for o in implants)


def test_uncompressed_aaaa_answers_name_ipv6_flows(tmp_path: Path) -> None:
    # Suricata prints AAAA data as 8 groups of 4 hex digits, flow addresses compressed
    answer = _event("dns", src_ip="2001:db8::5", dest_ip="2001:db8::53", proto="UDP",
                    dns={"version": 2, "type": "answer", "rrname": "v6.example", "answers": [
                        {"rrname": "v6.example", "rrtype": "AAAA",
                         "rdata": "2606:4700:0000:0000:0000:0000:6810:85e5"}]})  # fmt: skip
    flow = _flow("2026-11-03T08:00:01+0000", flow_id=9, src_ip="2001:db8::5",
                 dest_ip="2606:4700::6810:85e5")  # fmt: skip
    f = tmp_path / "eve.json"
    f.write_text(answer + "\n" + flow + "\n")
    store, _ = _load(f)
    assert _rows(store)[0]["dst_domain"] == "v6.example"
