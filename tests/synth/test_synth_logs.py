"""The generated Zeek logs have Zeek's exact layout and are internally consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
from synth_helpers import ZeekTsv

from beaconhunt.synth import SCHEMAS, GenerationSummary, Scenario

LOGS = ("conn", "dns", "ssl", "http")

# The header block Zeek writes before #path (byte-exact, including "#separator \x09").
PREAMBLE = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-"]

# conn.log #fields/#types exactly as Zeek 5/6 writes them (RITA test data).
CONN_FIELDS = (
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    "\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory"
    "\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents"
)
CONN_TYPES = (
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring"
    "\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]"
)


@pytest.mark.parametrize("name", LOGS)
def test_header_block_is_zeeks(small_logs: dict[str, ZeekTsv], name: str) -> None:
    log = small_logs[name]
    assert log.header[:4] == PREAMBLE
    assert log.header[4] == f"#path\t{name}"
    assert log.header[5] == "#open\t2026-11-03-06-00-00"
    assert list(zip(log.fields, log.types, strict=True)) == SCHEMAS[name]
    assert log.footer == ["#close\t2026-11-03-12-00-00"]


def test_conn_header_matches_zeek_literally(small_logs: dict[str, ZeekTsv]) -> None:
    assert "\t".join(["#fields", *small_logs["conn"].fields]) == CONN_FIELDS
    assert "\t".join(["#types", *small_logs["conn"].types]) == CONN_TYPES


@pytest.mark.parametrize("name", LOGS)
def test_header_matches_real_zeek_sample(
    small_tsv: GenerationSummary, samples: Path, name: str
) -> None:
    real = (samples / "rita-proxy-beacon" / f"{name}.log").read_text().splitlines()
    ours = (small_tsv.out_dir / f"{name}.log").read_text().splitlines()
    assert ours[:5] == real[:5]
    assert ours[6:8] == real[6:8]


@pytest.mark.parametrize("name", LOGS)
def test_every_row_has_every_column_and_valid_values(
    small_logs: dict[str, ZeekTsv], name: str
) -> None:
    log = small_logs[name]
    assert log.rows, f"{name}.log is empty"
    for field, ztype in zip(log.fields, log.types, strict=True):
        values = log.column(field)
        assert all(v != "" for v in values), f"{field} has empty text (should be - or (empty))"
        if ztype in ("time", "interval"):
            assert all(v == "-" or float(v) >= 0 for v in values), field
        if ztype in ("count", "port"):
            assert all(v == "-" or v.isdigit() for v in values), field
        if ztype == "bool":
            assert set(values) <= {"T", "F", "-"}, field


@pytest.mark.parametrize("name", LOGS)
def test_timestamps_within_scenario(
    small_logs: dict[str, ZeekTsv], small_scenario: Scenario, name: str
) -> None:
    ts = [float(t) for t in small_logs[name].column("ts")]
    assert small_scenario.start <= min(ts)
    assert max(ts) < small_scenario.end + 5.0  # app records follow their connection closely


def test_conn_timestamps_strictly_inside(
    small_logs: dict[str, ZeekTsv], small_scenario: Scenario
) -> None:
    ts = [float(t) for t in small_logs["conn"].column("ts")]
    assert small_scenario.start <= min(ts) and max(ts) < small_scenario.end


def test_conn_uids_unique_and_zeek_shaped(small_logs: dict[str, ZeekTsv]) -> None:
    uids = small_logs["conn"].column("uid")
    assert len(set(uids)) == len(uids)
    assert all(len(u) == 18 and u[0] == "C" and u.isalnum() for u in uids)


@pytest.mark.parametrize("name", ["dns", "ssl", "http"])
def test_app_records_point_at_their_connection(small_logs: dict[str, ZeekTsv], name: str) -> None:
    conn = {r["uid"]: r for r in small_logs["conn"].records()}
    keys = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
    for rec in small_logs[name].records():
        c = conn[rec["uid"]]
        assert tuple(rec[k] for k in keys) == tuple(c[k] for k in keys)
        assert float(rec["ts"]) >= float(c["ts"])
        expected = {"dns": "dns", "ssl": "ssl", "http": "http"}[name]
        assert c["service"] == expected


def test_every_tls_and_http_connection_has_its_record(small_logs: dict[str, ZeekTsv]) -> None:
    conn = small_logs["conn"].records()
    for service, log in (("ssl", "ssl"), ("http", "http"), ("dns", "dns")):
        want = {r["uid"] for r in conn if r["service"] == service}
        assert want == set(small_logs[log].column("uid")), service


def test_dns_answers_and_ttls_line_up(small_logs: dict[str, ZeekTsv]) -> None:
    for rec in small_logs["dns"].records():
        answers, ttls = rec["answers"].split(","), rec["TTLs"].split(",")
        assert len(answers) == len(ttls) >= 1
        assert rec["qtype_name"] == "A" and rec["rcode_name"] == "NOERROR"


def test_connections_to_names_follow_a_recent_lookup(small_logs: dict[str, ZeekTsv]) -> None:
    """Every TLS connection with an SNI goes to an address DNS gave that host."""
    answered: dict[tuple[str, str], set[str]] = {}
    for rec in small_logs["dns"].records():
        ips = {a for a in rec["answers"].split(",") if a[0].isdigit()}
        answered.setdefault((rec["id.orig_h"], rec["query"]), set()).update(ips)
    conn = {r["uid"]: r for r in small_logs["conn"].records()}
    checked = 0
    for rec in small_logs["ssl"].records():
        key = (rec["id.orig_h"], rec["server_name"])
        if rec["server_name"] != "-" and key in answered:
            assert conn[rec["uid"]]["id.resp_h"] in answered[key]
            checked += 1
    assert checked > 100


def test_internal_traffic_is_marked_local(small_logs: dict[str, ZeekTsv]) -> None:
    recs = small_logs["conn"].records()
    assert all(r["local_orig"] == "T" for r in recs)
    internal = [r for r in recs if r["local_resp"] == "T"]
    assert internal and all(r["id.resp_h"].startswith("10.") for r in internal)
    assert {r["id.resp_p"] for r in internal} >= {"53", "445"}
