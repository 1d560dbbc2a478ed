"""W3C extended web proxy logs: detection, the ProxySG and TMG fixtures' mapping, IIS and WSA
variants, headers that repeat and change, skips, bad lines, hostile values, and the hunt over the
generator's ProxySG rendering compared with the hunt over its Zeek logs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from reader_helpers import load
from reader_helpers import problems as _problems

from beaconhunt.cli import main
from beaconhunt.config import HuntSettings
from beaconhunt.ingest.loader import LoadReport
from beaconhunt.ingest.readers import network_readers, w3c
from beaconhunt.ingest.sniff import sniff
from beaconhunt.model import Finding
from beaconhunt.pipeline import hunt
from beaconhunt.synth import LOGS, GenerationSummary, Scenario, generate
from beaconhunt.synth.context import LABEL_FIELDS
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.render import squid as render_squid
from beaconhunt.synth.render import w3c as render_w3c
from tests.conftest import FIXTURES

W3C = FIXTURES / "w3c"
PROXYSG = W3C / "proxysg_main.log"
TMG = W3C / "tmg_webproxy.w3c"
T0 = 1793692800.0  # 2026-11-03 08:00:00 UTC
#: Largest |score difference| allowed between the Zeek and the W3C hunt of one implant pair
#: (measured at most 0.003 over seeds 3, 7, 11 and 21: end times are whole seconds).
SCORE_TOLERANCE = 0.02

IIS = """#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2026-11-03 08:00:00
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip \
cs(User-Agent) cs(Referer) cs(Host) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes \
time-taken
2026-11-03 08:00:01 10.1.1.250 GET /poll id=7 8080 - 10.1.1.5 Mozilla/5.0+(Windows+NT+10.0) - \
c2.badsite.example:8443 200 0 0 2311 512 1000
2026-11-03 08:00:02 10.1.1.250 GET /index.html - 8080 - 10.1.1.6 curl/8.5.0 - - 200 0 0 512 90 5
"""
WSA = """#Version: 1.0
#Date: 2009-06-15 13:55:20
#System: 10.1.1.1 - wsa.qa
#Software: AsyncOS for Web 6.3.0
#Fields: timestamp x-elapsed-time c-ip x-resultcode-httpstatus sc-bytes cs-method cs-url \
cs-username x-hierarchy-origin cs-mime-type x-acltag x-result-code x-suspect-user-agent
1793692800.250 250 10.1.1.5 TCP_MISS/200 8187 CONNECT tunnel://c2.badsite.example:443/ - \
DIRECT/203.0.113.9 - DEFAULT_CASE_11-Policy TCP_MISS -
1793692801.100 100 10.1.1.6 TCP_DENIED/403 0 GET http://casino.example/ - NONE/- - \
BLOCK_WEBCAT_12-Policy TCP_DENIED -
1793692802.100 100 10.1.1.6 TCP_DENIED/407 0 GET http://www.example.com/ - NONE/- - \
DEFAULT_CASE_11-Policy TCP_DENIED -
1793692803.100 100 10.1.1.6 TCP_MISS/200 1200 GET http://www.example.com/a - \
DEFAULT_PARENT/192.0.2.200 text/html DEFAULT_CASE_11-Policy TCP_MISS -
"""


def _load(*paths: Path) -> tuple[LoadReport, list[dict[str, Any]]]:
    return load(*paths, order="ts, src_ip, dst_port")


def _short(row: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("src_ip", "dst_ip", "dst_port", "dst_domain", "domain_source", "bytes_out", "bytes_in")
    return tuple(row[k] for k in keys)


def _write(tmp_path: Path, text: str, name: str = "proxy.log") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [PROXYSG.read_text(), TMG.read_text(), IIS, WSA])
def test_every_variant_is_recognised_by_content(text: str, tmp_path: Path) -> None:
    path = _write(tmp_path, text, "capture.txt")  # the name plays no part
    assert (sniff(path).kind, sniff(path).log) == ("network", "w3c")


def test_the_reader_is_registered_under_its_module_name() -> None:
    assert "w3c" in [r.name for r in network_readers()]
    assert w3c.READER.name == "w3c" and w3c.READER.description


OTHER_FORMATS = {
    "winfw": "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
    "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn "
    "tcpack tcpwin icmptype icmpcode info path\n2026-11-03 08:00:00 ALLOW TCP 10.1.1.5 "
    "203.0.113.9 50000 443 0 - - - - - - - SEND\n",
    "zeek_tsv": "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
    "#path\thttp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tmethod\thost\turi\n",
    "no_method": "#Version: 1.0\n#Fields: date time c-ip cs-host sc-bytes\n",
    "no_client": "#Version: 1.0\n#Fields: date time cs-method cs-host sc-bytes\n",
    "no_time": "#Version: 1.0\n#Fields: c-ip cs-method cs-host sc-bytes\n",
    "no_host": "#Version: 1.0\n#Fields: date time c-ip cs-method sc-bytes\n",
    "fields_not_first": "Notes on our proxy\n#Fields: date time c-ip cs-method cs-host\n",
    "squid": "1793692800.412    412 10.1.1.5 TCP_TUNNEL/200 4823 CONNECT c2.example:443 - "
    "HIER_DIRECT/203.0.113.9 -\n",
    "suricata_eve": '{"timestamp":"2026-11-03T08:00:00.000000+0000","flow_id":1,'
    '"event_type":"http","src_ip":"10.1.1.5","http":{"hostname":"a.example"}}\n',
    "nfdump": "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n",
    "labels": ",".join(LABEL_FIELDS) + "\n",
    "netfilter": "Nov  3 08:00:00 fw kernel: [UFW ALLOW] IN=eth0 OUT=eth1 SRC=10.1.1.5 "
    "DST=203.0.113.9 PROTO=TCP SPT=50000 DPT=443\n",
    "syslog_wrapped": "Aug 18 12:30:46 10.8.24.10 #Software: SGOS 6.5.9.8\nAug 18 12:30:46 "
    "10.8.24.10 #Fields: date time time-taken c-ip cs-method cs-host\n",
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_claimed(name: str) -> None:
    assert not w3c.READER.detect(OTHER_FORMATS[name], Path("x.log"))


# -- ProxySG: the fixture, two uploads with different #Fields -----------------------------------


def test_proxysg_fixture_maps_every_field() -> None:
    report, rows = _load(PROXYSG)
    assert report.rows["w3c"] == 14 == len(rows)
    first = rows[0]  # line 7: ended 08:00:01 after 412 ms
    assert first["ts"] == pytest.approx(T0 + 0.588)
    assert first["duration"] == pytest.approx(0.412)
    # main format: no supplier field, and s-ip (10.1.1.250) is the proxy: no address
    assert _short(first) == (
        "10.1.1.5", None, 443, "c2.badsite.example", "connect", 1180, 4823,
    )  # fmt: skip
    assert (first["src_port"], first["proto"], first["service"], first["proxied"]) == (
        None, "tcp", None, True,
    )  # fmt: skip
    assert first["log"] == "w3c"
    beacon = [r for r in rows if r["dst_domain"] == "c2.badsite.example"]
    taken = (0.412, 0.398, 0.431, 0.402, 0.42, 0.441, 0.388, 0.415, 0.409, 0.427)
    assert [r["ts"] - T0 for r in beacon] == pytest.approx(
        [60.0 * i + 1 - t for i, t in enumerate(taken)]
    )
    # second upload (SGOS 3.2 fields): no cs-uri-port, s-hierarchy DIRECT, s-supplier-name
    assert [r["dst_ip"] for r in beacon] == [None] * 5 + ["203.0.113.9"] * 5
    assert {r["dst_port"] for r in beacon} == {443}
    by_bytes = {r["bytes_in"]: r for r in rows}
    intranet = by_bytes[38112]  # quoted group, referer, port 8080, query and extension
    assert _short(intranet) == (
        "10.1.1.8", None, 8080, "intranet.example.net", "http_host", 610, 38112,
    )  # fmt: skip
    assert (intranet["service"], intranet["duration"]) == ("http", pytest.approx(1.87))
    assert _short(by_bytes[18231])[1:4] == ("198.51.100.77", 443, None)  # an IP literal
    error = by_bytes[1736]  # TCP_ERR_MISS from the proxy: supplier = s-ip, hierarchy NONE
    assert (error["dst_ip"], error["dst_domain"], error["ts"]) == (
        None,
        "www.example.net",
        T0 + 337,
    )


def test_proxysg_skips_and_bad_lines() -> None:
    report, rows = _load(PROXYSG)
    assert report.skipped_records == {
        "w3c denied or blocked by the proxy": 2,
        "w3c proxy authentication required (407)": 1,
    }
    assert _problems(report) == [
        (14, "8 fields where the #Fields header has 25"),
        (17, "unreadable date '2026-13-03'"),
        (28, "c-ip '10.1.1.999' is not an IP address"),
    ]
    assert all(str(p).startswith(f"{PROXYSG}:") for p in report.problems)
    assert len(rows) == 14  # everything else loaded


def test_appended_logs_repeat_the_header(tmp_path: Path) -> None:
    text = PROXYSG.read_text(encoding="utf-8")
    twice = _write(tmp_path, text + text.replace("2026-11-03", "2026-11-04"))
    report, rows = _load(twice)
    assert len(rows) == 28
    n = len(text.splitlines())
    assert [line for line, _ in _problems(report)] == [14, 17, 28, 14 + n, 17 + n, 28 + n]


def test_an_unusable_header_skips_its_records_until_the_next(tmp_path: Path) -> None:
    lines = PROXYSG.read_text(encoding="utf-8").splitlines()
    broken = [*lines[:18], "#Fields: date time c-ip sc-bytes", lines[6], lines[10], *lines[18:]]
    report, rows = _load(_write(tmp_path, "\n".join(broken) + "\n"))
    assert len(rows) == 14
    assert (19, "#Fields header without method, host or URL: the records below it are skipped") in (
        _problems(report)
    )
    assert report.skipped_records["w3c records under an unusable #Fields header"] == 2


def test_records_before_any_header_are_reported(tmp_path: Path) -> None:
    lines = PROXYSG.read_text(encoding="utf-8").splitlines()
    path = _write(tmp_path, "\n".join([*lines[:4], lines[6], *lines[4:]]) + "\n")
    report, rows = _load(path)
    assert (5, "record before any #Fields header") in _problems(report)
    assert len(rows) == 14


def test_gzip_input_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "SG_main__420410172400.log.gz"
    packed.write_bytes(gzip.compress(PROXYSG.read_bytes(), mtime=0))
    assert sniff(packed).compressed and sniff(packed).log == "w3c"
    assert _load(packed)[1] == _load(PROXYSG)[1]


# -- ISA/TMG (tab-separated), IIS, WSA -----------------------------------------------------------


def test_tmg_fixture_tab_separated() -> None:
    report, rows = _load(TMG)
    assert len(rows) == 10
    beacon = [r for r in rows if r["src_ip"] == "10.2.0.8"]
    assert len(beacon) == 8
    assert beacon[0]["ts"] == pytest.approx(T0 + 0.2)  # ended 08:00:02 after 1800 ms
    assert _short(beacon[0]) == (
        "10.2.0.8", "192.0.2.77", 443, "updates.example-cdn.net", "connect", 640, 3100,
    )  # fmt: skip
    get = next(r for r in rows if r["src_ip"] == "10.2.0.9")
    assert _short(get) == (
        "10.2.0.9", "93.184.215.14", 80, "www.example.com", "http_host", 489, 5591,
    )  # fmt: skip
    assert get["service"] == "http"
    cached = next(r for r in rows if r["src_ip"] == "10.2.0.10")  # r-host/r-ip "-": from cache
    assert _short(cached)[1:4] == (None, 80, "cdn.example.com")
    assert report.skipped_records == {"w3c denied or blocked by the proxy": 1}
    assert _problems(report) == [(12, "7 fields where the #Fields header has 29")]


def test_iis_host_header_and_never_s_ip(tmp_path: Path) -> None:
    report, rows = _load(_write(tmp_path, IIS))
    assert len(rows) == 1
    row = rows[0]  # cs(Host) with its port; s-ip and s-port are the IIS box itself
    assert _short(row) == ("10.1.1.5", None, 8443, "c2.badsite.example", "http_host", 512, 2311)
    assert row["ts"] == T0 + 1 - 1.0
    assert report.skipped_records == {"w3c no destination host (relative URL, no host field)": 1}


def test_wsa_epoch_times_urls_hierarchy_and_verdicts(tmp_path: Path) -> None:
    report, rows = _load(_write(tmp_path, WSA))
    assert [(round(r["ts"], 3), *_short(r)) for r in rows] == [
        (T0, "10.1.1.5", "203.0.113.9", 443, "c2.badsite.example", "connect", None, 8187),
        (T0 + 3, "10.1.1.6", None, 80, "www.example.com", "http_host", None, 1200),  # a parent
    ]
    assert report.skipped_records == {
        "w3c denied or blocked by the proxy": 1,
        "w3c proxy authentication required (407)": 1,
    }


@pytest.mark.parametrize(("taken", "seconds"), [("1500", 1.5), ("1.5", 1.5), ("0", 0.0)])
def test_time_taken_units(taken: str, seconds: float, tmp_path: Path) -> None:
    text = (
        "#Version: 1.0\n#Fields: date time time-taken c-ip cs-method cs-uri\n"
        f"2026-11-03 08:00:10.250 {taken} 10.1.1.5 GET http://a.example/\n"
    )
    _, rows = _load(_write(tmp_path, text))
    assert (rows[0]["duration"], rows[0]["ts"]) == (seconds, T0 + 10.25 - seconds)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("2026-11-03 25:00:00 10 10.1.1.5 GET http://a.example/", "unreadable time '25:00:00'"),
        ("2026-11-03 08:00:00 -5 10.1.1.5 GET http://a.example/", "unreadable time-taken '-5'"),
        (
            "2026-11-03 08:00:00 10 10.1.1.5 GET http://a.example:99999/",
            "port '99999' out of range",
        ),
        (
            "2026-11-03 08:00:00 10 client7 GET http://a.example/",
            "c-ip 'client7' is not an IP address",
        ),
    ],
)
def test_bad_records(record: str, message: str, tmp_path: Path) -> None:
    text = f"#Version: 1.0\n#Fields: date time time-taken c-ip cs-method cs-uri\n{record}\n"
    report, rows = _load(_write(tmp_path, text))
    assert rows == [] and _problems(report) == [(3, message)]


# -- hostile input ------------------------------------------------------------------------------


def test_hostile_fields_are_data_never_code(tmp_path: Path) -> None:
    evil = "x');DROP/**/TABLE/**/conn;--\x1b[2J.example"
    text = (
        "#Version: 1.0\n#Fields: date time c-ip cs-method cs-host cs(User-Agent) sc-bytes\n"
        f'2026-11-03 08:00:00 10.1.1.5 GET {evil} "Robert\'); DROP TABLE conn;-- ""x""" 10\n'
        "2026-11-03 08:00:01 10.1.1.5 GET \x1b[31mred.example - 11\n"
        "2026-11-03 08:00:02 10.1.1.5\x1b[2J GET a.example - 12\n"
        "2026-11-03 08:00:03 10.1.1.5 GET a.example - 13\n"
    )
    report, rows = _load(_write(tmp_path, text))
    assert [r["dst_domain"] for r in rows] == [evil.lower(), "\x1b[31mred.example", "a.example"]
    assert [m for _, m in _problems(report)] == ["c-ip '10.1.1.5\\x1b[2J' is not an IP address"]


# -- the fixture through the CLI ------------------------------------------------------------------


def test_hunting_the_fixture_finds_the_beacon(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["hunt", str(PROXYSG), "--format", "ndjson", "-q"])
    assert res.exit_code == 0, res.output
    top = json.loads(res.stdout.splitlines()[0])
    assert (top["src_ip"], top["dst_domain"], top["dst_port"], top["connections"]) == (
        "10.1.1.5", "c2.badsite.example", 443, 10,
    )  # fmt: skip
    assert "timing.regular" in {r["code"] for r in top["reasons"]}


# -- the renderer and the hunt over it ------------------------------------------------------------


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GenerationSummary]:
    """One small scenario as Zeek logs and as a ProxySG W3C log."""
    root = tmp_path_factory.mktemp("w3c-days")
    scenario = Scenario.small(seed=7)
    return {fmt: generate(root / fmt, scenario, network_format=fmt) for fmt in ("zeek", "w3c")}


def test_rendering_is_deterministic_with_a_header_every_hour(
    days: dict[str, GenerationSummary], tmp_path: Path
) -> None:
    path = days["w3c"].out_dir / render_w3c.FILE_NAME
    again = generate(tmp_path, Scenario.small(seed=7), network_format="w3c")
    assert (again.out_dir / render_w3c.FILE_NAME).read_bytes() == path.read_bytes()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"#Software: {render_w3c.SOFTWARE}"
    fields = [ln for ln in lines if ln.startswith("#Fields: ")]
    records = [ln for ln in lines if not ln.startswith("#")]
    hours = {ln[:13] for ln in records}  # "2026-11-03 06": a header block starts every hour
    assert len(fields) == len(hours) >= 6 and set(fields) == {f"#Fields: {render_w3c.FIELDS}"}
    # one record per plain-HTTP request and per TLS connection to 443
    assert len(records) == days["zeek"].counts["http"] + _tls_on_443(days["zeek"])


def _tls_on_443(day: GenerationSummary) -> int:
    _, rows = _load(day.out_dir / "conn.log")
    return sum(r["service"] == "ssl" and r["dst_port"] == 443 for r in rows)


def test_rendering_reads_back_without_problems(days: dict[str, GenerationSummary]) -> None:
    report, rows = _load(days["w3c"].out_dir / render_w3c.FILE_NAME)
    assert not report.problems and not report.skipped_records
    assert {r["dst_port"] for r in rows} == {80, 443, 8080}
    assert all(r["proxied"] and r["bytes_out"] is not None for r in rows)
    assert render_squid.PROXY_IP not in {r["dst_ip"] for r in rows}  # s-ip is never used


def _carried(beacon: HiddenBeacon) -> bool:
    """A proxy carries HTTP on any port and TLS to 443 (see the renderer's docstring)."""
    return beacon.transport == "http" or (beacon.transport == "https" and beacon.dst_port == 443)


@pytest.fixture(scope="module")
def findings(days: dict[str, GenerationSummary]) -> dict[str, dict[tuple[Any, ...], Finding]]:
    zeek_logs = [days["zeek"].out_dir / f"{name}.log" for name in LOGS]
    proxy_logs = [days["w3c"].out_dir / render_w3c.FILE_NAME]
    out = {}
    for fmt, logs in (("zeek", zeek_logs), ("w3c", proxy_logs)):
        result = hunt(logs, HuntSettings())
        out[fmt] = {(f.src_ip, f.dst_domain or f.dst_ip, f.dst_port): f for f in result.findings}
    return out


def test_hunting_the_w3c_rendering_finds_every_web_implant_like_zeek(
    days: dict[str, GenerationSummary], findings: dict[str, dict[tuple[Any, ...], Finding]]
) -> None:
    beacons = days["zeek"].beacons
    assert sum(_carried(b) for b in beacons) == 4
    for b in beacons:
        for src in b.src_ips:
            key = (src, b.dst, b.dst_port)
            z, p = findings["zeek"].get(key), findings["w3c"].get(key)
            assert z is not None, key
            if not _carried(b):
                assert p is None, key  # Sliver's mTLS on 8888 does not use the proxy
                continue
            assert p is not None, key
            assert abs(z.score - p.score) <= SCORE_TOLERANCE, (key, z.score, p.score)
            assert p.connections == z.connections, key
            if b.dst != b.dst_ip:  # named: the same decision
                assert p.decision == z.decision, (key, z.decision, p.decision)
            else:  # direct IP: no DNS logs, so no dest.no_dns evidence; never harsher
                assert (p.dst_ip, p.dst_domain) == (b.dst_ip, None)
                assert p.decision in ("monitor", "close"), p.decision
