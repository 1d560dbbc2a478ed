"""NetFlow/IPFIX from ``nfdump -o csv`` and generic flow CSV: layouts, pairing, skips, bad lines,
and the hunt over the generator's nfdump rendering compared with the hunt over its Zeek logs."""

from __future__ import annotations

import gzip
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from reader_helpers import implant_pairs
from reader_helpers import load as _load
from reader_helpers import problems as _problems

from beaconhunt.config import HuntSettings
from beaconhunt.ingest.network import FlowSink
from beaconhunt.ingest.readers import network_readers
from beaconhunt.ingest.readers import nfdump as nf
from beaconhunt.ingest.sniff import sniff
from beaconhunt.model import Finding
from beaconhunt.pipeline import hunt
from beaconhunt.synth import LOGS, GenerationSummary, Scenario, generate
from beaconhunt.synth.context import LABEL_FIELDS
from beaconhunt.synth.render import nfdump as render_nfdump
from tests.conftest import FIXTURES

NF = FIXTURES / "nfdump"
V16 = NF / "nfdump-1.6.csv"
V17 = NF / "nfdump-1.7.csv"
VPC = NF / "vpc-flow-logs.log"
GENERIC = NF / "flows-generic.csv"
T0 = 1793692800.0  # 2026-11-03 08:00:00 UTC
#: Largest |score difference| allowed between the Zeek and the nfdump hunt of one implant pair
#: (measured at most 0.013 for the 1.6 layout, 0.012 for 1.7, over seeds 3, 7, 11, 21).
SCORE_TOLERANCE = 0.05


def _conn(rows: list[dict[str, Any]], src_port: int) -> dict[str, Any]:
    return next(r for r in rows if r["src_port"] == src_port)


def _short(row: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("src_ip", "src_port", "dst_ip", "dst_port", "proto", "bytes_out", "bytes_in")
    return tuple(row[k] for k in keys)


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [V16, V17, VPC, GENERIC], ids=lambda p: p.name)
def test_every_layout_is_recognised_by_content(path: Path, tmp_path: Path) -> None:
    assert (sniff(path).kind, sniff(path).log) == ("network", "nfdump")
    renamed = tmp_path / "capture.log.bak"  # the name plays no part
    renamed.write_bytes(path.read_bytes())
    assert sniff(renamed).log == "nfdump"


def test_the_reader_is_registered_under_its_module_name() -> None:
    assert "nfdump" in [r.name for r in network_readers()]
    assert nf.READER.name == "nfdump" and nf.READER.description


OTHER_FORMATS = {
    "suricata_eve": '{"timestamp":"2026-11-03T08:00:00.000000+0000","flow_id":1,'
    '"event_type":"flow","src_ip":"10.1.1.5","src_port":50000,"dest_ip":"203.0.113.9",'
    '"dest_port":443,"proto":"TCP"}\n',
    "squid": "1793692800.123    163 10.1.1.5 TCP_TUNNEL/200 6339 CONNECT c2.example:443 - "
    "HIER_DIRECT/203.0.113.9 -\n",
    "w3c": "#Software: SGOS 6.7\n#Version: 1.0\n#Fields: date time time-taken c-ip sc-status "
    "s-action sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-port\n",
    "winfw": "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
    "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn "
    "tcpack tcpwin icmptype icmpcode info path\n",
    "panos": "1,2026/11/03 08:00:00,007951000012345,TRAFFIC,end,2560,2026/11/03 08:00:00,"
    "10.1.1.5,203.0.113.9,0.0.0.0,0.0.0.0,allow-web,,,ssl,vsys1,trust,untrust,ethernet1/2,"
    "ethernet1/1,forward,2026/11/03 08:00:00,1234,1,50000,443,0,0,0x400000,tcp,allow,3391,1001,"
    "2390,10,2026/11/03 07:59:59,1,any,0,1,0x0,10.0.0.0-10.255.255.255,United States,0,5,5\n",
    "panos_export": "Receive Time,Serial #,Type,Threat/Content Type,Config Version,Generate Time,"
    "Source address,Destination address,NAT Source IP,NAT Destination IP,Rule,Source User,"
    "Destination User,Application,Virtual System,Source Zone,Destination Zone,Inbound Interface,"
    "Outbound Interface,Log Action,Time Logged,Session ID,Repeat Count,Source Port,"
    "Destination Port,NAT Source Port,NAT Destination Port,Flags,IP Protocol,Action,Bytes,"
    "Bytes Sent,Bytes Received,Packets,Start Time,Elapsed Time (sec)\n",
    "netfilter": "Nov  3 08:00:00 fw kernel: [UFW ALLOW] IN=eth0 OUT=eth1 SRC=10.1.1.5 "
    "DST=203.0.113.9 LEN=60 TOS=0x00 PROTO=TCP SPT=50000 DPT=443 WINDOW=64240 SYN URGP=0\n",
    "labels": ",".join(LABEL_FIELDS) + "\n10.1.1.5,ws-005,c2.example,203.0.113.9,443,sliver,"
    "escalate,x.exe,60,0.2,0,30\n",
    "zeek_tsv": "#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\tid.orig_h\n",
    "nfdump_text": "Date first seen          Duration Proto      Src IP Addr:Port          Dst IP "
    "Addr:Port   Packets    Bytes Flows\n2026-11-03 08:00:00.358     0.163 TCP        "
    "10.1.1.5:50000 ->    203.0.113.9:443          4     1001     1\n",
    "some_csv": "time,src,dst,port,bytes\n2026-11-03 08:00:00,10.1.1.5,203.0.113.9,443,1001\n",
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_claimed(name: str, tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text(OTHER_FORMATS[name], encoding="utf-8")
    assert not nf.READER.detect(OTHER_FORMATS[name], path)


# -- nfdump 1.6 ---------------------------------------------------------------------------------


def test_v16_unidirectional_records_pair_into_connections() -> None:
    report, rows = _load(V16)
    assert report.rows["nfdump"] == 16 == len(rows)
    first = _conn(rows, 50000)
    assert first["ts"] == T0  # "2026-11-03 08:00:00" read as UTC
    assert _short(first) == ("10.1.1.5", 50000, "203.0.113.9", 443, "tcp", 1001, 2390)
    assert first["duration"] == pytest.approx(0.42)
    assert (first["log"], first["dst_domain"], first["service"], first["conn_state"]) == (
        "nfdump", None, None, None,
    )  # fmt: skip
    beacon = [r for r in rows if r["dst_ip"] == "203.0.113.9"]
    assert [r["ts"] - T0 for r in beacon] == [60.0 * i for i in range(10)]
    # the 4th pair was exported reply first: still client -> server
    assert _short(_conn(rows, 50003)) == ("10.1.1.5", 50003, "203.0.113.9", 443, "tcp", 1001, 2390)
    # high ports both sides, listed out of time order: the earlier record is the client's
    browse = _conn(rows, 53324)
    assert _short(browse) == ("10.1.1.7", 53324, "198.51.100.80", 8888, "tcp", 1840, 41200)
    assert browse["duration"] == pytest.approx(4.9)  # first start to last end of the two records
    # DNS: the side whose destination port is below 1024 asked
    assert _short(_conn(rows, 53001)) == ("10.1.1.5", 53001, "10.1.1.1", 53, "udp", 71, 87)
    # NTP 123 <-> 123 in the same second: the record read first is the originator's
    assert _short(_conn(rows, 123)) == ("10.1.1.7", 123, "192.0.2.123", 123, "udp", 76, 76)


def test_v16_biflow_one_way_and_lone_reply() -> None:
    _, rows = _load(V16)
    biflow = _conn(rows, 49152)  # opkt/obyt filled: one record is the whole connection
    assert _short(biflow) == ("10.1.1.9", 49152, "198.51.100.7", 8443, "tcp", 1500, 6400)
    assert (biflow["ts"], biflow["duration"]) == (T0 + 240.25, 2.5)
    syn = _conn(rows, 50100)  # never answered: bytes_in unknown
    assert _short(syn) == ("10.1.1.5", 50100, "192.0.2.99", 22, "tcp", 120, None)
    reply = _conn(rows, 51515)  # a reply without its request, turned round
    assert _short(reply) == ("10.1.1.8", 51515, "192.0.2.80", 443, "tcp", None, 5300)


def test_v16_skips_and_summary_are_counted_not_reported() -> None:
    report, _ = _load(V16)
    assert report.skipped_records == {
        "nfdump icmp (no ports)": 1,
        "nfdump not tcp/udp": 1,
        "nfdump dropped (forwarding status)": 1,
    }
    assert not any("Summary" in m or "flows,bytes" in m for _, m in _problems(report))


def test_v16_malformed_lines_are_reported_with_file_and_line() -> None:
    report, rows = _load(V16)
    assert _problems(report) == [
        (34, "5 fields where the header has 48"),
        (35, "unreadable time '2026-13-45 08:07:00'"),
        (36, "not an IP address: '10.1.1.999'"),
    ]
    assert all(str(p).startswith(f"{V16}:") for p in report.problems)
    assert len(rows) == 16  # everything else loaded


def test_v16_without_header_as_nfdump_q_prints_it(tmp_path: Path) -> None:
    lines = V16.read_text(encoding="utf-8").splitlines()
    quiet = tmp_path / "quiet.csv"  # nfdump -q -o csv: no header, no summary
    quiet.write_text("\n".join(lines[1:33]) + "\n", encoding="utf-8")
    assert sniff(quiet).log == "nfdump"
    report, rows = _load(quiet)
    assert len(rows) == 16 and not report.problems
    assert _load(V16)[1] == rows


def test_appended_outputs_repeat_header_and_summary(tmp_path: Path) -> None:
    text = V16.read_text(encoding="utf-8")
    twice = tmp_path / "two-days.csv"
    twice.write_text(text + text.replace("2026-11-03", "2026-11-04"), encoding="utf-8")
    report, rows = _load(twice)
    assert len(rows) == 32 and len(report.problems) == 6


def test_gzip_input_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "nfcapd.202611030800.csv.gz"
    packed.write_bytes(gzip.compress(V16.read_bytes(), mtime=0))
    assert sniff(packed).compressed and sniff(packed).log == "nfdump"
    assert _load(packed)[1] == _load(V16)[1]


# -- nfdump 1.7+ --------------------------------------------------------------------------------


def test_v17_named_columns_with_milliseconds_and_protocol_numbers() -> None:
    report, rows = _load(V17)
    assert len(rows) == 10
    beacon = [r for r in rows if r["dst_port"] == 8888]
    assert len(beacon) == 9
    third = beacon[2]
    assert third["ts"] == T0 + 240.5  # 2026-11-03 08:04:00.500
    assert _short(third) == ("10.1.1.6", 61002, "198.51.100.23", 8888, "tcp", 420, 2300)
    assert third["duration"] == pytest.approx(1.25)
    assert report.skipped_records == {
        "nfdump icmp (no ports)": 1,
        "nfdump aggregated (flows > 1)": 1,
    }
    assert _problems(report) == [
        (24, "no start time (0000-00-00)"),
        (25, "port '70000' out of range"),
        (26, "6 fields where the header has 10"),
    ]


def test_v17_csv_fast_and_epoch_seconds(tmp_path: Path) -> None:
    fast = tmp_path / "fast.csv"  # nfdump -o csv-fast: epoch milliseconds, no duration column
    fast.write_text(
        "cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,"
        "output,flags,srcTos,packets,bytes\n"
        "1,2,1793692800358,1793692800521,6,10.1.1.5,50000,203.0.113.9,443,0,0,1,2,...AP.SF,0,4,1001\n"
        "2,2,1793692800378,1793692800521,6,203.0.113.9,443,10.1.1.5,50000,0,0,2,1,...AP.SF,0,4,2390\n",
        encoding="utf-8",
    )
    raw = tmp_path / "raw.csv"  # -o "csv:%tsr,%td,%pr,%sa,%sp,%da,%dp,%byt"
    raw.write_text(
        "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,bytes\n"
        "1793692800.358,0.163,6,10.1.1.5,50000,203.0.113.9,443,1001\n",
        encoding="utf-8",
    )
    _, rows = _load(fast)
    assert [(r["ts"], round(r["duration"], 3), r["bytes_out"], r["bytes_in"]) for r in rows] == [
        (T0 + 0.358, 0.163, 1001, 2390)
    ]
    _, rows = _load(raw)
    assert [(r["ts"], r["bytes_out"], r["bytes_in"]) for r in rows] == [(T0 + 0.358, 1001, None)]


# -- generic flow CSV ---------------------------------------------------------------------------


def test_aws_vpc_flow_logs_pair_both_directions_and_skip_reject_and_nodata() -> None:
    report, rows = _load(VPC)
    assert len(rows) == 9
    first = rows[0]
    assert first["ts"] == T0 and first["duration"] == 30.0
    assert _short(first) == ("10.0.1.5", 49200, "203.0.113.50", 443, "tcp", 1800, 5200)
    assert _short(_conn(rows, 51000)) == ("10.0.1.5", 51000, "10.0.0.2", 53, "udp", 70, 130)
    assert report.skipped_records == {
        "nfdump rejected or denied": 1,
        "nfdump no data (log status)": 1,
    }
    assert _problems(report) == [(22, "unreadable time 'yesterday'")]


def test_generic_bidirectional_csv_with_iso_times() -> None:
    report, rows = _load(GENERIC)
    assert len(rows) == 9
    beacon = [r for r in rows if r["dst_ip"] == "192.0.2.77"]
    assert [r["ts"] - T0 for r in beacon] == [3600.0 + 300.0 * i for i in range(8)]
    assert _short(beacon[0]) == ("10.2.0.8", 55000, "192.0.2.77", 8443, "tcp", 640, 3100)
    assert beacon[0]["duration"] == 2.0
    offset = _conn(rows, 55100)  # 09:41:00+01:00 is 08:41:00 UTC
    assert offset["ts"] == T0 + 41 * 60 and offset["bytes_in"] == 230000
    assert _problems(report) == [(11, "port '99999' out of range")]


def test_generic_header_names_are_a_fixed_list() -> None:
    ok = "Timestamp,SrcAddr,DstAddr,Src-Port,Dst Port,Protocol,Bytes"
    assert nf.layout_of(ok) is not None
    for missing in ("bytes", "protocol", "dst port", "srcaddr", "timestamp"):
        names = [n for n in ok.split(",") if n.lower().replace("-", " ") != missing]
        assert nf.layout_of(",".join(names)) is None, missing
    # near misses are not guessed (Splunk CIM, ECS names)
    assert nf.layout_of("_time,src_ip,src_port,dest_ip,dest_port,transport,bytes_out") is None


# -- pairing ------------------------------------------------------------------------------------


def _pairer() -> tuple[nf._Pairer, list[tuple[Any, ...]]]:
    out: list[tuple[Any, ...]] = []

    def keep(cols: dict[str, list[Any]]) -> int:
        out.extend(zip(cols["src_port"], cols["dst_port"], cols["bytes_out"], cols["bytes_in"],
                       strict=True))  # fmt: skip
        return len(cols["ts"])

    return nf._Pairer(FlowSink("f", "nfdump", keep, lambda c: 0, batch=1)), out


def _flow(ts: float, sport: int, dport: int, fwd: int = 100, reply: bool = False) -> nf._Flow:
    a, b = ("10.0.0.1", "192.0.2.1") if not reply else ("192.0.2.1", "10.0.0.1")
    return nf._Flow(ts, 0.5, a, sport, b, dport, "tcp", fwd, None)


def test_records_too_far_apart_in_time_do_not_pair() -> None:
    pairer, out = _pairer()
    pairer.add(_flow(T0, 40000, 8080))
    pairer.add(_flow(T0 + 100, 8080, 40000, 900, reply=True))  # same 5-tuple reversed, no overlap
    pairer.finish()
    assert sorted(out) == [(8080, 40000, 900, None), (40000, 8080, 100, None)]


def test_a_record_is_given_up_after_the_pairing_window() -> None:
    pairer, out = _pairer()
    pairer.add(_flow(T0, 40000, 8080))
    pairer.add(_flow(T0 + nf.PAIR_WINDOW - 10, 40001, 8080))
    assert out == []  # still waiting
    pairer.add(_flow(T0 + nf.PAIR_WINDOW + 10, 40002, 8080))
    assert out == [(40000, 8080, 100, None)]


def test_pending_records_are_bounded_whatever_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nf, "MAX_PENDING", 50)
    pairer, out = _pairer()
    for i in range(1000):  # never answered, all inside the window
        pairer.add(_flow(T0 + i * 0.01, 10000 + i, 443))
        pairer.add(_flow(T0 + i * 0.01, 443, 30000 + i, reply=True))  # nor these
        assert len(pairer.heap) <= 50
    pairer.finish()
    assert len(out) == 2000 and not pairer.pending


# -- hostile input ------------------------------------------------------------------------------


def test_hostile_fields_are_data_never_code(tmp_path: Path) -> None:
    evil = tmp_path / "evil.csv"
    evil.write_text(
        "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n"
        "2026-11-03 08:00:00.000,0.1,6,10.1.1.5'); DROP TABLE conn;--,1,203.0.113.9,443,1,60,1\n"
        "2026-11-03 08:00:01.000,0.1,\x1b[2J\x1b[31mTCP,10.1.1.5,2,203.0.113.9,443,1,60,1\n"
        '2026-11-03 08:00:02.000,0.1,6,"10.1.1.5,\'",3,203.0.113.9,443,1,60,1\n'
        "2026-11-03 08:00:03.000,0.1,6,10.1.1.5,4,203.0.113.9,443,1,60,1\n",
        encoding="utf-8",
    )
    report, rows = _load(evil)
    assert [r["src_port"] for r in rows] == [4]  # the table is intact, the good row loaded
    messages = [m for _, m in _problems(report)]
    assert len(messages) == 3
    assert all("\x1b" not in m for m in messages)  # escapes shown, never sent to a terminal
    assert "\\x1b[2J" in messages[1]


# -- the renderer and the hunt over it -----------------------------------------------------------


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GenerationSummary]:
    """One small scenario as Zeek logs and as nfdump CSV in both layouts."""
    scenario = Scenario.small(seed=7)
    root = tmp_path_factory.mktemp("nfdump-days")
    out = {
        "zeek": generate(root / "zeek", scenario),
        "1.6": generate(root / "v16", scenario, network_format="nfdump"),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render_nfdump, "render", partial(render_nfdump.render, layout="1.7"))
        out["1.7"] = generate(root / "v17", scenario, network_format="nfdump")
    return out


def test_rendering_is_deterministic_and_in_nfdump_layout(
    days: dict[str, GenerationSummary], tmp_path: Path
) -> None:
    path = days["1.6"].out_dir / render_nfdump.FILE_NAME
    again = generate(tmp_path, Scenario.small(seed=7), network_format="nfdump")
    assert (again.out_dir / render_nfdump.FILE_NAME).read_bytes() == path.read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == nf.V16_HEADER and lines[-3:-1] == [
        "Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp",
    ]  # fmt: skip
    assert {len(ln.split(",")) for ln in lines[1:-3]} == {48}
    assert int(lines[-1].split(",")[0]) == len(lines) - 4  # flows in the summary
    v17 = (days["1.7"].out_dir / render_nfdump.FILE_NAME).read_text(encoding="utf-8")
    assert v17.splitlines()[0] == render_nfdump.V17_HEADER and "Summary" not in v17


@pytest.mark.parametrize("layout", ["1.6", "1.7"])
def test_rendering_reads_back_as_the_zeek_connections(
    days: dict[str, GenerationSummary], layout: str
) -> None:
    zeek = {_key(r) for r in _load(days["zeek"].out_dir / "conn.log")[1]}
    report, rows = _load(days[layout].out_dir / render_nfdump.FILE_NAME)
    assert not report.problems and len(rows) == days["zeek"].counts["conn"]
    assert {_key(r) for r in rows} == zeek  # every pair put back client -> server
    assert all(r["bytes_in"] is not None for r in rows)  # every answered connection paired


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["proto"])


@pytest.fixture(scope="module")
def zeek_findings(days: dict[str, GenerationSummary]) -> list[Finding]:
    day = days["zeek"].out_dir
    return hunt([day / f"{name}.log" for name in LOGS], HuntSettings()).findings


@pytest.mark.parametrize("layout", ["1.6", "1.7"])
def test_hunting_the_nfdump_rendering_finds_every_implant_like_zeek(
    days: dict[str, GenerationSummary], zeek_findings: list[Finding], layout: str
) -> None:
    day = days[layout].out_dir
    flows = hunt([day / render_nfdump.FILE_NAME], HuntSettings()).findings
    pairs = implant_pairs(days["zeek"].out_dir / "labels.csv", zeek_findings, flows)
    assert len(pairs) >= 5
    for lab, z, n in pairs:
        assert n.dst_ip in lab.addresses, lab  # keyed by address
        assert abs(z.score - n.score) <= SCORE_TOLERANCE, (lab.kind, z.score, n.score)
        assert n.dst_domain is None  # flows carry no names
