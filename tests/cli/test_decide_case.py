"""`beaconhunt decide` and `beaconhunt case` on a --db store built with History directly."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.cli_cases import write_cases
from beaconhunt.errors import ConfigError, StoreError
from beaconhunt.model import Decision, Evidence, Finding, ProcessShare
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.store.history import History

T0 = 1_790_000_000.0
IMAGE = "C:\\Users\\bob\\AppData\\upd.exe"


def make(src_ip: str, domain: str, decision: Decision = Decision.MONITOR) -> Finding:
    times = tuple(T0 + 60.0 * i for i in range(30))
    proc = ProcessShare(IMAGE, "WS-01", "{g}", 42, "CORP\\bob", "upd.exe -q", None, 30, 1.0)
    return Finding(
        src_ip=src_ip, src_host=f"host-{src_ip}", dst_ip="203.0.113.7", dst_domain=domain,
        dst_port=443, proto="tcp", process_image=IMAGE, connections=30, first_seen=times[0],
        last_seen=times[-1], interval_s=60.0, score=0.75, decision=decision,
        processes=(proc,), reasons=(Evidence("timing.regular", "median interval 60.0 s"),),
        rule="score_monitor", times=times,
    )  # fmt: skip


FINDINGS = (make("10.0.0.5", "sync.example"), make("10.0.0.6", "c2.example", Decision.ESCALATE))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hunt.duckdb"
    store = DuckDBStore(path)
    try:
        h = History(store.con)
        h.record_findings(h.start_run(T0, ["logs/"], (T0, T0 + 86400)), FINDINGS)
    finally:
        store.close()
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    return res.exit_code, res.stdout, res.stderr


def test_decide_by_prefix_records_the_verdict(db: Path) -> None:
    fid = FINDINGS[0].finding_id
    code, out, err = run(
        "decide", fid[:5], "close", "--note", "Dropbox-like sync client", "--db", str(db),
        "--analyst", "alice",
    )  # fmt: skip
    assert code == 0, err
    assert out.count("\n") == 1
    assert fid in out and "host-10.0.0.5 -> sync.example:443" in out and IMAGE in out
    assert "later hunts with this --db close this destination and process" in out
    assert "with your note as the reason" in out
    store = DuckDBStore(db)
    try:
        h = History(store.con)
        [v] = h.verdicts(fid)
        assert (v.decision, v.note, v.analyst) == (
            Decision.CLOSE,
            "Dropbox-like sync client",
            "alice",
        )
        other_host = make("10.9.9.9", "sync.example")
        assert [e.code for e in h.evidence_for(other_host)] == ["history.closed"]
    finally:
        store.close()


def test_decide_analyst_defaults_to_user(db: Path) -> None:
    fid = FINDINGS[1].finding_id
    code, out, err = run(
        "decide", fid, "escalate", "--note", "implant", "--db", str(db), env={"USER": "carol"}
    )
    assert code == 0, err
    assert "escalate by carol" in out and "flag the process on other hosts" in out


def test_decide_needs_a_note(db: Path) -> None:
    code, _, err = run("decide", FINDINGS[0].finding_id, "close", "--note", "  ", "--db", str(db))
    assert code == 2 and "--note" in err
    code, _, err = run("decide", FINDINGS[0].finding_id, "close", "--db", str(db))
    assert code == 2 and "--note" in err


def test_decide_unknown_id_exits_2(db: Path) -> None:
    code, out, err = run("decide", "0000beef", "close", "--note", "x", "--db", str(db))
    assert code == 2 and out == ""
    assert "no finding 0000beef" in err


def test_decide_rejects_a_bad_decision(db: Path) -> None:
    code, _, err = run("decide", FINDINGS[0].finding_id, "ignore", "--note", "x", "--db", str(db))
    assert code == 2 and "ignore" in err


def test_missing_db_exits_2(tmp_path: Path) -> None:
    code, _, err = run("case", "abcd", "--db", str(tmp_path / "nope.duckdb"))
    assert code == 2 and "does not exist" in err
    code, _, err = run("case", "abcd")
    assert code == 2 and "--db" in err
    code, _, err = run("decide", "abcd", "close", "--note", "x")
    assert code == 2 and "--db" in err


def test_case_prints_markdown(db: Path) -> None:
    fid = FINDINGS[1].finding_id
    run("decide", fid, "escalate", "--note", "beacon to c2", "--db", str(db), "--analyst", "al")
    code, out, err = run("case", fid[:6], "--db", str(db))
    assert code == 0, err
    assert out.startswith(f"# Case {fid}: suspicious outbound beaconing")
    for heading in ("## Alert summary", "## Hypothesis", "## Evidence", "## Timing",
                    "## Decision and rationale", "## Suggested next steps"):  # fmt: skip
        assert heading in out
    assert "**ESCALATE** by al: beacon to c2" in out
    assert "| 29 | 60.0 s | 60.0 s | 60.0 s | 60.0 s |" in out  # times came from the store


def test_case_writes_a_file(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "case.md"
    code, out, err = run("case", FINDINGS[0].finding_id, "--db", str(db), "-o", str(target))
    assert code == 0, err
    assert out == ""
    assert target.read_text(encoding="utf-8").startswith("# Case ")
    code, _, err = run("case", FINDINGS[0].finding_id, "--db", str(db), "-o", str(tmp_path))
    assert code == 2


def test_case_unknown_id_exits_2(db: Path) -> None:
    code, _, err = run("case", "ffff0000", "--db", str(db))
    assert code == 2 and "no finding" in err


def test_write_cases(tmp_path: Path, db: Path) -> None:
    out = tmp_path / "cases" / "today"
    assert write_cases(FINDINGS, out, None) == [out / f"{f.finding_id}.md" for f in FINDINGS]
    store = DuckDBStore(db)
    try:
        h = History(store.con)
        h.record_verdict(FINDINGS[0].finding_id, Decision.CLOSE, "approved", "alice", T0)
        [path] = write_cases(FINDINGS[:1], out, h)
    finally:
        store.close()
    assert "**CLOSE** by alice: approved" in path.read_text(encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=str(blocker)):
        write_cases(FINDINGS, blocker / "sub", None)


def test_case_opens_the_store_read_only(db: Path) -> None:
    # an analyst may only have read access to the team's store: `case` never writes
    before = db.read_bytes()
    fid = FINDINGS[1].finding_id
    os.chmod(db, 0o444)
    try:
        code, out, err = run("case", fid[:6], "--db", str(db))
    finally:
        os.chmod(db, 0o644)
    assert code == 0, err
    assert out.startswith(f"# Case {fid}")
    assert db.read_bytes() == before
    ro = DuckDBStore(db, read_only=True)
    try:
        with pytest.raises(duckdb.Error):
            ro.con.execute("DELETE FROM findings")
    finally:
        ro.close()


def test_read_only_open_of_a_file_that_is_no_store(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(StoreError, match="not a beaconhunt store"):
        DuckDBStore(other, read_only=True)


def test_show_prints_the_finding_in_full(db: Path) -> None:
    f = FINDINGS[1]
    run("decide", f.finding_id[:6], "escalate", "--note", "unsigned updater", "--db", str(db),
        "--analyst", "carol")  # fmt: skip
    code, out, err = run("show", f.finding_id[:6], "--db", str(db))
    assert code == 0 and err == ""
    assert out.startswith(f"Case {f.finding_id}: suspicious outbound beaconing")
    for section in ("Alert summary", "Hypothesis", "Evidence", "Timing",
                    "Decision and rationale", "Suggested next steps"):  # fmt: skip
        assert f"\n{section}\n" in out
    # reasons by pivot, the analyst's verdict, the store's own values
    assert "2. Timing analysis\n   timing.regular: median interval 60.0 s" in out
    assert "ESCALATE by carol: unsigned updater" in out
    assert "c2.example" in out and IMAGE in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_show_unknown_id_exits_2(db: Path) -> None:
    code, _, err = run("show", "ffffff", "--db", str(db))
    assert code == 2 and "no finding ffffff" in err
