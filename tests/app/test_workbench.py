"""The application layer on a real ``--db`` store: a finding's case, its connections,
the other sources of its destination, and a verdict recorded through it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from beaconhunt.app.store import Workbench
from beaconhunt.cli import main
from beaconhunt.model import Decision

ZEEK = Path(__file__).resolve().parents[1] / "fixtures" / "zeek" / "basic"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "hunt.duckdb"
    res = CliRunner().invoke(main, ["hunt", str(ZEEK), "--db", str(path), "-q",
                                    "--format", "ndjson", "--min-score", "0"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return path


def test_finding_view_has_the_pairs_connections_and_peers(db: Path) -> None:
    with Workbench(db) as wb:
        ids = [r[0] for r in wb.store.con.execute("SELECT finding_id FROM findings").fetchall()]
        views = [wb.finding_view(fid) for fid in ids]
        conn = wb.store.con.execute(
            "SELECT src_ip, dst_domain, dst_ip, dst_port, count(*), sum(bytes_out) FROM conn"
            " GROUP BY ALL"
        ).fetchall()
    beacon = next(v for v in views if v.case.finding.dst_domain == "c2.badsite.example")
    f = beacon.case.finding
    expected = next(r for r in conn if r[0] == f.src_ip and r[1] == f.dst_domain
                    and r[3] == f.dst_port)  # fmt: skip
    assert len(beacon.series) == expected[4] == f.connections
    assert np.all(np.diff(beacon.series.ts) >= 0)
    assert np.nansum(beacon.series.bytes_out) == expected[5]
    assert beacon.peers[0].src_ip == f.src_ip and beacon.peers[0].connections >= f.connections
    assert beacon.case.finding_id == f.finding_id and beacon.case.evidence


def test_a_verdict_through_the_workbench_is_the_cli_verdict(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    with Workbench(copy) as wb:
        fid = wb.store.con.execute("SELECT min(finding_id) FROM findings").fetchall()[0][0]
    with Workbench(copy, read_only=False) as wb:
        receipt = wb.record_verdict(fid, Decision.CLOSE, "approved updater", "dana")
    assert receipt.effect.startswith("close this destination")
    with Workbench(copy) as wb:
        doc = wb.case(fid)
    assert [(v.decision, v.analyst, v.note) for v in doc.verdicts] == [
        (Decision.CLOSE, "dana", "approved updater")]  # fmt: skip
    res = CliRunner().invoke(main, ["case", fid, "--db", str(copy)])
    assert "**CLOSE** by dana: approved updater" in res.stdout
