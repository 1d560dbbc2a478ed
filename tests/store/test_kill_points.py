"""A ``hunt --db`` import killed at any moment loses nothing and doubles nothing.

Each case runs the real CLI in a child process and kills it with SIGKILL (no
cleanup of any kind runs): at a seeded sample of points between and inside the
store's write calls, and at seeded moments while DuckDB is busy. The same hunt
is then run again on the damaged store, and every table is compared, byte for
byte, with the store of a run that was never interrupted, and so are the findings.

The input mixes every load path: hourly gzip Zeek TSV groups, Zeek JSON, a
Suricata eve.json (staged flows and DNS) and Sysmon JSON.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from beaconhunt.store.schema import TABLES

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

#: the store's write calls, in the order a load makes them; the child counts them
_WRITES = (
    "load_tsv", "salvage_tsv", "append", "append_flows", "append_endpoint", "record_input",
    "flush_raw_conn", "flush_flows", "finish_load", "drop_impossible",
    "endpoint_connections", "commit_load",
)  # fmt: skip

#: the child: the CLI, with SIGKILL before (odd points) or after (even points) the
#: N-th store write; with N = 0 it prints how many writes a whole run makes
_CHILD = f"""
import os, signal, sys
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.cli import main
point, calls = int(sys.argv[1]), [0]
def wrap(name):
    inner = getattr(DuckDBStore, name)
    def call(self, *args, **kwargs):
        calls[0] += 1
        if point == 2 * calls[0] - 1:
            os.kill(os.getpid(), signal.SIGKILL)
        out = inner(self, *args, **kwargs)
        if point == 2 * calls[0]:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    setattr(DuckDBStore, name, call)
for name in {_WRITES!r}:
    if hasattr(DuckDBStore, name):  # so the test also runs against older code
        wrap(name)
try:
    main(sys.argv[2:])
finally:
    if point == 0:
        sys.stderr.write(f"WRITES={{calls[0]}}\\n")
"""


def _run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, check=False,
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("killpoints")
    worlds = (
        ("a", ["--hosts", "12", "--gzip", "--seed", "3"]),
        ("b", ["--hosts", "10", "--network", "suricata", "--no-sysmon", "--seed", "4",
               "--implants", "sliver=1"]),
        ("c", ["--hosts", "10", "--format", "json", "--no-sysmon", "--seed", "5",
               "--implants", "havoc=1"]),
    )  # fmt: skip
    for name, extra in worlds:
        out = _run("-m", "beaconhunt", "generate", str(root / name), "--days", "0.25", *extra)
        assert out.returncode == 0, out.stderr
    day = next((root / "a").glob("20*"))
    zeek_json = [str(root / "c" / f"{log}.log") for log in ("conn", "dns", "ssl", "http")]
    return [str(day), str(root / "a" / "sysmon.json"), str(root / "b" / "eve.json"), *zeek_json]


def _hunt_args(inputs: list[str], db: Path) -> list[str]:
    return ["hunt", *inputs, "--db", str(db), "--format", "ndjson", "--min-score", "0"]


def _dump(db: Path) -> dict[str, bytes]:
    """Every stored table as CSV in a fixed row order (``inputs`` without its load time)."""
    out: dict[str, bytes] = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in (*TABLES, "inputs"):
            cols = "* EXCLUDE (loaded_at)" if table == "inputs" else "*"
            target = db.parent / f"{db.stem}.{table}.csv"
            con.execute(f"COPY (SELECT {cols} FROM {table} ORDER BY ALL) TO '{target}' (HEADER)")
            out[table] = target.read_bytes()
        out["meta"] = repr(con.execute("SELECT * FROM meta ORDER BY ALL").fetchall()).encode()
    finally:
        con.close()
    return out


def _findings(ndjson: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in ndjson.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def clean(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The uninterrupted run: its tables, its findings, its count of store writes."""
    db = tmp_path_factory.mktemp("clean") / "clean.db"
    started = time.perf_counter()
    out = _run("-c", _CHILD, "0", *_hunt_args(inputs, db))
    seconds = time.perf_counter() - started
    assert out.returncode == 0, out.stderr
    writes = int(out.stderr.rsplit("WRITES=", 1)[1].split()[0])
    tables = _dump(db)
    assert all(len(tables[t].splitlines()) > 1 for t in ("conn", "dns", "ssl", "http", "net_conn"))
    return {"tables": tables, "findings": _findings(out.stdout), "writes": writes,
            "seconds": seconds}  # fmt: skip


def _rerun_matches(
    inputs: list[str], db: Path, clean: dict[str, object], findings: bool = True
) -> str:
    """Hunt again on the interrupted store; assert it equals the clean one. Returns stderr.

    ``findings=False`` for kills at any moment: one after the findings were recorded
    makes the rerun's findings say they were seen before, which is right."""
    again = _run("-m", "beaconhunt", *_hunt_args(inputs, db))
    assert again.returncode == 0, again.stderr
    tables = _dump(db)
    expected = clean["tables"]
    assert isinstance(expected, dict)
    for table, data in expected.items():
        assert tables[table] == data, f"table {table} differs from the clean run's"
    if findings:
        assert _findings(again.stdout) == clean["findings"]
    return again.stderr


def _points(total_writes: int) -> list[int]:
    rng = random.Random(13)
    every = range(1, 2 * total_writes + 1)
    # the first and last points, and a seeded sample of the rest
    return sorted({1, 2, 2 * total_writes - 1, *rng.sample(every, min(10, len(every)))})


def test_the_clean_run_makes_many_store_writes(clean: dict[str, object]) -> None:
    writes = clean["writes"]
    assert isinstance(writes, int) and writes >= 20


@pytest.mark.parametrize("case", range(13))
def test_killed_between_store_writes(
    case: int, inputs: list[str], clean: dict[str, object], tmp_path: Path
) -> None:
    writes = clean["writes"]
    assert isinstance(writes, int)
    points = _points(writes)
    if case >= len(points):
        pytest.skip("fewer kill points than cases")
    point = points[case]
    db = tmp_path / "store.db"
    killed = _run("-c", _CHILD, str(point), *_hunt_args(inputs, db))
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
    said = _rerun_matches(inputs, db, clean)
    if point < 2 * writes - 1:  # killed before the commit: the rerun says so
        assert "did not finish" in said


def test_killed_twice_then_rerun(
    inputs: list[str], clean: dict[str, object], tmp_path: Path
) -> None:
    writes = clean["writes"]
    assert isinstance(writes, int)
    db = tmp_path / "store.db"
    for point in (writes, writes + 7):
        killed = _run("-c", _CHILD, str(point), *_hunt_args(inputs, db))
        assert killed.returncode == -signal.SIGKILL
    _rerun_matches(inputs, db, clean)


@pytest.mark.parametrize("case", range(4))
def test_killed_at_a_moment_inside_duckdb(
    case: int, inputs: list[str], clean: dict[str, object], tmp_path: Path
) -> None:
    seconds = clean["seconds"]
    assert isinstance(seconds, float)
    delay = random.Random(100 + case).uniform(0.2, 0.9) * seconds
    db = tmp_path / "store.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "beaconhunt", *_hunt_args(inputs, db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(delay)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    _rerun_matches(inputs, db, clean, findings=False)
