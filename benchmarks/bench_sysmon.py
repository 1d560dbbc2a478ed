"""Speed and memory of Sysmon ingest: JSON lines in each layout, and native EVTX.

Usage: python benchmarks/bench_sysmon.py [--events 200000] [--repeat 30] [--keep]

1. Writes ``--events`` Sysmon records as JSON lines in each layout (evtx_dump,
   Winlogbeat, NXLog) into bench-data/, one layout at a time, from the test
   fixtures' records (tests/fixtures/sysmon/) with varied processes, addresses
   and ports. The mix is like a real Sysmon log: per 100 records 40 event 3,
   20 event 22, 20 event 7 (unused), 6 event 11, 5 event 13, 4 event 1,
   4 event 5, 1 record of another channel.
2. Loads each file into an in-memory store in a fresh process (so peak RSS is
   its own) and prints records/s and peak RSS.
3. Native EVTX: the real files in ../shared/samples/evtx-sysmon-samples, read
   ``--repeat`` times: the bare parser (``PyEvtxParser.records_json``), the
   parser + ``json.loads``, beaconhunt's reader (parse + map), and a full load
   of a temporary folder holding ``--repeat`` copies of them.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures" / "sysmon"
SAMPLES = HERE.parent.parent / "shared" / "samples" / "evtx-sysmon-samples"
LAYOUTS = {"evtx_dump": "evtx_dump.jsonl", "winlogbeat": "winlogbeat.ndjson", "nxlog": "nxlog.json"}
MIX = {3: 40, 22: 20, 7: 20, 11: 6, 13: 5, 1: 4, 5: 4, 0: 1}  # 0: another channel
GUID_TAIL = "4E5F-6071-8293-A4B5C6D7E8F9"


def _templates(fixture: Path) -> dict[int, str]:
    """One fixture line per event ID (0 for the first record of another channel)."""
    out: dict[int, str] = {}
    for line in fixture.read_text().splitlines():
        obj = json.loads(line)
        eid = obj.get("EventID") or obj.get("winlog", {}).get("event_id")
        eid = eid or obj.get("Event", {}).get("System", {}).get("EventID")
        eid = int(eid)
        out.setdefault(eid if eid in MIX else 0, line)
    return out


def _records(templates: dict[int, str], n: int, seed: int = 7) -> Iterator[str]:
    rng = random.Random(seed)
    kinds = [eid for eid, weight in MIX.items() for _ in range(weight)]
    for i in range(n):
        line = templates[kinds[i % len(kinds)]]
        proc = rng.randrange(2000)
        tail = f"{proc:04X}-6071-8293-{rng.getrandbits(48):012X}"
        line = line.replace(GUID_TAIL, tail).replace(GUID_TAIL.lower(), tail.lower())
        line = line.replace("203.0.113.50", f"198.51.{proc % 250}.{i % 250}")
        line = line.replace("50412", str(49152 + i % 16000)).replace("4312", str(1000 + proc))
        yield line


def _write(layout: str, n: int, path: Path) -> None:
    templates = _templates(FIXTURES / LAYOUTS[layout])
    with path.open("w") as fh:
        for line in _records(templates, n):
            fh.write(line + "\n")


# -- measured in a child process ---------------------------------------------------------------


def _child_load(paths: list[Path], repeat: int) -> None:
    """Load ``paths`` ``repeat`` times into one in-memory store; print the numbers."""
    from beaconhunt.ingest.loader import load_paths
    from beaconhunt.store.duckdb import DuckDBStore

    store = DuckDBStore()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    records = rows = 0
    for _ in range(repeat):
        report = load_paths(paths, store)
        used = sum(v for k, v in report.rows.items() if k.startswith("sysmon_"))
        records += used + sum(report.skipped_records.values()) + report.skipped_lines
        rows += used
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": records, "rows": rows, "seconds": seconds, "base_mb": base,
                      "peak_mb": peak}))  # fmt: skip


def _child_evtx(files: list[Path], repeat: int) -> None:
    """Bare parser, parser + json.loads, and the beaconhunt reader over ``files``."""
    from evtx import PyEvtxParser

    from beaconhunt.ingest.sysmon import SysmonBatches, read_evtx

    def bare(parse: bool) -> int:
        n = 0
        for _ in range(repeat):
            for f in files:
                for record in PyEvtxParser(str(f)).records_json():
                    if parse:
                        json.loads(record["data"])
                    n += 1
        return n

    def reader() -> int:
        n = 0
        for _ in range(repeat):
            for f in files:
                out = SysmonBatches()
                for table in read_evtx(f, out):
                    out.take(table)
                n += out.records
        return n

    result = {}
    for name, run in (("bare", lambda: bare(False)), ("json", lambda: bare(True)),
                      ("reader", reader)):  # fmt: skip
        t = time.perf_counter()
        n = run()
        result[name] = n / (time.perf_counter() - t)
    print(json.dumps(result))


def _run_child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _print_load(label: str, m: dict[str, float], size_mb: float | None = None) -> None:
    size = f", {size_mb:,.0f} MB" if size_mb is not None else ""
    print(
        f"{label:<22} {m['records']:>10,.0f} records{size} in {m['seconds']:6.2f} s:"
        f" {m['records'] / m['seconds']:>9,.0f} records/s, {m['rows'] / m['seconds']:>9,.0f}"
        f" rows/s, peak RSS {m['peak_mb']:,.0f} MB (store + interpreter {m['base_mb']:,.0f} MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=30, help="passes over the EVTX samples")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, repeat, *paths = args.child
        fn = _child_load if mode == "load" else _child_evtx
        fn([Path(p) for p in paths], int(repeat))
        return
    data = HERE.parent / "bench-data"
    data.mkdir(exist_ok=True)
    print(f"JSON lines: {args.events:,} records per layout")
    for layout in LAYOUTS:
        path = data / f"sysmon-{layout}-{args.events}.json"
        if not path.exists():
            _write(layout, args.events, path)
        m = _run_child("load", "1", str(path))
        _print_load(layout, m, path.stat().st_size / 1e6)
        if not args.keep:
            path.unlink()
    files = sorted(SAMPLES.glob("*.evtx")) if SAMPLES.is_dir() else []
    if not files:
        print(f"EVTX: no samples at {SAMPLES}, skipped")
        return
    print(f"EVTX: {len(files)} sample files x {args.repeat}")
    speeds = _run_child("evtx", str(args.repeat), *map(str, files))
    print(f"{'  evtx parser only':<22} {speeds['bare']:>10,.0f} records/s")
    print(f"{'  parser + json.loads':<22} {speeds['json']:>10,.0f} records/s")
    print(f"{'  read_evtx (+ mapping)':<22} {speeds['reader']:>10,.0f} records/s")
    with tempfile.TemporaryDirectory(prefix="bench-evtx-") as tmp:
        # a folder of many EVTX files, as analysts collect them (copies in /tmp only)
        for i in range(args.repeat):
            for f in files:
                shutil.copyfile(f, Path(tmp) / f"{i:03d}-{f.name}")
        _print_load("  load folder to store", _run_child("load", "1", tmp))


if __name__ == "__main__":
    main()
