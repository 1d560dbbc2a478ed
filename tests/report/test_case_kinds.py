"""Case files, the table and CSV for DNS and long-session findings: each kind shows
what it is about, and every string from the logs stays inert."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace

from markdown_it import MarkdownIt

from beaconhunt.model import Decision, Evidence, Finding
from beaconhunt.model.record import finding_from_record, finding_record
from beaconhunt.report.case import render_case
from beaconhunt.report.csv import CsvReporter
from beaconhunt.report.table import TableReporter

T0 = 1_790_000_000.0
HOSTILE = "<img src=x onerror=alert(1)>|`x`*.evil-zone.com"


def _dns() -> Finding:
    times = tuple(T0 + 60.0 * i for i in range(50))
    return Finding(
        src_ip="10.0.0.5", src_host=None, dst_ip="10.10.0.10", dst_domain="evil-zone.com",
        dst_port=53, proto="udp", process_image=None, connections=50, first_seen=times[0],
        last_seen=times[-1], interval_s=60.0, score=0.9, decision=Decision.MONITOR,
        dst_ips=("10.10.0.10",), reasons=(Evidence("dns.unique_names", "50 names"),),
        rule="dns-not-understood", times=times, kind="dns",
        info={"pattern": "tunnel", "zone": "evil-zone.com", "zones": 1, "lookups": 50,
              "unique_names": 50, "qtypes": {"A": 40, "TXT": 10}, "nxdomain_share": 0.0,
              "mean_label_length": 30.0, "max_label_length": 40, "entropy_bits": 3.9,
              "encoded_chars": 1500, "periodicity": 0.9, "sample_names": [HOSTILE],
              "resolvers": ["10.10.0.10"], "source": "network"},
    )  # fmt: skip


def _session() -> Finding:
    sessions = [[T0, T0 + 7 * 3600], [T0 + 7.5 * 3600, T0 + 23 * 3600]]
    return Finding(
        src_ip="10.0.0.6", src_host="WS-02", dst_ip="203.0.113.66", dst_domain="sync.example",
        dst_port=443, proto="tcp", process_image=None, connections=2, first_seen=T0,
        last_seen=T0 + 7.5 * 3600, interval_s=None, score=0.97, decision=Decision.ESCALATE,
        reasons=(Evidence("session.long", "22.5 h"),), rule="long-session-indicators",
        times=(T0, T0 + 7.5 * 3600), kind="long_session",
        info={"longest_s": 15.5 * 3600, "connected_s": 22.5 * 3600, "coverage": 0.97,
              "sessions": sessions, "open_at_end": True, "reconnects": 1,
              "bytes_out_per_hour": 1000.0, "bytes_in_per_hour": 5000.0},
    )  # fmt: skip


def test_dns_case_shows_the_zone_lookups_and_names_escaped() -> None:
    md = render_case(_dns())
    assert "suspicious DNS lookups (C2 over DNS)" in md.splitlines()[0]
    assert "| Zone / resolver |" in md and "| Lookups | 50 |" in md
    assert "A 40, TXT 10" in md
    assert "Intervals between the 50 kept lookup times" in md
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<img" not in html  # the hostile sample name is shown as text


def test_long_session_case_shows_its_timeline() -> None:
    md = render_case(_session())
    assert "long-lived outbound session" in md.splitlines()[0]
    timing = md.split("## Timing\n", 1)[1].split("\n## ", 1)[0]
    assert "| 2 |" in timing and "still open when the log ends" in timing
    assert "15.5 h" in timing and "30.0 min" in timing  # second session; the gap before it


def test_records_round_trip_with_kind_and_details() -> None:
    for f in (_dns(), _session()):
        rec = json.loads(json.dumps(finding_record(f)))
        back = finding_from_record(rec, f.times)
        assert (back.kind, back.info) == (f.kind, rec["details"])
        assert rec["details"] is not None
    assert finding_record(replace(_dns(), kind="beacon", info=None))["details"] is None


def test_table_names_the_kind() -> None:
    out = io.StringIO()
    TableReporter().write([_dns(), _session()], out)
    text = out.getvalue()
    # the kind follows the decision; a beacon says nothing more
    rows = [ln for ln in text.splitlines() if re.match(r"[0-9a-f]{8} ", ln)]
    assert [ln.split()[1:3] for ln in rows] == [
        [_dns().decision.value, "dns"], [_session().decision.value, "session"]]  # fmt: skip


def test_csv_has_kind_and_details_as_json() -> None:
    out = io.StringIO()
    CsvReporter().write([_dns()], out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["kind"] == "dns"
    assert json.loads(row["details"])["sample_names"] == [HOSTILE]


def test_csv_cells_carry_no_control_characters() -> None:
    f = replace(_dns(), dst_domain="=cmd|' /C calc'!A0\x1b[2J\x07\x00evil.example")
    out = io.StringIO()
    CsvReporter().write([f], out)
    text = out.getvalue()
    assert not any(ch in text for ch in "\x1b\x07\x00")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["dst_domain"].startswith("'=")  # formula neutralised, escapes shown
    assert "\\x1b[2J" in row["dst_domain"]
