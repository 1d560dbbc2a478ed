"""History across runs: runs and findings upserted, analyst verdicts applied to new findings."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from beaconhunt.errors import BeaconhuntError, ConfigError
from beaconhunt.model import Decision, Finding, ProcessShare
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.store.history import HISTORY_CODES, MAX_TIMES, History, UnknownFinding

T0 = 1_790_000_000.0  # 2026-09-21T...Z
DAY = 86400.0
EVIL = "C:\\Users\\bob\\AppData\\Roaming\\upd.exe"
PWSH = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


def finding(
    src_ip: str = "10.0.0.5",
    domain: str | None = "evil.example",
    ip: str | None = "203.0.113.7",
    image: str | None = EVIL,
    cmd: str | None = None,
    host: str | None = "WS-01",
    decision: Decision = Decision.MONITOR,
    times: tuple[float, ...] = (T0, T0 + 60, T0 + 120),
) -> Finding:
    procs = (
        ()
        if image is None
        else (ProcessShare(image, host, "{g}", 42, "CORP\\bob", cmd, None, len(times), 1.0),)
    )
    return Finding(
        src_ip=src_ip, src_host=host, dst_ip=ip, dst_domain=domain, dst_port=443, proto="tcp",
        process_image=image, connections=len(times), first_seen=times[0], last_seen=times[-1],
        interval_s=60.0, score=0.8, decision=decision, dst_ips=(ip,) if ip else (),
        processes=procs, rule="score_monitor", times=times,
    )  # fmt: skip


@pytest.fixture
def history() -> History:
    return History(DuckDBStore().con)


def reported(h: History, *findings: Finding, at: float = T0) -> int:
    run = h.start_run(at, ["logs/"], (at - DAY, at))
    h.record_findings(run, findings)
    return run


def codes(h: History, f: Finding) -> list[str]:
    return [e.code for e in h.evidence_for(f)]


def text_of(h: History, f: Finding, code: str) -> str:
    return next(e.text for e in h.evidence_for(f) if e.code == code)


# -- runs and findings --------------------------------------------------------------------------


def test_runs_are_numbered_and_marked_finished(history: History) -> None:
    assert reported(history, finding()) == 1
    assert reported(history, finding(), at=T0 + DAY) == 2
    rows = history.con.execute(
        "SELECT run_id, finished IS NOT NULL, findings, inputs, span_end FROM runs ORDER BY run_id"
    ).fetchall()
    assert rows == [(1, True, 1, ["logs/"], T0), (2, True, 1, ["logs/"], T0 + DAY)]


def test_a_finding_is_one_row_updated_every_run(history: History) -> None:
    reported(history, finding(decision=Decision.MONITOR))
    reported(history, finding(decision=Decision.ESCALATE), at=T0 + DAY)
    s = history.stored_finding(finding().finding_id)
    assert (s.runs, s.first_run, s.last_run) == (2, 1, 2)
    assert (s.first_reported, s.last_reported) == (T0, T0 + DAY)
    assert s.decision is Decision.ESCALATE and s.rule == "score_monitor"
    assert s.record["finding_id"] == finding().finding_id
    assert s.record["dst_domain"] == "evil.example"
    assert history.con.execute("SELECT count(*) FROM findings").fetchall() == [(1,)]


def test_recording_the_same_run_twice_counts_it_once(history: History) -> None:
    run = reported(history, finding())
    history.record_findings(run, [finding()])
    assert history.stored_finding(finding().finding_id).runs == 1


def test_times_keep_the_latest_when_capped(history: History) -> None:
    times = tuple(T0 + 10.0 * i for i in range(MAX_TIMES + 500))
    reported(history, finding(times=times))
    kept = history.stored_finding(finding().finding_id).times
    assert len(kept) == MAX_TIMES
    assert kept[0] == times[500] and kept[-1] == times[-1]


def test_non_finite_numbers_are_stored_as_null(history: History) -> None:
    f = finding()
    nan = Finding(**{**{k: getattr(f, k) for k in f.__slots__}, "bytes_out_median": math.nan})
    reported(history, nan)
    assert history.stored_finding(f.finding_id).record["bytes_out_median"] is None


def test_record_findings_needs_a_started_run(history: History) -> None:
    with pytest.raises(BeaconhuntError, match="start_run"):
        history.record_findings(7, [finding()])


def test_history_persists_when_the_store_is_reopened(tmp_path: Path) -> None:
    db = tmp_path / "hunt.duckdb"
    store = DuckDBStore(db)
    h = History(store.con)
    reported(h, finding())
    h.record_verdict(finding().finding_id, Decision.CLOSE, "approved updater", "alice", T0 + 5)
    store.close()

    store = DuckDBStore(db)
    try:
        h = History(store.con)
        assert h.stored_finding(finding().finding_id).runs == 1
        assert [v.note for v in h.verdicts(finding().finding_id)] == ["approved updater"]
        assert "history.closed" in codes(h, finding(src_ip="10.0.0.9", host="WS-09"))
        assert h.start_run(T0 + DAY, [], None) == 2
    finally:
        store.close()


# -- resolving ids ------------------------------------------------------------------------------


def test_resolve_id_from_a_prefix(history: History) -> None:
    fid = finding().finding_id
    reported(history, finding())
    assert history.resolve_id(fid) == fid
    assert history.resolve_id(fid[:4].upper()) == fid
    assert history.resolve_id(f"  {fid[:6]} ") == fid


@pytest.mark.parametrize("bad", ["abc", "zzzz", "", "12 34", "ab\x1b[31mcd"])
def test_resolve_id_rejects_what_is_not_an_id(history: History, bad: str) -> None:
    with pytest.raises(UnknownFinding, match="at least 4") as exc:
        history.resolve_id(bad)
    assert "\x1b" not in str(exc.value)


def test_resolve_id_unknown(history: History) -> None:
    reported(history, finding())
    other = "0000" if not finding().finding_id.startswith("0000") else "ffff"
    with pytest.raises(UnknownFinding, match=f"no finding {other}"):
        history.resolve_id(other)


def test_resolve_id_ambiguous_lists_the_candidates(history: History) -> None:
    by_prefix: dict[str, Finding] = {}
    for i in itertools.count():  # deterministic: the first two sources whose ids share 4 chars
        f = finding(src_ip=f"10.1.{i // 256}.{i % 256}")
        if f.finding_id[:4] in by_prefix:
            pair = (by_prefix[f.finding_id[:4]], f)
            break
        by_prefix[f.finding_id[:4]] = f
    reported(history, *pair)
    with pytest.raises(UnknownFinding, match="ambiguous") as exc:
        history.resolve_id(pair[0].finding_id[:4])
    for f in pair:
        assert f.finding_id in str(exc.value) and f.src_ip in str(exc.value)


def test_unknown_finding_is_a_config_error_exit_2(history: History) -> None:
    assert issubclass(UnknownFinding, ConfigError)
    with pytest.raises(UnknownFinding):
        history.stored_finding("0123456789ab")
    assert history.previous("0123456789ab") is None


# -- verdicts -----------------------------------------------------------------------------------


def test_verdict_copies_the_destination_and_process(history: History) -> None:
    f = finding(cmd="upd.exe --check")
    reported(history, f)
    v = history.record_verdict(f.finding_id, Decision.CLOSE, "  approved  ", None, T0 + 9)
    assert (v.verdict_id, v.finding_id, v.note, v.analyst) == (1, f.finding_id, "approved", None)
    assert (v.src_ip, v.src_host, v.dst_domain, v.dst_ip, v.dst_port) == (
        "10.0.0.5", "WS-01", "evil.example", "203.0.113.7", 443,
    )  # fmt: skip
    assert (v.process_image, v.command_line) == (EVIL, "upd.exe --check")
    assert history.verdicts(f.finding_id) == [v]


def test_verdict_needs_a_note_and_a_known_finding(history: History) -> None:
    reported(history, finding())
    with pytest.raises(ConfigError, match="note"):
        history.record_verdict(finding().finding_id, Decision.CLOSE, "  ", None, T0)
    with pytest.raises(UnknownFinding):
        history.record_verdict("0123456789ab", Decision.CLOSE, "x", None, T0)


def test_verdicts_are_oldest_first(history: History) -> None:
    fid = finding().finding_id
    reported(history, finding())
    history.record_verdict(fid, Decision.MONITOR, "b", "bob", T0 + 20)
    history.record_verdict(fid, Decision.CLOSE, "a", "alice", T0 + 10)
    assert [v.note for v in history.verdicts(fid)] == ["a", "b"]


# -- evidence for new findings ------------------------------------------------------------------


def test_every_code_is_declared() -> None:
    assert set(HISTORY_CODES) == {
        "history.closed", "history.escalated", "history.monitored", "history.process_flagged",
        "history.seen",
    }  # fmt: skip


def test_a_new_finding_has_no_history(history: History) -> None:
    assert history.evidence_for(finding()) == ()


def test_seen_counts_earlier_runs(history: History) -> None:
    reported(history, finding(decision=Decision.MONITOR))
    reported(history, finding(decision=Decision.MONITOR), at=T0 + DAY)
    text = text_of(history, finding(), "history.seen")
    assert text.startswith("reported in 2 earlier run(s) since 2026-09-21;")
    assert text.endswith("last decided monitor by rule score_monitor")
    assert all(e.pivot == "history" for e in history.evidence_for(finding()))


@pytest.mark.parametrize(
    ("decision", "code", "verb"),
    [
        (Decision.CLOSE, "history.closed", "closed"),
        (Decision.ESCALATE, "history.escalated", "escalated"),
        (Decision.MONITOR, "history.monitored", "put on monitor"),
    ],
)
def test_a_verdict_decides_the_same_destination_and_process(
    history: History, decision: Decision, code: str, verb: str
) -> None:
    f = finding()
    reported(history, f)
    history.record_verdict(f.finding_id, decision, "reviewed", "alice", T0 + 60)
    text = text_of(history, f, code)
    assert text == f"{verb} by alice on 2026-09-21 (finding {f.finding_id}): reviewed"


def test_the_latest_verdict_wins(history: History) -> None:
    f = finding()
    reported(history, f)
    history.record_verdict(f.finding_id, Decision.CLOSE, "looked fine", "alice", T0 + 10)
    history.record_verdict(f.finding_id, Decision.ESCALATE, "it is not", "bob", T0 + 20)
    assert codes(history, f)[0] == "history.escalated"
    assert "history.closed" not in codes(history, f)
    history.record_verdict(f.finding_id, Decision.CLOSE, "false alarm after all", None, T0 + 30)
    evidence = history.evidence_for(f)
    assert evidence[0].code == "history.closed"
    assert "by an analyst" in evidence[0].text
    # the overruled escalation of this very destination does not flag the process
    assert "history.process_flagged" not in [e.code for e in evidence]


def test_closing_one_host_closes_every_host(history: History) -> None:
    """Dropbox on one host closed: the same destination and process on another host too."""
    a = finding(src_ip="10.0.0.5", host="WS-01", domain="Client.Dropbox.com", image="C:\\DB.exe")
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.CLOSE, "sync client", "alice", T0)
    b = finding(src_ip="10.0.0.77", host="WS-77", domain="client.dropbox.com.", image="c:\\db.EXE")
    assert b.finding_id != a.finding_id
    assert codes(history, b) == ["history.closed"]
    assert f"(finding {a.finding_id})" in text_of(history, b, "history.closed")


def test_a_different_process_or_destination_is_not_covered(history: History) -> None:
    a = finding()
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.CLOSE, "ok", "alice", T0)
    assert codes(history, finding(src_ip="10.0.0.6", image="C:\\other.exe")) == []
    assert codes(history, finding(src_ip="10.0.0.6", domain="evil.example.net")) == []
    assert codes(history, finding(src_ip="10.0.0.6", image=None)) == []


def test_a_verdict_without_process_covers_any_process(history: History) -> None:
    a = finding(image=None)
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.CLOSE, "zeek only", "alice", T0)
    assert codes(history, finding(src_ip="10.0.0.6", image="C:\\any.exe")) == ["history.closed"]


def test_a_verdict_on_an_ip_matches_the_findings_ips(history: History) -> None:
    a = finding(domain=None, ip="198.51.100.9")
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.ESCALATE, "direct to IP", "alice", T0)
    other = Finding(
        **{
            **{k: getattr(a, k) for k in a.__slots__},
            "src_ip": "10.0.0.8", "dst_ip": "198.51.100.1",
            "dst_ips": ("198.51.100.1", "198.51.100.9"),
        }
    )  # fmt: skip
    assert codes(history, other) == ["history.escalated"]
    # the verdict names no domain, so its IP decides even for a named finding
    named = finding(src_ip="10.0.0.9", domain="cdn.example", ip="198.51.100.9")
    assert codes(history, named) == ["history.escalated"]


def test_an_escalated_process_is_flagged_elsewhere(history: History) -> None:
    a = finding()
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.ESCALATE, "implant", "alice", T0 + 3600)
    b = finding(src_ip="10.0.0.40", host="SRV-40", domain="other.example", ip="192.0.2.1",
                image=EVIL.upper())  # fmt: skip
    assert codes(history, b) == ["history.process_flagged"]
    text = text_of(history, b, "history.process_flagged")
    assert EVIL in text and a.finding_id in text and "implant" in text and "2026-09-21" in text
    # the verdict that escalated this destination does not flag it a second time
    assert codes(history, a) == ["history.escalated", "history.seen"]


def test_a_close_or_monitor_does_not_flag_the_process(history: History) -> None:
    a = finding()
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.MONITOR, "unsure", "alice", T0)
    assert codes(history, finding(src_ip="10.0.0.40", domain="other.example")) == []


def test_an_escalation_overruled_on_its_own_finding_no_longer_flags(history: History) -> None:
    a = finding()
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.ESCALATE, "implant?", "alice", T0)
    history.record_verdict(a.finding_id, Decision.CLOSE, "no, the updater", "alice", T0 + 60)
    assert codes(history, finding(src_ip="10.0.0.40", domain="other.example")) == []


def test_windows_images_are_flagged_only_with_the_same_command_line(history: History) -> None:
    cmd = "powershell.exe -nop -w hidden -enc SQBFAFgA"
    a = finding(image=PWSH, cmd=cmd)
    reported(history, a)
    history.record_verdict(a.finding_id, Decision.ESCALATE, "encoded stager", "alice", T0)
    same = finding(src_ip="10.0.0.41", domain="cdn.other", image=PWSH.lower(), cmd=cmd)
    other = finding(src_ip="10.0.0.42", domain="cdn.other", image=PWSH, cmd="powershell.exe -c gps")
    unknown = finding(src_ip="10.0.0.43", domain="cdn.other", image=PWSH, cmd=None)
    assert codes(history, same) == ["history.process_flagged"]
    assert codes(history, other) == []
    assert codes(history, unknown) == []


def test_hostile_notes_and_names_never_reach_evidence_raw(history: History) -> None:
    a = finding(image="C:\\x\x1b[2J.exe", host="WS\n01")
    reported(history, a)
    note = "ok\n\x1b[31mINJECTED\x1b[0m\r\u202eevil " + "A" * 1000
    history.record_verdict(a.finding_id, Decision.ESCALATE, note, "mal\x1b]0;x\x07lory", T0)
    b = finding(src_ip="10.0.0.50", domain="other.example", image="C:\\x\x1b[2J.exe")
    for f in (a, b):
        for e in history.evidence_for(f):
            assert "\n" not in e.text and "\r" not in e.text and "\x1b" not in e.text
            assert "\u202e" not in e.text and "\x07" not in e.text
            assert len(e.text) < 700
