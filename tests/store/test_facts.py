"""The store queries behind the pivots: prevalence, first sighting, DNS use, host events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from beaconhunt.enrich.domains import registered_domain
from beaconhunt.store import facts
from beaconhunt.store.duckdb import DuckDBStore


@pytest.fixture
def store() -> Iterator[DuckDBStore]:
    s = DuckDBStore()
    conn = [
        # ts, src, dst_ip, domain
        (100.0, "10.0.0.1", "203.0.113.5", "a.evil.example"),
        (200.0, "10.0.0.1", "203.0.113.5", "b.evil.example"),
        (300.0, "10.0.0.2", "203.0.113.6", "cdn.evil.example"),
        (50.0, "10.0.0.3", "203.0.113.6", "old.evil.example"),  # before the window
        (150.0, "10.0.0.1", "198.51.100.23", None),
        (160.0, "10.0.0.4", "198.51.100.23", "named.example"),
        (170.0, "203.0.113.99", "198.51.100.23", None),  # external source
        (400.0, "10.0.0.5", "192.0.2.1", "www.good.co.uk"),
    ]
    for ts, src, dst, dom in conn:
        s.con.execute(
            "INSERT INTO conn (ts, src_ip, dst_ip, dst_port, proto, dst_domain)"
            " VALUES (?, ?, ?, 443, 'tcp', ?)",
            [ts, src, dst, dom],
        )
    for ts, src, q, a in [
        (90.0, "10.0.0.1", "a.evil.example", "203.0.113.5"),
        (95.0, "10.0.0.2", "www.good.co.uk", "192.0.2.1"),
    ]:
        s.con.execute("INSERT INTO dns VALUES (?, NULL, ?, ?, ?)", [ts, src, q, a])
    s.con.execute(
        "INSERT INTO dns_query (ts, host, query_name, query_results) VALUES"
        " (80, 'WS-9', 'x.example', 'type:  5 edge.example;::ffff:192.0.2.7;')"
    )
    yield s
    s.close()


def test_destination_stats_by_registered_domain_and_ip(store: DuckDBStore) -> None:
    st = facts.destination_stats(
        store.con, 100.0, 400.0, {"evil.example"}, {"198.51.100.23"}, registered_domain
    )
    evil = st["evil.example"]
    assert sorted(evil.sources) == ["10.0.0.1", "10.0.0.2"]
    assert sorted(evil.sources_ever) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert evil.first_seen == 50.0
    ip = st["198.51.100.23"]
    assert sorted(ip.sources) == ["10.0.0.1", "10.0.0.4", "203.0.113.99"]
    assert set(st) == {"evil.example", "198.51.100.23"}


def test_hostile_domain_values_travel_as_data(store: DuckDBStore) -> None:
    store.con.execute(
        "INSERT INTO conn (ts, src_ip, dst_ip, dst_port, proto, dst_domain)"
        " VALUES (120, '10.0.0.7', '203.0.113.8', 443, 'tcp', ?)",
        ["x'); DROP TABLE conn; --.evil.example"],
    )
    st = facts.destination_stats(store.con, 0.0, 1e9, {"evil.example"}, set(), registered_domain)
    assert "10.0.0.7" in st["evil.example"].sources
    assert store.count("conn") == 9


def test_history_span_and_active_sources(store: DuckDBStore) -> None:
    assert facts.history_span(store.con) == (50.0, 400.0)
    assert sorted(facts.active_sources(store.con, 100.0, 200.0)) == [
        "10.0.0.1", "10.0.0.4", "203.0.113.99",
    ]  # fmt: skip


def test_dns_resolution_true_false_and_unknown(store: DuckDBStore) -> None:
    got = facts.dns_resolution(
        store.con,
        [
            ("10.0.0.1", None, ["203.0.113.5"]),  # resolved
            ("10.0.0.1", None, ["198.51.100.23"]),  # makes lookups, never this one
            ("10.0.0.4", None, ["198.51.100.23"]),  # no DNS seen for this source
            ("10.0.0.8", "ws-9", ["192.0.2.7"]),  # Sysmon event 22 answer, any case
            ("10.0.0.8", "ws-9", ["192.0.2.77"]),  # not a prefix match
        ],
        1e9,
    )
    assert got == [True, False, None, True, False]
    # a lookup after the end of the analysed period does not count
    assert facts.dns_resolution(store.con, [("10.0.0.1", None, ["203.0.113.5"])], 50.0) == [False]


def test_sysmon_hosts_and_host_processes(store: DuckDBStore) -> None:
    store.append_endpoint("net_conn", {
        "ts": [1.0, 2.0, 3.0], "host": ["WS-1", "WS-1", "WS-2"],
        "src_ip": ["10.0.0.1", "10.0.0.1", "10.0.0.2"], "dst_ip": ["1.1.1.1"] * 3,
    })  # fmt: skip
    assert facts.sysmon_hosts(store.con, ["10.0.0.1", "10.0.0.9"]) == {"10.0.0.1": "WS-1"}
    store.append_endpoint("proc_create", {
        "ts": [5.0, 4.0, 6.0], "host": ["WS-1", "ws-1", "WS-2"],
        "image": ["b.exe", "a.exe", "c.exe"],
    })  # fmt: skip
    procs = facts.host_processes(store.con, ["ws-1"], limit_per_host=5)
    assert [r["image"] for r in procs["ws-1"]] == ["a.exe", "b.exe"]
    assert [r["image"] for r in facts.host_processes(store.con, ["WS-1"], 1)["ws-1"]] == ["b.exe"]
