"""The W3C reader's SQL (``W3CReader.line_scan``) against its Python ``read()``: records of the
file's first ``#Fields:`` layout in their usual shape are read by DuckDB, every directive and
every other line by the Python, and a file read both ways gives the same rows, skips and
problems (``reader_helpers.load`` compares them)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from reader_helpers import load, python_lines

from beaconhunt.ingest.readers import w3c
from beaconhunt.synth import Scenario, generate
from tests.conftest import FIXTURES

FIELDS = (
    "#Fields: date time time-taken c-ip cs-username sc-filter-result sc-status s-action"
    " cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs(User-Agent) s-ip"
    " s-supplier-ip sc-bytes cs-bytes"
)
HEAD = ["#Software: SGOS 6.7.5.3", "#Version: 1.0", FIELDS]


def _rec(
    day: str = "2026-11-03",
    time: str = "08:00:01",
    taken: str = "412",
    client: str = "10.1.1.5",
    user: str = "-",
    verdict: str = "OBSERVED",
    status: str = "200",
    action: str = "TCP_TUNNELED",
    method: str = "CONNECT",
    scheme: str = "tcp",
    host: str = "c2.badsite.example",
    port: str = "443",
    agent: str = '"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"',
    supplier: str = "192.0.2.9",
    down: str = "4823",
    up: str = "1180",
) -> str:
    return (
        f"{day} {time} {taken} {client} {user} {verdict} {status} {action} {method} {scheme}"
        f" {host} {port} / {agent} 10.1.1.250 {supplier} {down} {up}"
    )


def _same(tmp_path: Path, lines: list[str], *, python: list[int]) -> list[dict[str, object]]:
    path = tmp_path / "SG_main.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    _, rows = load(path, order="ts, src_ip, dst_port")  # both ways, compared
    assert python_lines(path, w3c.READER) == python
    return rows


def test_the_fixtures_read_the_same() -> None:
    for name in ("proxysg_main.log", "tmg_webproxy.w3c"):
        load(FIXTURES / "w3c" / name, order="ts, src_ip, dst_port")


def test_usual_records_are_read_in_sql_and_directives_in_python(tmp_path: Path) -> None:
    rows = _same(tmp_path, [
        *HEAD,
        _rec(),
        _rec(method="GET", scheme="http", host="www.example.com", port="80", action="TCP_HIT"),
        _rec(method="GET", scheme="https", host="a.example:8443", port="-"),
        _rec(method="GET", scheme="http", host="198.51.100.7", port="-", supplier="-"),
        _rec(taken="-", down="-", up="-", user="CORP\\alice"),
        _rec(taken="2.5"),
        _rec(verdict="DENIED", status="403", action="TCP_DENIED"),  # a skip, in SQL
        _rec(status="407", action="TCP_DENIED"),
        _rec(host="-", method="GET"),  # no host: a skip
        _rec(agent="-", supplier="10.1.1.250"),  # the proxy's own address: no dst_ip
        "#Remark: a directive between records",
        _rec(time="23:59:60"),
    ], python=[3])  # fmt: skip
    assert len(rows) == 8
    assert {r["dst_port"] for r in rows} == {443, 80, 8443}
    assert {r["dst_ip"] for r in rows} == {"192.0.2.9", "198.51.100.7", None}


@pytest.mark.parametrize("line", [
    _rec(client="10.1.1.999"),                 # not an address: a problem
    _rec(client="2001:db8::5"),
    _rec(day="2026-13-03"),                    # no such month
    _rec(day="2026-02-30"),
    _rec(time="8:00:01"),
    _rec(time="08:00:01.1234567"),
    _rec(taken="-5"),
    _rec(taken="9" * 16),
    _rec(port="0"),                            # out of range
    _rec(port="65536"),
    _rec(host="a.example:0"),
    _rec(host="a.example:99999"),
    _rec(host="c2.tést"),                      # not ASCII
    _rec(down="9" * 19),
    _rec(agent='"Mozilla ""quoted"" agent"'),  # a doubled quote
    _rec(agent='""'),
    _rec() + " extra",                         # one field too many
    _rec().replace(" 412 ", " 412  "),         # two spaces
    "  " + _rec(),
    _rec() + "\t",
])  # fmt: skip
def test_unusual_records_go_to_python(tmp_path: Path, line: str) -> None:
    _same(tmp_path, [*HEAD, _rec(), line, _rec()], python=[3, 5])


def test_a_second_layout_is_read_in_python_up_to_the_first_again(tmp_path: Path) -> None:
    other = "#Fields: date time c-ip cs-method cs-host sc-bytes"
    lines = [*HEAD, _rec(), other, "2026-11-03 08:00:02 10.1.1.6 GET b.example 10", FIELDS, _rec()]
    _same(tmp_path, lines, python=[3, 5, 6, 7, 8])


def test_records_before_the_first_header_are_python_problems(tmp_path: Path) -> None:
    lines = ["#Version: 1.0", _rec(), FIELDS, _rec()]
    _same(tmp_path, lines, python=[2, 3])


def test_a_header_the_sql_does_not_read_leaves_the_file_to_python(tmp_path: Path) -> None:
    # cs-uri names the host: a layout the SQL does not read
    path = tmp_path / "uri.log"
    path.write_text(
        "#Version: 1.0\n#Fields: date time time-taken c-ip cs-method cs-uri\n"
        "2026-11-03 08:00:01 412 10.1.1.5 GET http://a.example/x\n"
    )
    assert w3c.READER.line_scan(path) is None
    load(path, order="ts, src_ip, dst_port")


def test_a_fields_line_with_bytes_that_are_not_utf8_reads_as_python_does(tmp_path: Path) -> None:
    path = tmp_path / "SG_main.log"
    body = "\n".join([*HEAD, _rec(), _rec(method="GET")]).encode()
    path.write_bytes(body + b"\n#Fields: date time c-ip cs-method cs-host x-\xff\n" + b"x\n")
    report, _ = load(path, order="ts, src_ip, dst_port")
    assert report.rows["w3c"] == 2


def test_problems_from_both_in_line_order(tmp_path: Path) -> None:
    bad_sql = _rec(day="1969-12-31", taken="5")  # before 1970: the sink's rule, in SQL
    bad_py = _rec(client="10.1.1.999")
    path = tmp_path / "SG_main.log"
    path.write_text("\n".join([*HEAD, *[bad_py, bad_sql] * 40]) + "\n")
    report, _ = load(path, order="ts, src_ip, dst_port")
    shown = [p.line for p in report.problems if p.line is not None]
    assert shown == list(range(4, 54))


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "SG_main.log.gz"
    path.write_bytes(gzip.compress(("\n".join([*HEAD, _rec(), _rec(port="-")]) + "\n").encode()))
    _, rows = load(path, order="ts, src_ip, dst_port")
    assert len(rows) == 2


def test_the_generators_rendering_reads_the_same(tmp_path: Path) -> None:
    out = tmp_path / "day"
    generate(out, Scenario(hosts=20, days=0.25, seed=11), network_format="w3c")
    logs = [p for p in out.iterdir() if p.suffix == ".log"]
    assert logs
    _, rows = load(*logs, order="ts, src_ip, dst_port")
    assert len(rows) > 100
    first = (
        logs[0]
        .read_text()
        .splitlines()
        .index(next(ln for ln in logs[0].read_text().splitlines() if ln.startswith("#Fields:")))
    )
    assert python_lines(logs[0], w3c.READER)[0] == first + 1
