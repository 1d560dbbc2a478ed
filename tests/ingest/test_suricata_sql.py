"""Suricata EVE read by DuckDB (``SuricataReader.line_scan``) equals the Python reader.

Every file is loaded both ways, by the reader's SQL and by its Python (``PythonOnly``),
and the two must agree on every table the reader fills (conn, dns, dns_lookup, ssl),
on skips, problems and counts. The tests that say a line "takes the SQL path" run the
reader's statement over the file as linescan does and look at what it hands to Python.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from beaconhunt.ingest.loader import load_paths
from beaconhunt.ingest.network import NetworkReader
from beaconhunt.ingest.readers.suricata import MAX_PENDING, READER, SuricataReader
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.synth import Scenario, generate
from tests.ingest.reader_helpers import PythonOnly, load

T = "2026-11-03T08:00:00.000000+0000"
_TABLES = {
    "conn": "ts, src_ip, src_port, uid",
    "dns": "ts, src_ip, query, answer",
    "dns_lookup": "ts, src_ip, query",
    "ssl": "ts, uid, server_name",
}


def _j(obj: dict[str, Any]) -> str:
    """One EVE line as Suricata writes it: compact, keys in the order given."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _head(event_type: str, flow_id: Any = 1, **fields: Any) -> dict[str, Any]:
    return {
        "timestamp": T,
        "flow_id": flow_id,
        "in_iface": "eth0",
        "event_type": event_type,
        **fields,
    }


def _flow(
    flow_id: Any = 1,
    start: str = T,
    end: str | None = None,
    *,
    icmp: bool = False,
    top: dict[str, Any] | None = None,
    flow: dict[str, Any] | None = None,
    tail: dict[str, Any] | None = None,
) -> str:
    ends = {"start": start, "end": start if end is None else end}
    body = {
        "pkts_toserver": 3,
        "pkts_toclient": 2,
        "bytes_toserver": 300,
        "bytes_toclient": 200,
        **ends,
        "age": 0,
        "state": "closed",
        "reason": "timeout",
        "alerted": False,
    }
    ports = {"icmp_type": 8, "icmp_code": 0} if icmp else {}
    five = {
        "src_ip": "10.1.1.5",
        **({} if icmp else {"src_port": 50000}),
        "dest_ip": "203.0.113.9",
        **({} if icmp else {"dest_port": 443}),
        "proto": "ICMP" if icmp else "TCP",
        **ports,
        "app_proto": "tls",
    }
    five |= top or {}
    return _j(_head("flow", flow_id, **five, flow=body | (flow or {}), **(tail or {})))


def _tls(flow_id: Any = 1, sni: str | None = "c2.example", **tls: Any) -> str:
    inner = ({"sni": sni} if sni is not None else {}) | {"version": "TLS 1.3"} | tls
    return _j(
        _head(
            "tls",
            flow_id,
            src_ip="10.1.1.5",
            src_port=50000,
            dest_ip="203.0.113.9",
            dest_port=443,
            proto="TCP",
            tls=inner,
        )
    )


def _http(
    flow_id: Any = 1, host: str | None = "web.example", url: str = "/", method: str = "GET"
) -> str:
    http = ({"hostname": host} if host is not None else {}) | {
        "url": url,
        "http_user_agent": 'curl "7"',
        "http_method": method,
        "protocol": "HTTP/1.1",
    }
    return _j(
        _head(
            "http",
            flow_id,
            src_ip="10.1.1.5",
            src_port=50000,
            dest_ip="203.0.113.9",
            dest_port=80,
            proto="TCP",
            tx_id=0,
            http=http,
        )
    )


def _dns_answer(flow_id: Any = 7, name: str = "c2.example", address: str = "203.0.113.9") -> str:
    dns = {
        "version": 2,
        "type": "answer",
        "id": 1,
        "rrname": name,
        "rrtype": "A",
        "rcode": "NOERROR",
        "answers": [{"rrname": name, "rrtype": "A", "ttl": 60, "rdata": address}],
        "grouped": {"A": [address]},
    }
    return _j(
        _head(
            "dns",
            flow_id,
            src_ip="10.1.1.5",
            src_port=53000,
            dest_ip="10.1.1.53",
            dest_port=53,
            proto="UDP",
            dns=dns,
        )
    )


def _dns_query(flow_id: Any = 7, name: str = "c2.example") -> str:
    dns = {"type": "query", "id": 1, "rrname": name, "rrtype": "A", "tx_id": 0}
    return _j(
        _head(
            "dns",
            flow_id,
            src_ip="10.1.1.5",
            src_port=53000,
            dest_ip="10.1.1.53",
            dest_port=53,
            proto="UDP",
            dns=dns,
        )
    )


def _write(tmp_path: Path, lines: list[str], name: str = "eve.json", end: str = "\n") -> Path:
    f = tmp_path / name
    data = (end.join(lines) + end).encode("utf-8", "surrogatepass")
    f.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return f


def _tables(path: Path, reader: NetworkReader) -> dict[str, Any]:
    store = DuckDBStore()
    report = load_paths([path], store, sources=[reader])
    out: dict[str, Any] = {
        "problems": [(p.file, p.line, p.message, p.skipped) for p in report.problems],
        "skipped": dict(report.skipped_records),
        "rows": dict(report.rows),
    }
    for table, order in _TABLES.items():
        cur = store.con.execute(f"SELECT * FROM {table} ORDER BY {order}")
        names = [d[0] for d in cur.description]
        out[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    store.close()
    return out


def _same(path: Path, reader: SuricataReader = READER) -> dict[str, Any]:
    """Load ``path`` by SQL and by Python; they must agree on everything. The SQL's."""
    got, want = _tables(path, reader), _tables(path, PythonOnly(reader))
    for key in want:
        assert got[key] == want[key], key
    if reader is READER:
        load(path)  # and the shared helper's check, as every reader test makes it
    return got


def _scan(path: Path, reader: SuricataReader = READER) -> dict[str, int] | None:
    """What the reader's statement makes of ``path``'s lines (linescan's input, as
    ``bench_readers`` measures it): rows handed to Python, connections, skips."""
    scan = reader.line_scan(path)
    if scan is None:
        return None
    compression = "gzip" if path.name.endswith(".gz") else "none"
    src = (
        "read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = '\x1f', quote = '',"
        " escape = '', comment = '', auto_detect = false, ignore_errors = true,"
        f" strict_mode = false, compression = '{compression}')"
    )
    con = duckdb.connect()
    row = con.execute(
        f"WITH lines AS (SELECT row_number() OVER () AS n, line FROM {src})"
        " SELECT count(*), count(python_line), count(ts), count(skip),"
        "        count(*) FILTER (WHERE python_line IS NULL AND dst_domain IS NOT NULL)"
        f" FROM ({scan.select})",
        [str(path), *scan.params],
    ).fetchone()
    con.close()
    assert row is not None
    return dict(zip(("rows", "python", "flows", "skips", "named"), map(int, row), strict=True))


def _in_sql(path: Path, flows: int, reader: SuricataReader = READER) -> dict[str, int]:
    """``path``'s flow events take the SQL path: ``flows`` connections from SQL."""
    got = _scan(path, reader)
    assert got is not None and got["flows"] == flows, got
    return got


def _in_python(path: Path, reader: SuricataReader = READER) -> None:
    """The whole of ``path`` is read by Python (line_scan declines or hands every line)."""
    got = _scan(path, reader)
    assert got is None or got["python"] == got["rows"], got


# -- the usual lines --------------------------------------------------------------------------


def test_synthetic_capture_takes_the_sql_path(tmp_path: Path) -> None:
    generate(tmp_path, Scenario(hosts=16, days=0.05, seed=7), network_format="suricata")
    eve = tmp_path / "eve.json"
    lines = eve.read_text().splitlines()
    kinds = [json.loads(x)["event_type"] for x in lines]
    answers = sum(1 for x in lines if '"type":"answer"' in x)
    got = _in_sql(eve, kinds.count("flow"))
    # only tls events (the ssl table) and dns answers (the dns table) go to Python
    assert got["python"] == kinds.count("tls") + answers
    assert got["named"] > 0
    _same(eve)


def test_fields_of_a_flow(tmp_path: Path) -> None:
    lines = [
        _tls(1, "C2.Example."),
        _flow(
            1,
            "2026-11-03T09:00:00.250000+0100",
            "2026-11-03T08:00:01.000001+0000",
            tail={
                "tcp": {"tcp_flags": "1b", "syn": True, "state": "closed"},
                "community_id": "1:abc=",
                "metadata": {"flowbits": ["a", "b"]},
            },
        ),
        _flow(2, top={"app_proto": "krb5", "proto": "udp"}, flow={"state": ""}),
        _flow(3, top={"app_proto": "failed", "proto": "IPv6-ICMP", "src_ip": "2001:0db8::1"}),
        _flow(4, icmp=True),
        _flow(5, end="2026-11-03T07:59:59.000000+0000"),  # ends before it starts
        _flow(6, top={"app_proto": "dcerpc"}, end="2026-02-30T00:00:00.000000+0000"),
    ]
    f = _write(tmp_path, lines)
    _in_sql(f, 6)
    rows = {r["uid"]: r for r in _same(f)["conn"]}
    assert len(rows) == 6
    assert rows["suricata:1"]["dst_domain"] == "c2.example"
    assert rows["suricata:5"]["duration"] is None and rows["suricata:6"]["duration"] is None
    assert (rows["suricata:4"]["src_port"], rows["suricata:4"]["dst_port"]) == (8, 0)


@pytest.mark.parametrize(
    ("top", "flow", "sql"),
    [
        ({"src_port": 0, "dest_port": 65535}, {}, True),
        ({"src_port": 1, "dest_port": 65536}, {}, False),
        ({"src_port": -1}, {}, False),
        ({"src_port": 80.0}, {}, False),
        ({"src_port": True}, {}, False),
        ({"src_port": "80"}, {}, False),
        ({}, {"bytes_toserver": 10**18 - 1, "pkts_toclient": 0}, True),
        ({}, {"bytes_toserver": 10**18}, False),
        ({}, {"bytes_toclient": 2**63}, False),
        ({}, {"pkts_toserver": 1e3}, False),
        ({"src_ip": "10.1.1.05", "dest_ip": "fe80::1%eth0"}, {}, True),  # kept as written
        ({"src_ip": ""}, {}, False),
        ({"src_ip": "10.1.1.5\t"}, {}, False),  # an escape: Python reads it
        ({"app_proto": "t\u00e9ls", "proto": "T\u00c7P"}, {}, False),
        ({"app_proto": "t\u00e9ls"}, {}, True),
        ({"app_proto": ""}, {"state": "\u00e9tabli"}, True),
        ({"proto": ""}, {}, True),
        ({"proto": "icmpv6"}, {}, True),
        ({}, {"end": "2026-11-03T08:00:00+00:00"}, False),
        ({}, {"end": "2026-13-03T08:00:00.000000+0000"}, False),
        ({}, {"start": "2026-11-03T08:00:00.000000+2400"}, False),
        ({}, {"start": "2024-02-29T23:59:59.999999-2359"}, True),
        ({}, {"start": "2026-02-29T08:00:00.000000+0000"}, False),
        ({}, {"start": "1969-12-31T23:59:59.999999+0000"}, False),
        ({}, {"start": "1970-01-01T00:30:00.000000+0100"}, False),  # before the epoch
        ({}, {"start": "2099-12-31T23:59:59.999999+0000"}, True),
        ({}, {"start": "2026-11-03T08:00:60.000000+0000"}, False),
        ({}, {"start": "2026-11-03T08:00:00.000000Z"}, False),
        ({}, {"start": "2026-11-03T08:00:00.000+0000"}, False),
        ({}, {"start": None}, False),
    ],
)
def test_values_at_the_edge_of_the_sql_path(
    tmp_path: Path, top: dict[str, Any], flow: dict[str, Any], sql: bool
) -> None:
    f = _write(tmp_path, [_tls(2), _flow(2), _flow(1, top=top, flow=flow)])
    got = _scan(f)
    assert got is not None
    assert got["python"] == (1 if sql else got["rows"]), got
    _same(f)


def test_times_equal_pythons_on_many_values(tmp_path: Path) -> None:
    rnd = random.Random(5)
    lines = []
    for i in range(400):
        y, mo, d = rnd.randint(1971, 2098), rnd.randint(1, 12), rnd.randint(1, 28)
        h, mi, s, us = (
            rnd.randint(0, 23),
            rnd.randint(0, 59),
            rnd.randint(0, 59),
            rnd.randrange(10**6),
        )
        off = f"{rnd.choice('+-')}{rnd.randint(0, 23):02d}{rnd.randint(0, 59):02d}"
        start = f"{y}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{us:06d}{off}"
        end = f"{y}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{rnd.randrange(10**6):06d}{off}"
        lines.append(_flow(i, start, end))
    f = _write(tmp_path, lines)
    _in_sql(f, 400)
    _same(f)


@pytest.mark.parametrize(
    "line",
    [
        # another key where the reader reads one: the last wins in Python
        '{"timestamp":"T","flow_id":1,"event_type":"flow","src_ip":"10.1.1.5","src_port":1,'
        '"dest_ip":"203.0.113.9","dest_port":2,"proto":"TCP","flow":{"pkts_toserver":1,'
        '"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,"start":"S","end":"S"},'
        '"src_ip":"10.6.6.6"}',
        '{"timestamp":"T","flow_id":1,"event_type":"dns","event_type":"flow","src_ip":"10.1.1.5",'
        '"src_port":1,"dest_ip":"203.0.113.9","dest_port":2,"proto":"TCP","flow":{"pkts_toserver"'
        ':1,"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,"start":"S","end":"S"}}',
        '{"timestamp":"T","flow_id":1,"in_iface":{"event_type":"dns"},"event_type":"flow",'
        '"src_ip":"10.1.1.5","src_port":1,"dest_ip":"203.0.113.9","dest_port":2,"proto":"TCP",'
        '"flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,'
        '"start":"S","end":"S"}}',
        '{"timestamp":"T","flow_id":1,"event_type":"flow","src_ip":"10.1.1.5","src_port":1,'
        '"dest_ip":"203.0.113.9","dest_port":2,"proto":"TCP","flow":{"pkts_toserver":1,'
        '"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,"start":"S","end":"S",'
        '"start":"2026-11-03T09:00:00.000000+0000"}}',
        # JSON Python does not read (DuckDB's JSON reader would)
        '{"timestamp":"T","flow_id":1,"event_type":"flow","src_ip":"10.1.1.5","src_port":1,'
        '"dest_ip":"203.0.113.9","dest_port":2,"proto":"TCP","flow":{"pkts_toserver":1,'
        '"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,"start":"S","end":"S",},"x":nan}',
        # spaces (not Suricata's output: Python's prefilter does not see the type)
        '{"timestamp": "T", "flow_id": 1, "event_type": "flow", "src_ip": "10.1.1.5",'
        ' "src_port": 1, "dest_ip": "203.0.113.9", "dest_port": 2, "proto": "TCP",'
        ' "flow": {"pkts_toserver": 1,'
        ' "pkts_toclient": 1, "bytes_toserver": 1, "bytes_toclient": 1, "start": "S", "end": "S"}}',
        # a key written with an escape is the same key to Python
        '{"timestamp":"T","flow_id":1,"event_type":"tls","tls":{"sni":"a.example"},'
        '"\\u0065vent_type":"flow","src_ip":"10.1.1.5","dest_ip":"203.0.113.9","proto":"TCP",'
        '"flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,'
        '"start":"S","end":"S"}}',
        '{"timestamp":"T","flow_id":2,"event_type":"dns","dns":{"type":"answer"},'
        '"\\u0065vent_type":"flow","src_ip":"10.1.1.5","dest_ip":"203.0.113.9","proto":"TCP",'
        '"flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":1,"bytes_toclient":1,'
        '"start":"S","end":"S"}}',
        '{"timestamp":"T","flow_id":1,"event_type":"tls","tls":{"sni":"a.example","sni":"b.example"}}',
    ],
)
def test_lines_the_sql_cannot_prove_send_the_file_to_python(tmp_path: Path, line: str) -> None:
    line = line.replace('"S"', f'"{T}"').replace('"T"', f'"{T}"')
    f = _write(tmp_path, [_tls(1, "a.example"), _tls(2, "b.example"), line, _flow(1), _flow(2)])
    _in_python(f)
    _same(f)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "\t{}",
        "not json at all",
        '{"timestamp":"T","flow_id":3,"event_type":"flow","src_ip":"10.1.1.5","src_port":50100,',
        '{"timestamp":"T","flow_id":3,"event_type":"tls","tls":{"sni":"trunc',
        '{"event_type":"',
        '{"event_type":"flo',
        '{"event_type":"fileinfo_and_then_some_more","x":1}',
        '{"event_type":"alert","alert":{"signature":"\\u0065vent_type"}}',
        '{"timestamp":"T","event_type":"netflow","netflow":{"pkts":1}}',
        '{"timestamp":"T","flow_id":4,"event_type":"dns","dns":{"type":"request","rrname":"x"}}',
        '{"timestamp":"T","flow_id":4,"event_type":"dns","dns":{"type":"answer","rrname":"x\\\\y",'
        '"rrtype":"A","rdata":"192.0.2.1"}}',
        "[1, 2]",
        '"event_type"',
    ],
)
def test_lines_without_effect_on_names_keep_the_sql_path(tmp_path: Path, line: str) -> None:
    line = line.replace('"T"', f'"{T}"')
    f = _write(tmp_path, [_tls(1), line, _flow(1), _http(2), _flow(2)])
    got = _in_sql(f, 2)
    assert got["named"] == 2
    _same(f)


def test_prefixes_bom_and_trailing_spaces(tmp_path: Path) -> None:
    lines = [
        "\ufeff" + _tls(1),
        "@cee: " + _flow(1),
        "<14>Nov  3 08:00:00 ids suricata: " + _flow(2),
        _flow(3) + "  ",
        " " + _flow(4),
    ]
    f = _write(tmp_path, lines)
    _in_python(f)  # a flow ending in spaces: Python's strip is wider than the SQL's shape
    _same(f)
    f = _write(tmp_path, lines[:3])
    got = _in_sql(f, 2)
    assert got["named"] == 1
    _same(f)


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_files_duckdb_splits_otherwise_are_read_in_python(tmp_path: Path, end: str) -> None:
    lines = [_tls(1), _flow(1), _flow(2)]
    for bad in ("\r", "\x1f", "\udcff"):  # a CR, DuckDB's column separator, a byte not UTF-8
        f = _write(tmp_path, [*lines[:1], lines[1][:-1] + bad + "}", *lines[2:]], end=end)
        assert READER.line_scan(f) is None
        _same(f)
    f = _write(tmp_path, [*lines, _tls(3, "\u00e9t\u00e9.example"), _flow(3)])
    _in_python(f)  # a name DuckDB would lower-case otherwise than Python (see module doc)
    _same(f)


def test_gzip_and_rotated(tmp_path: Path) -> None:
    lines = [_tls(1), _http(2, "Web.Example"), _dns_query(), _dns_answer(), _flow(1), _flow(2)]
    f = _write(tmp_path, lines, "eve-2026-11-03.json.gz")
    got = _in_sql(f, 2)
    assert got["named"] == 2
    _same(f)


# -- names waiting for their flow -------------------------------------------------------------


def test_naming_order_rank_and_reuse_of_flow_ids(tmp_path: Path) -> None:
    lines = [
        _http(1, "host.example"),
        _tls(1, "sni.example"),
        _flow(1),  # SNI beats Host
        _tls(2, "first.example"),
        _tls(2, "second.example"),
        _flow(2),  # ties: the first
        _tls(3, "sni3.example"),
        _http(3, "x", "proxy.example:8443", "CONNECT"),
        _http(3, "y", "later.example:9443", "CONNECT"),
        _flow(3),  # CONNECT wins, the first
        _http(4, "origin.example", "HTTP://origin.example/a"),
        _flow(4),  # a proxy's client
        _http(5, None, "[2001:db8::9]:8443", "CONNECT"),
        _flow(5),
        _http(6, None, "/"),
        _tls(6, ""),
        _flow(6),  # nothing names it
        _flow(7),
        _tls(7, "after.example"),
        _flow(7),
        _flow(7),  # a reused flow id
        _tls(8, "never-flowed.example"),
        _tls(9, "nine.example"),
        _flow(9),
        _http(10, "pending.example"),
        _flow(11),
        _flow(10),
        _http(12, "x.example", "http://x.example:0/"),
        _flow(12),
        _http(13, "x", "proxy.example:0", "CONNECT"),
        _flow(13),
    ]
    f = _write(tmp_path, lines)
    got = _in_sql(f, 14)
    assert got["named"] == 10
    _same(f)


@pytest.mark.parametrize(
    "line",
    [
        _http(1, "x", "proxy.example", "CONNECT"),  # no port: Python's _authority decides
        _http(1, "x", "proxy.example:65536", "CONNECT"),
        _http(1, "caf\u00e9.example"),
        _tls(1, "caf\u00e9.example"),
        _tls("1", "x.example"),
        _tls(1.0, "x.example"),
        _tls(None, "x.example"),
        _tls(1, None) + " ",
        _j(_head("tls", 1, tls={"sni": 5})),
        _j(_head("tls", 1, tls="sni")),
        _j(_head("http", 1, http={"hostname": "x.example"})),  # no url
    ],
)
def test_names_the_sql_cannot_prove_send_the_file_to_python(tmp_path: Path, line: str) -> None:
    f = _write(tmp_path, [_tls(2), line, _flow(1), _flow(2)])
    _in_python(f)
    _same(f)


@pytest.mark.parametrize(("max_pending", "sql"), [(3, True), (2, False), (1, False), (0, False)])
def test_the_pending_limit(tmp_path: Path, max_pending: int, sql: bool) -> None:
    lines = [_tls(i, f"n{i}.example") for i in (1, 2, 3)]
    lines += [_tls(1, "again.example"), _http(2, "h.example"), _flow(2), _tls(4, "n4.example")]
    lines += [_flow(i) for i in (1, 3, 4)]
    f = _write(tmp_path, lines)
    reader = SuricataReader(max_pending=max_pending)
    if sql:
        _in_sql(f, 4, reader)
    else:
        _in_python(f, reader)
    _same(f, reader)


def test_many_pending_names(tmp_path: Path) -> None:
    n = 300
    lines = [_tls(i, f"n{i}.example") for i in range(n)] + [_flow(i) for i in range(n)]
    f = _write(tmp_path, lines)
    _in_sql(f, n, SuricataReader(max_pending=n))
    _in_python(f, SuricataReader(max_pending=n - 1))
    conn = _same(f, SuricataReader(max_pending=n - 1))["conn"]
    assert [r["uid"] for r in conn if r["dst_domain"] is None] == ["suricata:0"]
    assert n <= MAX_PENDING


# -- what Python reads beside the SQL ---------------------------------------------------------


def test_dns_layouts_and_tls_records_are_the_pythons(tmp_path: Path) -> None:
    v1 = [
        _j(
            _head(
                "dns",
                9,
                src_ip="10.1.1.53",
                src_port=53,
                dest_ip="10.1.1.5",
                dest_port=5300,
                proto="UDP",
                dns={
                    "type": "answer",
                    "id": 1,
                    "rrname": "alias.example",
                    "rrtype": "CNAME",
                    "rdata": "edge.example",
                },
            )
        ),
        _j(
            _head(
                "dns",
                9,
                src_ip="10.1.1.53",
                src_port=53,
                dest_ip="10.1.1.5",
                dest_port=5300,
                proto="UDP",
                dns={
                    "type": "answer",
                    "id": 1,
                    "rrname": "edge.example",
                    "rrtype": "A",
                    "rdata": "198.51.100.7",
                },
            )
        ),
    ]
    lines = [
        _dns_query(),
        _dns_answer(),
        *v1,
        _tls(1, None, ja3={"hash": "h", "string": "s"}),
        _tls(2, "x.example", subject="CN=x", issuerdn='CN=\\"ca\\"'),
        _flow(1),
        _flow(2, top={"dest_ip": "198.51.100.7"}),
    ]
    f = _write(tmp_path, lines)
    got = _in_sql(f, 2)
    assert got["python"] == 5
    out = _same(f)
    assert len(out["ssl"]) == 2 and len(out["dns"]) == 2


@pytest.mark.parametrize("bad", [0, 48, 49, 50, 51, 60])
def test_netflow_note_after_the_lines_problems(tmp_path: Path, bad: int) -> None:
    netflow = _j(
        _head(
            "netflow",
            5,
            src_ip="10.1.1.5",
            dest_ip="203.0.113.9",
            proto="TCP",
            netflow={"pkts": 3, "bytes": 300, "start": T, "end": T},
        )
    )
    lines = [netflow, *(["junk"] * bad), netflow, _tls(1), _j(_head("alert", 9, alert={}))]
    f = _write(tmp_path, lines)
    got = _scan(f)
    assert got is not None and got["skips"] == 1 and got["python"] == got["rows"] - 1
    out = _same(f)
    assert any("netflow events but no flow events" in p[2] for p in out["problems"]) or bad >= 50
    f = _write(tmp_path, [*lines, _flow(1)])
    assert not any("netflow" in p[2] for p in _same(f)["problems"])


def test_problems_of_python_lines_keep_their_numbers(tmp_path: Path) -> None:
    lines = [
        _tls(1),
        "junk",
        _j(_head("tls", 2, src_ip="10.1.1.5", src_port=-1, tls={"sni": "two.example"})),
        _flow(1),
        "",
        _j(_head("tls", 3, dest_port="x", tls={"sni": "three.example"})),
        _flow(2),
        _dns_answer(name=""),
    ]
    f = _write(tmp_path, lines)
    got = _in_sql(f, 2)
    assert got["named"] == 2
    assert [p[1] for p in _same(f)["problems"]] == [2, 3, 6]
