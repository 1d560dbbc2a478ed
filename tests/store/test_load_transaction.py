"""One import is one transaction: it lands whole or not at all, and a file DuckDB
cannot scan inside it is retried carefully instead of aborting the import."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from beaconhunt.ingest.loader import load_paths
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import ZEEK


def _hourly_conn(folder: Path, hours: int, damaged: int | None = None) -> int:
    """Write ``hours`` gzip conn logs with one header; returns records in the intact ones."""
    text = (ZEEK / "basic" / "conn.log").read_text()
    header, _, body = text.partition("\n1")
    rows = ("1" + body).rsplit("#close", 1)[0]
    folder.mkdir()
    intact = 0
    for h in range(hours):
        data = gzip.compress((header + "\n" + rows * 20).encode())
        if h == damaged:
            data = data[: len(data) // 2]
        else:
            intact += 53 * 20
        (folder / f"conn.{h:02d}:00:00-{h + 1:02d}:00:00.log.gz").write_bytes(data)
    return intact


def test_a_damaged_file_in_a_group_costs_only_its_damaged_part(tmp_path: Path) -> None:
    intact = _hourly_conn(tmp_path / "day", 3, damaged=1)
    store = DuckDBStore(tmp_path / "store.db")
    report = load_paths([tmp_path / "day"], store)
    conn = store.count("conn")
    assert intact < conn < intact + 53 * 20  # the two intact files and part of the damaged one
    [problem] = [p for p in report.problems if "damaged" in p.message]
    assert problem.file.endswith("conn.01:00:00-02:00:00.log.gz")
    recorded = store.con.execute("SELECT count(*) FROM inputs").fetchall()[0][0]
    assert recorded == 3
    store.close()
    again = DuckDBStore(tmp_path / "store.db")
    rerun = load_paths([tmp_path / "day"], again)
    assert rerun.already_loaded == 3 and again.count("conn") == conn
    again.close()


def test_an_interrupted_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    _hourly_conn(tmp_path / "day1", 2)
    _hourly_conn(tmp_path / "day2", 2)
    store = DuckDBStore(tmp_path / "store.db")
    load_paths([tmp_path / "day1"], store)
    before = store.count("conn")

    def stop(name: str) -> None:  # Ctrl-C in the middle of the second import
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_paths([tmp_path / "day2"], store, on_file=stop)
    assert store.count("conn") == before
    assert store.con.execute("SELECT count(*) FROM inputs").fetchall()[0][0] == 2
    # an orderly stop is said by the command itself: no "did not finish" next time
    report = load_paths([tmp_path / "day2"], store)
    assert not any("did not finish" in p.message for p in report.problems)
    assert store.count("conn") == 2 * before
    store.close()


def test_a_store_closed_in_the_middle_of_an_import_keeps_nothing_of_it(tmp_path: Path) -> None:
    _hourly_conn(tmp_path / "day", 2)
    store = DuckDBStore(tmp_path / "store.db")
    store.begin_load()
    store.con.execute("INSERT INTO inputs VALUES ('x', 1, 1.0, 'conn', 1, now())")
    store.close()
    reopened = DuckDBStore(tmp_path / "store.db")
    assert reopened.con.execute("SELECT count(*) FROM inputs").fetchall()[0][0] == 0
    reopened.close()
