"""What the reader fuzzing found (issue 13 item 5), one plain test per bug, each failing
before its fix: numbers too large for the store's columns crashed the load (pyarrow's
``OverflowError``, or DuckDB aborting the import), a quote left open swallowed the rest
of a mapped CSV, non-object tls/http events vanished uncounted, and a malformed PAN-OS
timestamp was accepted or not depending on the line before it, a damaged ``#fields``
header stopped the whole load, and a JSON number of 4,300+ digits (Python's limit on
integer conversion raises ``ValueError``, not ``JSONDecodeError``) stopped it too.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from beaconhunt.ingest.loader import LoadReport
from beaconhunt.ingest.readers.panos import READER as PANOS
from tests.conftest import FIXTURES
from tests.fuzz.cases import by_name, read_direct
from tests.ingest.reader_helpers import load

HUGE = "9" * 30  # more than a BIGINT (and so an INTEGER port) holds
BIGINT_PLUS_ONE = str(1 << 63)


def _lines(fixture: str) -> list[str]:
    return (FIXTURES / fixture).read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _bad_lines(report: LoadReport, path: Path) -> list[int | None]:
    return [p.line for p in report.problems if p.file == str(path)]


def _field(line: str, sep: str, i: int, value: str) -> str:
    cells = line.split(sep)
    cells[i] = value
    return sep.join(cells)


# -- numbers larger than the store holds ------------------------------------------------------


def test_suricata_port_and_byte_count_beyond_the_store_are_bad_lines(tmp_path: Path) -> None:
    first = next(ln for ln in _lines("suricata/eve.json") if '"event_type":"flow"' in ln)
    port, count = json.loads(first), json.loads(first)
    port["src_port"] = 10**30
    count["flow"]["bytes_toserver"] = 1 << 63
    path = _write(tmp_path / "eve.json", [first, json.dumps(port), json.dumps(count)])
    report, rows = load(path)
    assert len(rows) == 1
    assert _bad_lines(report, path) == [2, 3]


def test_squid_size_and_elapsed_beyond_the_store_are_bad_lines(tmp_path: Path) -> None:
    good = _lines("squid/access.log")[0]
    size = _field(good, " ", good.split(" ").index("4823"), HUGE)
    elapsed = good.replace("    412 ", " " + "9" * 400 + " ", 1)
    path = _write(tmp_path / "access.log", [good, size, elapsed])
    report, rows = load(path)
    assert len(rows) == 1
    assert _bad_lines(report, path) == [2, 3]


def test_w3c_bytes_and_time_taken_beyond_the_store_are_bad_lines(tmp_path: Path) -> None:
    lines = _lines("w3c/proxysg_main.log")
    head, good = lines[:6], lines[6]
    path = _write(
        tmp_path / "proxy.log",
        [*head, good, good.replace(" 4823 1180 ", f" {HUGE} 1180 "),
         good.replace(" 412 ", " " + "9" * 400 + " ", 1)],
    )  # fmt: skip
    report, rows = load(path)
    assert len(rows) == 1
    assert _bad_lines(report, path) == [8, 9]


def test_winfw_icmp_type_beyond_a_byte_is_a_bad_line(tmp_path: Path) -> None:
    lines = _lines("winfw/pfirewall.log")
    icmp = next(ln for ln in lines if " ICMP " in ln)
    path = _write(
        tmp_path / "pfirewall.log", [*lines[:4], icmp, icmp.replace(" 8 0 ", f" {HUGE} 0 ")]
    )
    report, rows = load(path)
    assert len(rows) == 1
    assert _bad_lines(report, path) == [6]


def test_netfilter_icmp_type_beyond_a_byte_is_a_bad_line(tmp_path: Path) -> None:
    icmp = next(ln for ln in _lines("netfilter/kern.log") if "PROTO=ICMP TYPE=8" in ln)
    path = _write(tmp_path / "kern.log", [icmp, icmp.replace("TYPE=8", f"TYPE={HUGE}")])
    report, rows = load(path)
    assert len(rows) == 1
    assert _bad_lines(report, path) == [2]


def test_panos_and_nfdump_count_of_two_to_the_63_is_a_bad_line(tmp_path: Path) -> None:
    # the bound was 2**63 inclusive: one more than a BIGINT holds
    panos = _lines("panos/traffic-syslog.log")[0]
    bad = _field(panos, ",", 32, BIGINT_PLUS_ONE)  # bytes sent (after the syslog header)
    path = _write(tmp_path / "traffic.log", [panos, bad])
    report, rows = load(path)
    assert len(rows) == 1 and _bad_lines(report, path) == [2]
    head, flow = _lines("nfdump/flows-generic.csv")[:2]
    path = _write(tmp_path / "flows.csv", [head, flow, _field(flow, ",", 7, BIGINT_PLUS_ONE)])
    report, rows = load(path)
    assert len(rows) == 1 and _bad_lines(report, path) == [3]


def test_mapped_byte_count_written_as_1e308_is_a_bad_line(tmp_path: Path) -> None:
    case = by_name("mapped-csv")
    head, good = _lines("mapped/splunk_network_traffic.csv")[:2]
    path = _write(tmp_path / "export.csv", [head, good, _field(good, ",", 7, "1e308")])
    out = read_direct(case, path)  # a mapping is only used when the config names it
    assert (len(out.rows), out.bad_lines) == (1, [3])


@pytest.mark.parametrize(
    ("field", "value"),
    [("orig_bytes", "NaN"), ("orig_bytes", "Infinity"), ("duration", "1" + "0" * 400),
     ("id.orig_p", HUGE), ("ts", "1" + "0" * 400), ("orig_bytes", "9" * 5000)],
)  # fmt: skip
def test_zeek_json_numbers_no_column_holds(tmp_path: Path, field: str, value: str) -> None:
    good = _lines("zeek/json/conn.log")[0]
    obj = json.loads(good)
    obj[field] = "@@"
    bad = json.dumps(obj).replace('"@@"', value)
    path = _write(tmp_path / "conn.log", [good, bad])
    report, rows = load(path)
    kept = 2 if value in ("NaN", "Infinity") else 1  # not a number: the field is unknown
    assert len(rows) == kept
    assert _bad_lines(report, path) == ([] if kept == 2 else [2])


# -- lines lost or not counted ----------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "cell", "value"), [
    ("nfdump/vpc-flow-logs.log", 10, "1e309"),  # start: infinite epoch seconds
    ("nfdump/nfdump-1.7.csv", 0, "inf"),
    ("nfdump/nfdump-1.7.csv", 1, "1e999"),  # duration
])  # fmt: skip
def test_nfdump_infinite_time_is_a_bad_line_not_lost(
    tmp_path: Path, fixture: str, cell: int, value: str
) -> None:
    # a one-way record ending at infinity waited for its reverse forever: never stored,
    # never counted
    head, good = _lines(fixture)[:2]
    sep = " " if " " in head else ","
    path = _write(tmp_path / Path(fixture).name, [head, good, _field(good, sep, cell, value)])
    out = read_direct(by_name("aws-vpc"), path)
    assert (len(out.rows), out.bad_lines) == (1, [3])


def test_mapped_csv_open_quote_costs_its_line_only(tmp_path: Path) -> None:
    case = by_name("mapped-csv")
    lines = _lines("mapped/splunk_network_traffic.csv")
    head, good = lines[0], lines[1:6]
    path = _write(tmp_path / "export.csv", [head, good[0], '"' + good[1], *good[2:]])
    out = read_direct(case, path)
    assert len(out.rows) == 4  # the four lines after the open quote are kept
    assert out.bad + out.skips == 1


def test_mapped_csv_open_quote_before_a_long_tail_is_not_a_crash(tmp_path: Path) -> None:
    case = by_name("mapped-csv")
    head, good = _lines("mapped/splunk_network_traffic.csv")[:2]
    path = _write(tmp_path / "export.csv", [head, good, '"' + "A" * 140_000, good])
    out = read_direct(case, path)  # csv's 128 KiB field limit: csv.Error escaped
    assert len(out.rows) == 2 and out.bad == 1


def test_mapped_jsonl_number_of_5000_digits_is_a_bad_line(tmp_path: Path) -> None:
    case = by_name("mapped-jsonl")
    good = _lines("mapped/ecs_network.ndjson")[0]
    bad = good.replace('"port": 52000', '"port": ' + "9" * 5000)
    out = read_direct(case, _write(tmp_path / "ecs.ndjson", [good, bad]))
    assert (len(out.rows), out.bad_lines) == (1, [2])


def test_zeek_json_damaged_gzip_member_keeps_what_came_before(tmp_path: Path) -> None:
    # zlib.error is not an OSError: it escaped read_json_records (found by atheris)
    data = (FIXTURES / "zeek/json/conn.log").read_bytes() * 10
    stored_block_with_bad_lengths = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 5
    path = tmp_path / "conn.log.gz"
    path.write_bytes(gzip.compress(data, mtime=0) + stored_block_with_bad_lengths)
    report, rows = load(path)
    assert rows
    [problem] = report.problems
    assert "stopped reading" in problem.message and "data before it is kept" in problem.message


@pytest.mark.parametrize("event", ["tls", "http"])
def test_suricata_tls_or_http_event_without_its_object_is_a_bad_line(
    tmp_path: Path, event: str
) -> None:
    first = next(ln for ln in _lines("suricata/eve.json") if '"event_type":"flow"' in ln)
    obj = json.loads(first) | {"event_type": event, event: "[bold]"}
    del obj["flow"]
    path = _write(tmp_path / "eve.json", [first, json.dumps(obj, separators=(",", ":"))])
    report, rows = load(path)
    assert len(rows) == 1
    assert [(p.line, p.message) for p in report.problems] == [
        (2, f"{event} event without a{'n' if event == 'http' else ''} '{event}' object")
    ]


def test_panos_malformed_timestamp_is_bad_whatever_came_before(tmp_path: Path) -> None:
    # the UTC offset was cached by zone: after a good line with the same zone, a
    # malformed High Resolution Timestamp was accepted; alone, it was a bad line
    good = _lines("panos/traffic-10.2-rfc5424.log")[0]
    bad = good.replace("T10:00:02.250+01:00", "T\x0010:00:02.250+01:00")
    assert bad != good
    for order, expected in (([good, bad], [2]), ([bad], [1])):
        path = _write(tmp_path / "traffic.log", order)
        out = read_direct(by_name("panos-rfc5424"), path)
        assert out.bad_lines == expected
    assert PANOS.name == "panos"


# -- found by the fuzzer, fixed with these tests ---------------------------------------------


def test_zeek_tsv_damaged_fields_header_costs_its_file_only(tmp_path: Path) -> None:
    lines = _lines("zeek/basic/conn.log")
    damaged = [ln.replace("\tuid\t", "\tset[string]\t") if ln.startswith("#fields") else ln
               for ln in lines]  # fmt: skip
    path = _write(tmp_path / "conn.log", damaged)
    (tmp_path / "good").mkdir()
    report, rows = load(path, _write(tmp_path / "good" / "conn.log", lines))
    assert len(rows) == 53  # the other file's
    assert any(p.file == str(path) for p in report.problems)


def test_sysmon_number_of_5000_digits_is_a_bad_line(tmp_path: Path) -> None:
    good = _lines("sysmon/evtx_dump.jsonl")[0]
    path = _write(
        tmp_path / "sysmon.jsonl", [good, '{"Event": {"System": {"EventID": ' + "9" * 5000 + "}}}"]
    )
    report, _ = load(path)
    assert _bad_lines(report, path) == [2]


def test_first_line_with_a_number_of_5000_digits_does_not_stop_the_load(tmp_path: Path) -> None:
    good = _lines("zeek/json/conn.log")[0]
    path = _write(tmp_path / "conn.log", ['{"ts": ' + "9" * 5000 + ', "uid": "C1"}', good])
    _report, rows = load(path)
    assert len(rows) == 1
