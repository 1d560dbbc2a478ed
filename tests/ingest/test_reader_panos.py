"""PAN-OS traffic logs by syslog: detection, the fixtures' mapping, skips, bad lines, time zones,
and the hunt over the generator's PAN-OS rendering compared with the hunt over its Zeek logs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from reader_helpers import implant_pairs
from reader_helpers import load as _load
from reader_helpers import problems as _problems

from beaconhunt.cli import main
from beaconhunt.config import HuntSettings
from beaconhunt.ingest.readers import network_readers
from beaconhunt.ingest.readers import panos as pan
from beaconhunt.ingest.sniff import sniff
from beaconhunt.model import Decision, Finding
from beaconhunt.pipeline import hunt
from beaconhunt.synth import LOGS, GenerationSummary, Scenario, generate
from beaconhunt.synth.context import LABEL_FIELDS
from beaconhunt.synth.render import panos as render_panos
from tests.conftest import FIXTURES

PAN = FIXTURES / "panos"
SYSLOG = PAN / "traffic-syslog.log"
V102 = PAN / "traffic-10.2-rfc5424.log"
T0 = 1793692800.0  # 2026-11-03 08:00:00 UTC
#: Largest |score difference| allowed between the Zeek and the PAN-OS hunt of one implant pair
#: (measured at most 0.013 over seeds 3, 7, 11 and 21: whole-second start times, header bytes).
SCORE_TOLERANCE = 0.05


def _record(changes: dict[int, str] | None = None) -> str:
    """The fixture's first record without its syslog header, some fields (by position) changed."""
    cells = SYSLOG.read_text(encoding="utf-8").splitlines()[0].split(" PA-3220 ", 1)[1].split(",")
    for pos, value in (changes or {}).items():
        cells[pos] = value
    return ",".join(cells)


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [SYSLOG, V102], ids=lambda p: p.name)
def test_both_layouts_are_recognised_by_content(path: Path, tmp_path: Path) -> None:
    assert (sniff(path).kind, sniff(path).log) == ("network", "panos")
    renamed = tmp_path / "conn.log"  # the name plays no part
    renamed.write_bytes(path.read_bytes())
    assert sniff(renamed).log == "panos"


def test_the_reader_is_registered_under_its_module_name() -> None:
    assert "panos" in [r.name for r in network_readers()]
    assert pan.READER.name == "panos" and pan.READER.description


def test_detected_without_a_syslog_header_and_after_a_broken_first_line(tmp_path: Path) -> None:
    bare = tmp_path / "export.txt"
    bare.write_text("garbage line\n" + _record() + "\n", encoding="utf-8")
    assert sniff(bare).log == "panos"
    report, rows = _load(bare)
    assert len(rows) == 1 and _problems(report) == [(1, "not a PAN-OS log record")]


OTHER_FORMATS = {
    "suricata_eve": '{"timestamp":"2026-11-03T08:00:00.000000+0000","flow_id":1,'
    '"event_type":"flow","src_ip":"10.1.1.5","src_port":50000,"dest_ip":"203.0.113.9",'
    '"dest_port":443,"proto":"TCP"}\n',
    "nfdump": "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt\n"
    "2026-11-03 08:00:00,2026-11-03 08:00:00,0.163,10.1.1.5,203.0.113.9,50000,443,TCP,...AP.SF,"
    "0,0,4,1001\n",
    "squid": "1793692800.123    163 10.1.1.5 TCP_TUNNEL/200 6339 CONNECT c2.example:443 - "
    "HIER_DIRECT/203.0.113.9 -\n",
    "w3c": "#Software: SGOS 6.7\n#Version: 1.0\n#Fields: date time time-taken c-ip sc-status "
    "s-action sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-port\n",
    "winfw": "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
    "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn "
    "tcpack tcpwin icmptype icmpcode info path\n",
    "netfilter": "Nov  3 08:00:00 fw kernel: [UFW ALLOW] IN=eth0 OUT=eth1 SRC=10.1.1.5 "
    "DST=203.0.113.9 LEN=60 TOS=0x00 PROTO=TCP SPT=50000 DPT=443 WINDOW=64240 SYN URGP=0\n",
    # the web interface's CSV export: another column order, not read (module docstring)
    "panos_export": "Receive Time,Serial #,Type,Threat/Content Type,Config Version,Generate Time,"
    "Source address,Destination address,NAT Source IP\n"
    "2026/11/03 08:00:00,013201001234,TRAFFIC,end,2561,2026/11/03 08:00:00,10.1.1.5,203.0.113.9,"
    "198.18.0.10\n",
    "pan_leef": "<14>Nov  3 08:00:00 PA-3220 LEEF:1.0|Palo Alto Networks|PAN-OS Syslog "
    "Integration|10.2|allow|cat=TRAFFIC|src=10.1.1.5|dst=203.0.113.9\n",
    "labels": ",".join(LABEL_FIELDS) + "\n10.1.1.5,ws-005,c2.example,203.0.113.9,443,sliver,"
    "escalate,x.exe,60,0.2,0,30\n",
    "zeek_tsv": "#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\tid.orig_h\n",
    "numbers_csv": "1,2,3,TRAFFIC,5,6,7,8,9\n",
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_claimed(name: str, tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text(OTHER_FORMATS[name], encoding="utf-8")
    assert not pan.READER.detect(OTHER_FORMATS[name], path)


# -- the fixtures -------------------------------------------------------------------------------


def test_end_records_of_allowed_sessions_map_to_connections() -> None:
    report, rows = _load(SYSLOG)
    assert report.rows["panos"] == 14 == len(rows)
    first = rows[0]
    assert first["ts"] == T0  # Start Time "2026/11/03 08:00:00" read as UTC
    assert (first["src_ip"], first["src_port"], first["dst_ip"], first["dst_port"]) == (
        "10.1.1.5", 50000, "203.0.113.9", 443,
    )  # fmt: skip
    assert (first["proto"], first["service"], first["duration"]) == ("tcp", "ssl", 1.0)
    assert (first["bytes_out"], first["bytes_in"]) == (1001, 2390)  # Bytes Sent / Received
    assert (first["log"], first["dst_domain"], first["src_host"], first["conn_state"]) == (
        "panos", None, None, None,
    )  # fmt: skip
    assert not first["proxied"]
    beacon = [r for r in rows if r["dst_ip"] == "203.0.113.9"]
    assert [r["ts"] - T0 for r in beacon] == [60.0 * i for i in range(10)]  # start records skipped
    by_port = {r["dst_port"]: r for r in rows}
    dns = by_port[53]
    assert (dns["proto"], dns["service"], dns["src_ip"], dns["duration"]) == (
        "udp", "dns", "10.1.1.2", 30.0,
    )  # fmt: skip
    assert (by_port[80]["service"], by_port[80]["bytes_in"]) == ("web-browsing", 41200)
    ping = by_port[0]
    assert (ping["proto"], ping["src_port"], ping["dst_ip"]) == ("icmp", 0, "192.0.2.1")


def test_other_records_are_skipped_and_counted_not_reported() -> None:
    report, _ = _load(SYSLOG)
    assert report.skipped_records == {
        "panos session start (counted from its end record)": 2,
        "panos denied (subtype deny)": 1,
        "panos dropped (subtype drop)": 1,
        "panos denied, dropped or reset (action)": 1,
        "panos not tcp/udp/icmp": 1,
        "panos other log types (THREAT)": 1,
        "panos other log types (SYSTEM)": 1,
    }


def test_malformed_lines_are_reported_with_file_and_line() -> None:
    report, rows = _load(SYSLOG)
    assert _problems(report) == [
        (23, "not a PAN-OS log record"),
        (24, "30 fields where a TRAFFIC record has at least 37"),
        (25, "unreadable time '2026/13/45 08:10:20'"),
        (26, "not an IP address: '10.1.1.999'"),
    ]
    assert all(str(p).startswith(f"{SYSLOG}:") for p in report.problems)
    assert len(rows) == 14  # everything else loaded


def test_the_high_resolution_timestamp_gives_the_firewalls_utc_offset() -> None:
    report, rows = _load(V102)
    assert not report.problems and len(rows) == 9
    beacon = [r for r in rows if r["dst_ip"] == "192.0.2.77"]
    # Start Time 10:00:00 local, High Resolution Timestamp ...+01:00: 09:00:00 UTC
    assert [r["ts"] - T0 for r in beacon] == [3600.0 + 300.0 * i for i in range(8)]
    first = beacon[0]
    assert (first["src_port"], first["dst_port"], first["bytes_out"]) == (55000, 8443, 640)


@pytest.mark.parametrize(
    ("hires", "hour"),
    [("2026-11-03T08:00:01.000-05:00", 13.0), ("2026-11-03T08:00:01.000Z", 8.0), ("", 8.0)],
)
def test_start_time_is_local_time_shifted_by_the_offset(
    hires: str, hour: float, tmp_path: Path
) -> None:
    cells = _record().split(",")
    cells += [""] * (103 - len(cells))
    cells[102] = hires
    f = tmp_path / "pan.log"
    f.write_text(",".join(cells) + "\n", encoding="utf-8")
    _, rows = _load(f)
    assert rows[0]["ts"] == T0 + (hour - 8.0) * 3600


def test_quoted_fields_holding_commas(tmp_path: Path) -> None:
    f = tmp_path / "pan.log"
    f.write_text(_record({11: '"allow, then log"', 12: '"acme\\o,brien"'}) + "\n", encoding="utf-8")
    report, rows = _load(f)
    assert not report.problems and rows[0]["dst_port"] == 443


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({24: "x"}, "unreadable source port 'x'"),
        ({25: "70000"}, "destination port '70000' out of range"),
        ({32: "-5"}, "unreadable bytes sent '-5'"),
        ({36: "1.5"}, "unreadable elapsed time '1.5'"),
        ({35: "2026/11/03 24:00:00"}, "unreadable time '2026/11/03 24:00:00'"),
        ({8: ""}, "not an IP address: ''"),
    ],
)
def test_bad_fields(changes: dict[int, str], message: str, tmp_path: Path) -> None:
    f = tmp_path / "pan.log"
    f.write_text(_record() + "\n" + _record(changes) + "\n", encoding="utf-8")
    report, rows = _load(f)
    assert len(rows) == 1 and _problems(report) == [(2, message)]


def test_gzip_input_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "pan-traffic.log.1.gz"
    packed.write_bytes(gzip.compress(SYSLOG.read_bytes(), mtime=0))
    assert sniff(packed).compressed and sniff(packed).log == "panos"
    assert _load(packed)[1] == _load(SYSLOG)[1]


def test_hostile_fields_are_data_never_code(tmp_path: Path) -> None:
    app = "ssl'); DROP TABLE conn;--\x1b[31m"
    f = tmp_path / "evil.log"
    f.write_text(
        _record({14: app}) + "\n"
        + _record({7: "10.1.1.5'); DROP TABLE conn;--"}) + "\n"
        + _record({35: "\x1b[2J2026/11/03 08:00"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    report, rows = _load(f)
    assert [r["service"] for r in rows] == [app]  # stored as written, the table intact
    messages = [m for _, m in _problems(report)]
    assert len(messages) == 2 and all("\x1b" not in m for m in messages)
    assert "\\x1b[2J" in messages[1]


def test_hunting_the_fixture_finds_the_beacon(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["hunt", str(SYSLOG), "--format", "ndjson", "-q"])
    assert res.exit_code == 0, res.output
    top = json.loads(res.stdout.splitlines()[0])
    assert (top["src_ip"], top["dst_ip"], top["dst_domain"], top["dst_port"]) == (
        "10.1.1.5", "203.0.113.9", None, 443,
    )  # fmt: skip
    assert (top["connections"], top["interval_s"], top["bytes_out_median"]) == (10, 60.0, 1001)


# -- the renderer and the hunt over it -----------------------------------------------------------


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GenerationSummary]:
    """One small scenario as Zeek logs and as the edge firewall's PAN-OS traffic log."""
    scenario = Scenario.small(seed=7)
    root = tmp_path_factory.mktemp("panos-days")
    return {
        "zeek": generate(root / "zeek", scenario),
        "panos": generate(root / "panos", scenario, network_format="panos"),
    }


def test_rendering_is_deterministic_and_in_the_pan_os_layout(
    days: dict[str, GenerationSummary], tmp_path: Path
) -> None:
    path = days["panos"].out_dir / render_panos.FILE_NAME
    again = generate(tmp_path, Scenario.small(seed=7), network_format="panos")
    assert (again.out_dir / render_panos.FILE_NAME).read_bytes() == path.read_bytes()
    assert not (days["panos"].out_dir / "conn.log").exists()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Nov  3 06:00:") and " PA-3220 1,2026/11/03 06:00:" in lines[0]
    cells = [ln.split(" PA-3220 ", 1)[1].split(",") for ln in lines]
    assert {len(c) for c in cells} == {115}
    assert {(c[3], c[4], c[30]) for c in cells} == {("TRAFFIC", "end", "allow")}
    assert all(c[102].endswith("+00:00") for c in cells)


def test_rendering_reads_back_as_the_outbound_zeek_connections(
    days: dict[str, GenerationSummary],
) -> None:
    _, zeek = _load(days["zeek"].out_dir / "conn.log")
    report, rows = _load(days["panos"].out_dir / render_panos.FILE_NAME)
    outbound = {_key(r) for r in zeek if r["src_ip"].startswith("10.")
                and not r["dst_ip"].startswith("10.")}  # fmt: skip
    assert not report.problems and not report.skipped_records
    assert {_key(r) for r in rows} == outbound and len(rows) == len(outbound)
    assert all(r["bytes_out"] is not None and r["bytes_in"] is not None for r in rows)


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["proto"], int(r["ts"]))


def test_hunting_the_rendering_finds_every_implant_like_zeek(
    days: dict[str, GenerationSummary],
) -> None:
    zeek_day = days["zeek"].out_dir
    zeek = hunt([zeek_day / f"{name}.log" for name in LOGS], HuntSettings()).findings
    fw = hunt([days["panos"].out_dir / render_panos.FILE_NAME], HuntSettings()).findings
    compared = _compare(zeek_day, zeek, fw)
    assert len(compared) >= 5


def _compare(day: Path, zeek: list[Finding], fw: list[Finding]) -> list[tuple[float, float]]:
    """Every implant in both hunts: same decision, or one Zeek took from DNS evidence."""
    out = []
    for lab, z, n in implant_pairs(day / "labels.csv", zeek, fw):
        assert n.dst_ip in lab.addresses and n.dst_domain is None, lab  # keyed by address
        assert abs(z.score - n.score) <= SCORE_TOLERANCE, (lab.kind, z.score, n.score)
        if n.decision != z.decision:  # without DNS logs there is no dest.no_dns evidence
            assert (z.decision, n.decision) == (Decision.ESCALATE, Decision.MONITOR), lab
            assert "dest.no_dns" in {r.code for r in z.reasons}, lab
        assert n.dst_domain is None  # traffic logs carry no names
        out.append((z.score, n.score))
    return out
