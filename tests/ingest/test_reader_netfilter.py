"""Linux netfilter/ufw kernel log lines: detection, the fixtures' mapping, skips, bad lines, syslog
and journal layouts, the year of BSD times, and the hunt over the generator's gateway log compared
with the hunt over its Zeek logs."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from reader_helpers import implant_pairs
from reader_helpers import load as _load
from reader_helpers import problems as _problems

from beaconhunt.cli import main
from beaconhunt.config import HuntSettings
from beaconhunt.ingest.readers import netfilter as nf
from beaconhunt.ingest.readers import network_readers
from beaconhunt.ingest.sniff import sniff
from beaconhunt.model import Decision, Finding
from beaconhunt.pipeline import hunt
from beaconhunt.synth import LOGS, GenerationSummary, Scenario, generate
from beaconhunt.synth.context import LABEL_FIELDS
from beaconhunt.synth.render import netfilter as render_netfilter
from tests.conftest import FIXTURES

NF = FIXTURES / "netfilter"
KERN = NF / "kern.log"
RFC3339 = NF / "messages-rfc3339.log"
JOURNAL = NF / "journal-short-iso.txt"
T0 = 1793692800.0  # 2026-11-03 08:00:00 UTC
#: When the gateway last wrote kern.log (BSD syslog times have no year: it comes from this).
WRITTEN = T0 + 4 * 3600
#: Largest |score difference| allowed between the Zeek and the kernel-log hunt of one implant pair
#: (measured at most 0.112 with BSD times over seeds 3, 7, 11 and
#: 21): the log has no bytes, so the size sub-score (weight 0.20) is neutral, 0.5, where Zeek's
#: is about 0.99: 0.1 of it.
SCORE_TOLERANCE = 0.15
SYN = (
    "LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT={sport} DPT=443 WINDOW=64240 RES=0x00"
    " SYN URGP=0"
)


def _file(tmp_path: Path, text: str, name: str = "kern.log", mtime: float = WRITTEN) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def _kern(tmp_path: Path, mtime: float = WRITTEN) -> Path:
    """The kern.log fixture with the modification time it had on the gateway."""
    path = tmp_path / "kern.log"
    shutil.copyfile(KERN, path)
    os.utime(path, (mtime, mtime))
    return path


def _line(stamp: str, prefix: str = "[UFW ALLOW] ", sport: int = 50000, src: str = "10.1.1.5",
          inside: str = "IN=eth1 OUT=eth0") -> str:  # fmt: skip
    return f"{stamp} {prefix}{inside} SRC={src} DST=203.0.113.9 {SYN.format(sport=sport)}\n"


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [KERN, RFC3339, JOURNAL], ids=lambda p: p.name)
def test_every_layout_is_recognised_by_content(path: Path, tmp_path: Path) -> None:
    assert (sniff(path).kind, sniff(path).log) == ("network", "netfilter")
    renamed = tmp_path / "conn.log"  # the name plays no part
    renamed.write_bytes(path.read_bytes())
    assert sniff(renamed).log == "netfilter"


def test_the_reader_is_registered_under_its_module_name() -> None:
    assert "netfilter" in [r.name for r in network_readers()]
    assert nf.READER.name == "netfilter" and nf.READER.description


def test_a_whole_syslog_with_a_few_firewall_lines_is_read(tmp_path: Path) -> None:
    other = "Nov  3 07:00:00 gw-01 systemd[1]: Starting Daily apt upgrade and clean activities...\n"
    path = _file(tmp_path, other * 300 + _line("Nov  3 08:00:00 gw-01 kernel:"), "syslog")
    assert sniff(path).log == "netfilter"
    report, rows = _load(path)
    assert len(rows) == 1 and report.skipped_records == {"netfilter other log messages": 300}


OTHER_FORMATS = {
    "plain_syslog": "Nov  3 08:00:00 gw-01 sshd[811]: Accepted publickey for deploy from "
    "10.1.1.5 port 50000 ssh2\n",
    "dmesg": "[259200.250000] [UFW ALLOW] IN=eth1 OUT=eth0 SRC=10.1.1.5 DST=203.0.113.9 LEN=52 "
    "PROTO=TCP SPT=50000 DPT=443 SYN\n",
    "suricata_eve": '{"timestamp":"2026-11-03T08:00:00.000000+0000","flow_id":1,'
    '"event_type":"flow","src_ip":"10.1.1.5","src_port":50000,"dest_ip":"203.0.113.9"}\n',
    "squid": "1793692800.123    163 10.1.1.5 TCP_TUNNEL/200 6339 CONNECT c2.example:443 - "
    "HIER_DIRECT/203.0.113.9 -\n",
    "w3c": "#Software: SGOS 6.7\n#Version: 1.0\n#Fields: date time time-taken c-ip sc-status\n",
    "winfw": "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n",
    "panos": "Nov  3 08:00:01 PA-3220 1,2026/11/03 08:00:00,007951000012345,TRAFFIC,end,2560,"
    "2026/11/03 08:00:00,10.1.1.5,203.0.113.9,0.0.0.0,0.0.0.0,allow-web,,,ssl,vsys1\n",
    "nfdump": "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt\n",
    "zeek_tsv": "#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\tid.orig_h\n",
    "labels": ",".join(LABEL_FIELDS) + "\n",
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_claimed(name: str, tmp_path: Path) -> None:
    assert not nf.READER.detect(OTHER_FORMATS[name], _file(tmp_path, OTHER_FORMATS[name]))


# -- the fixtures -------------------------------------------------------------------------------


def test_allowed_connection_starts_map_to_connections(tmp_path: Path) -> None:
    report, rows = _load(_kern(tmp_path))
    assert report.rows["netfilter"] == 14 == len(rows)
    beacon = [r for r in rows if r["dst_ip"] == "203.0.113.9"]
    # "Nov  3 08:00:00", the year from the file's modification time, read as UTC
    assert [r["ts"] - T0 for r in beacon] == [60.0 * i for i in range(10)]
    first = beacon[0]
    assert (first["src_ip"], first["src_port"], first["dst_port"], first["proto"]) == (
        "10.1.1.5", 50000, 443, "tcp",
    )  # fmt: skip
    keys = ("duration", "bytes_out", "bytes_in", "service", "conn_state", "dst_domain", "src_host")
    assert all(r[k] is None for r in rows for k in keys)  # a packet log has none of these
    assert {r["log"] for r in rows} == {"netfilter"}
    by_port = {(r["proto"], r["dst_port"]): r for r in rows}
    dns = by_port[("udp", 53)]
    assert (dns["src_port"], dns["dst_ip"]) == (53001, "192.0.2.53")
    assert by_port[("udp", 123)]["src_ip"] == "10.1.1.12"
    ping = by_port[("icmp", 0)]  # TYPE=8 CODE=0 in the port columns, as Zeek does
    assert (ping["src_port"], ping["dst_ip"]) == (8, "192.0.2.1")


def test_blocked_inbound_audit_and_other_packets_are_skipped_and_counted(tmp_path: Path) -> None:
    report, _ = _load(_kern(tmp_path))
    assert report.skipped_records == {
        "netfilter other log messages": 2,
        "netfilter blocked (log prefix)": 2,  # [UFW BLOCK], [UFW LIMIT BLOCK]
        "netfilter not an allow/accept log prefix": 1,  # [UFW AUDIT]
        "netfilter inbound to the logging host": 1,
        "netfilter not a connection start (TCP without SYN, or with ACK)": 1,
        "netfilter not tcp/udp/icmp": 1,
    }


def test_malformed_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = _kern(tmp_path)
    report, rows = _load(path)
    assert _problems(report) == [
        (23, "not an IP address: '10.1.1.300'"),
        (24, "no DPT="),
        (25, "unreadable time 'Nov 31 08:10:30'"),
    ]
    assert all(str(p).startswith(f"{path}:") for p in report.problems)
    assert len(rows) == 14  # everything else loaded


def test_rfc3339_times_custom_prefixes_and_ipv6() -> None:
    report, rows = _load(RFC3339)
    assert not report.problems and len(rows) == 10
    beacon = [r for r in rows if r["dst_ip"] == "192.0.2.77"]
    # 10:00:00.5+01:00 is 09:00:00.5 UTC
    assert [r["ts"] - T0 for r in beacon] == [3600.5 + 300.0 * i for i in range(8)]
    glued = next(r for r in rows if r["dst_port"] == 443)  # prefix "FW-ACCEPT" touching IN=
    assert (glued["src_ip"], glued["dst_ip"]) == ("10.2.0.8", "198.51.100.81")
    v6 = next(r for r in rows if r["proto"] == "udp")
    assert (v6["src_ip"], v6["dst_ip"], v6["dst_port"]) == ("2001:db8::8", "2001:db8:ffff::53", 53)
    assert report.skipped_records == {
        "netfilter blocked (log prefix)": 1,
        "netfilter other log messages": 1,
    }


def test_journalctl_output_with_its_markers() -> None:
    report, rows = _load(JOURNAL)
    assert [(r["ts"] - T0, r["src_port"]) for r in rows] == [(0, 40000), (20, 40001), (40, 40002)]
    assert report.skipped_records == {"netfilter other log messages": 2}


@pytest.mark.parametrize(
    "stamp",
    [
        "<4>1 2026-11-03T08:00:00.250000Z gw-01 kernel - - -",  # RFC 5424, forwarded
        "<4>Nov  3 08:00:00 gw-01 kernel: [259200.250000]",  # BSD with its <PRI>
        "Nov 03 08:00:00 gw-01 kernel:",  # journalctl -o short
        "2026-11-03T08:00:00.250000+0000 gw-01 kernel:",  # journalctl -o short-iso-precise
        "2026-11-03T09:00:00+01:00 gw-01 kernel:",  # rsyslog RFC 3339
        "1793692800.250000 gw-01 kernel:",  # journalctl -o short-unix
        "2026-11-03T08:00:00 gw-01 kernel:",  # no zone: UTC
    ],
)
def test_syslog_and_journal_layouts(stamp: str, tmp_path: Path) -> None:
    report, rows = _load(_file(tmp_path, _line(stamp)))
    assert not report.problems
    assert [(int(r["ts"]), r["src_port"]) for r in rows] == [(int(T0), 50000)]


@pytest.mark.parametrize(
    ("written", "year"),
    [
        (datetime(2027, 2, 1, tzinfo=UTC), 2026),  # a file of last November, written in February
        (datetime(2026, 11, 3, 8, 5, tzinfo=UTC), 2026),  # written minutes before its last line
        (datetime(2026, 6, 1, tzinfo=UTC), 2025),  # November is after June: the year before
    ],
)
def test_bsd_times_take_the_year_from_the_modification_time(
    written: datetime, year: int, tmp_path: Path
) -> None:
    _, rows = _load(_kern(tmp_path, written.timestamp()))
    assert datetime.fromtimestamp(rows[0]["ts"], UTC) == datetime(year, 11, 3, 8, tzinfo=UTC)


def test_a_file_spanning_new_year(tmp_path: Path) -> None:
    text = _line("Dec 31 23:59:30 gw-01 kernel:", sport=1)
    text += _line("Jan  1 00:00:30 gw-01 kernel:", sport=2)
    path = _file(tmp_path, text, mtime=datetime(2027, 1, 1, 1, tzinfo=UTC).timestamp())
    _, rows = _load(path)
    assert [datetime.fromtimestamp(r["ts"], UTC).isoformat() for r in rows] == [
        "2026-12-31T23:59:30+00:00", "2027-01-01T00:00:30+00:00",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("prefix", "kept"),
    [
        ("[UFW ALLOW] ", True),
        ("nft-accept ", True),
        ("Accepted-Out: ", True),
        ("IPTABLES-ALLOWED:", True),
        ("[UFW BLOCK] ", False),
        ("FW-DROP: ", False),
        ("reject-allow-list ", False),  # a block word wins
        ("[UFW AUDIT] ", False),
        ("OUTBOUND: ", False),
    ],
)
def test_the_log_prefix_decides_allowed_or_blocked(prefix: str, kept: bool, tmp_path: Path) -> None:
    _, rows = _load(_file(tmp_path, _line("Nov  3 08:00:00 gw-01 kernel:", prefix)))
    assert bool(rows) is kept
    assert "ALLOW" in nf.ALLOW_WORDS and "DROP" in nf.BLOCK_WORDS


def test_an_icmp_error_is_read_from_its_own_header_not_the_quoted_one(tmp_path: Path) -> None:
    line = (
        "Nov  3 08:00:00 gw-01 kernel: [UFW ALLOW] IN= OUT=eth0 SRC=10.1.1.5 DST=203.0.113.9 "
        "LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.9 "
        "DST=10.1.1.5 LEN=28 TOS=0x00 PREC=0x00 TTL=50 ID=2 PROTO=UDP SPT=53 DPT=50000 LEN=8 ]\n"
    )
    _, rows = _load(_file(tmp_path, line))
    assert [(r["src_ip"], r["dst_ip"], r["proto"], r["src_port"], r["dst_port"]) for r in rows] == [
        ("10.1.1.5", "203.0.113.9", "icmp", 3, 3)
    ]


def test_the_host_field_is_not_read_as_a_prefix(tmp_path: Path) -> None:
    _, rows = _load(_file(tmp_path, _line("Nov  3 08:00:00 allow-gw kernel:", "FWLOG ")))
    assert rows == []  # "allow-gw" is the host that logged it, not the rule's prefix


def test_gzip_input_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "kern.log.2.gz"
    packed.write_bytes(gzip.compress(KERN.read_bytes(), mtime=0))
    os.utime(packed, (WRITTEN, WRITTEN))
    assert sniff(packed).compressed and sniff(packed).log == "netfilter"
    assert _load(packed)[1] == _load(_kern(tmp_path))[1]


def test_hostile_fields_are_data_never_code(tmp_path: Path) -> None:
    text = (
        _line("Nov  3 08:00:00 gw');--\x1b[2J kernel:", sport=1)
        + _line("Nov  3 08:00:01 gw-01 kernel:", src="10.1.1.5');--\x1b[31m", sport=2)
        + _line("Nov  3 08:00:02 gw-01 kernel:", sport=3).replace("PROTO=TCP", "PROTO=\x1b[0m'")
    )
    report, rows = _load(_file(tmp_path, text))
    assert [r["src_port"] for r in rows] == [1]  # the table is intact, the good line loaded
    messages = [m for _, m in _problems(report)]
    assert len(messages) == 1 and "\x1b" not in messages[0] and "\\x1b[31m" in messages[0]
    assert report.skipped_records == {"netfilter not tcp/udp/icmp": 1}


def test_hunting_the_fixture_finds_the_beacon(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["hunt", str(_kern(tmp_path)), "--format", "ndjson", "-q"])
    assert res.exit_code == 0, res.output
    top = json.loads(res.stdout.splitlines()[0])
    assert (top["src_ip"], top["dst_ip"], top["dst_port"], top["connections"]) == (
        "10.1.1.5", "203.0.113.9", 443, 10,
    )  # fmt: skip
    assert top["first_seen"] == "2026-11-03T08:00:00Z" and top["bytes_out_median"] is None


# -- the renderer and the hunt over it -----------------------------------------------------------


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GenerationSummary]:
    """One small scenario as Zeek logs and as the gateway's kern.log in both layouts."""
    scenario = Scenario.small(seed=7)
    root = tmp_path_factory.mktemp("netfilter-days")
    out = {
        "zeek": generate(root / "zeek", scenario),
        "syslog": generate(root / "syslog", scenario, network_format="netfilter"),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render_netfilter, "render", partial(render_netfilter.render, layout="iso"))
        out["iso"] = generate(root / "iso", scenario, network_format="netfilter")
    return out


def _kern_of(day: GenerationSummary) -> Path:
    return day.out_dir / render_netfilter.FILE_NAME


def test_rendering_is_deterministic_and_in_the_kernels_layout(
    days: dict[str, GenerationSummary], tmp_path: Path
) -> None:
    path = _kern_of(days["syslog"])
    again = generate(tmp_path, Scenario.small(seed=7), network_format="netfilter")
    assert _kern_of(again).read_bytes() == path.read_bytes()
    assert _kern_of(again).stat().st_mtime == path.stat().st_mtime
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Nov  3 06:00:00 gw-01 kernel: [259200.")
    assert all(" [UFW ALLOW] IN=eth1 OUT=eth0 MAC=" in ln for ln in lines)
    last = datetime.strptime("2026 " + lines[-1][:15], "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
    assert 0 < path.stat().st_mtime - last.timestamp() <= 2  # written just after its last line
    iso = _kern_of(days["iso"]).read_text(encoding="utf-8").splitlines()
    assert (
        iso[0].startswith("2026-11-03T06:00:00.") and "+00:00 gw-01 kernel: [UFW ALLOW]" in iso[0]
    )
    assert sniff(path).log == sniff(_kern_of(days["iso"])).log == "netfilter"


@pytest.mark.parametrize("layout", ["syslog", "iso"])
def test_rendering_reads_back_as_the_outbound_zeek_connections(
    days: dict[str, GenerationSummary], layout: str
) -> None:
    _, zeek = _load(days["zeek"].out_dir / "conn.log")
    report, rows = _load(_kern_of(days[layout]))
    outbound = {_key(r) for r in zeek if r["src_ip"].startswith("10.")
                and not r["dst_ip"].startswith("10.")}  # fmt: skip
    assert not report.problems and not report.skipped_records
    assert {_key(r) for r in rows} == outbound and len(rows) == len(outbound)


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["proto"], int(r["ts"]))


@pytest.mark.parametrize("layout", ["syslog", "iso"])
def test_hunting_the_rendering_finds_every_implant_like_zeek(
    days: dict[str, GenerationSummary], layout: str
) -> None:
    zeek_day = days["zeek"].out_dir
    zeek = hunt([zeek_day / f"{name}.log" for name in LOGS], HuntSettings()).findings
    fw = hunt([_kern_of(days[layout])], HuntSettings()).findings
    assert len(_compare(zeek_day, zeek, fw)) >= 5


def _compare(day: Path, zeek: list[Finding], fw: list[Finding]) -> list[tuple[float, float]]:
    """Every implant in both hunts, the score within the tolerance, the size sub-score neutral."""
    out = []
    for lab, z, n in implant_pairs(day / "labels.csv", zeek, fw):
        assert n.dst_ip in lab.addresses and n.dst_domain is None, lab  # keyed by address
        assert abs(z.score - n.score) <= SCORE_TOLERANCE, (lab.kind, z.score, n.score)
        assert n.components is not None and n.components.size == 0.5  # no bytes: neutral
        assert n.decision != Decision.ESCALATE or z.decision == Decision.ESCALATE, lab
        out.append((z.score, n.score))
    return out
