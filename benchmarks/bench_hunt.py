"""End-to-end speed and memory of ``beaconhunt hunt`` next to a bare DuckDB pass.

Usage: python benchmarks/bench_hunt.py [--rows 10000000] [--file PATH] [--keep]
       python benchmarks/bench_hunt.py --growth 1000000,5000000,10000000,30000000

1. Writes a synthetic Zeek conn.log (TSV) with ``--rows`` connections
   (benchmarks/make_connlog.py), unless ``--file`` names an existing one.
2. Runs, each in a fresh process so peak memory is its own:
   - bare: DuckDB reads the file and groups it by (source, destination, port)
     computing count, first/last seen, median bytes and interval quartiles:
     the least work any DuckDB-based beacon hunt has to do;
   - hunt: ``beaconhunt hunt FILE --format ndjson --output /dev/null -q``.
3. Prints connections per second, peak RSS and the hunt/bare time ratio, then the
   hunt's own profile (``beaconhunt hunt --timings``: seconds per stage).

``--growth`` runs steps 1-3 for each size (files kept in bench-data/ only with
``--keep``) and ends with a table of seconds per million connections at each size:
linear growth keeps that column flat.

Goal on a 2-core machine: >= 1.5M connections/s end to end, peak RSS < 2 GB,
ratio < 1.5.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_BARE = r"""
import sys, duckdb
f = sys.argv[1]
con = duckdb.connect(config={"preserve_insertion_order": False})
con.execute("SET enable_progress_bar = false")
fields = ["ts","uid","id.orig_h","id.orig_p","id.resp_h","id.resp_p","proto","service",
          "duration","orig_bytes","resp_bytes","conn_state","local_orig","local_resp",
          "missed_bytes","history","orig_pkts","orig_ip_bytes","resp_pkts","resp_ip_bytes",
          "tunnel_parents"]
cols = {c: "VARCHAR" for c in fields}
cols.update({"ts": "DOUBLE", "id.resp_p": "INTEGER", "orig_bytes": "BIGINT"})
n = con.execute('''
SELECT count(*) FROM (
  SELECT src, dst, port, count(*), min(ts), max(ts), median(b),
         quantile_cont(d, [0.25, 0.5, 0.75]), mad(d)
  FROM (SELECT "id.orig_h" src, "id.resp_h" dst, "id.resp_p" port, orig_bytes b, ts,
               ts - lag(ts) OVER (PARTITION BY "id.orig_h", "id.resp_h", "id.resp_p" ORDER BY ts) d
        FROM read_csv(?, delim='\t', quote='', escape='', comment='#', header=false,
                      nullstr='-', columns=?, auto_detect=false))
  GROUP BY ALL)''', [f, cols]).fetchall()[0][0]
print(n, "pairs")
"""


def _timed_err(cmd: list[str]) -> tuple[float, float, str, str]:
    """Wall seconds, peak RSS (MB), stdout and stderr of ``cmd``, run alone in a
    wrapper process."""
    wrapper = (
        "import resource, subprocess, sys, time;"
        "t=time.perf_counter(); p=subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "w=time.perf_counter()-t; r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024;"
        "sys.stdout.write(f'{w} {r} {p.returncode}\\n' + p.stdout); sys.stderr.write(p.stderr)"
    )
    res = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    first, _, rest = res.stdout.partition("\n")
    wall, rss, code = first.split()
    if int(code) != 0:
        sys.exit(f"command failed ({code}): {' '.join(cmd)}\n{res.stderr}")
    return float(wall), float(rss), rest, res.stderr


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    wall, rss, out, _ = _timed_err(cmd)
    return wall, rss, out


def _run(path: Path) -> tuple[int, float, float, float, float, str]:
    """Connections, bare seconds and MB, hunt seconds and MB, and the hunt's profile."""
    rows = sum(1 for _ in path.open("rb")) - 9  # 8 header lines + #close
    bare_s, bare_rss, bare_out = _timed([sys.executable, "-c", _BARE, str(path)])
    hunt_cmd = [sys.executable, "-m", "beaconhunt", "hunt", str(path), "--format", "ndjson",
                "--output", os.devnull, "-q", "--timings"]  # fmt: skip
    hunt_s, hunt_rss, _, profile = _timed_err(hunt_cmd)
    print(f"file: {path} ({path.stat().st_size / 1e6:,.0f} MB, {rows:,} connections)")
    print(f"bare duckdb : {bare_s:6.2f} s  {rows / bare_s / 1e6:5.2f} M conn/s"
          f"  peak RSS {bare_rss:,.0f} MB  ({bare_out.strip()})")  # fmt: skip
    print(f"hunt        : {hunt_s:6.2f} s  {rows / hunt_s / 1e6:5.2f} M conn/s"
          f"  peak RSS {hunt_rss:,.0f} MB")  # fmt: skip
    print(f"ratio hunt/bare: {hunt_s / bare_s:.2f}")
    print(f"hunt profile, {profile.strip()}", flush=True)
    return rows, bare_s, bare_rss, hunt_s, hunt_rss, profile


def _file(rows: int) -> Path:
    path = HERE.parent / "bench-data" / f"conn-{rows}.log"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {rows:,} connections -> {path}", flush=True)
        subprocess.run(
            [sys.executable, str(HERE / "make_connlog.py"), str(path), "--rows", str(rows)],
            check=True,
        )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--file", type=Path, help="existing conn.log to use instead")
    ap.add_argument("--keep", action="store_true", help="keep the generated file(s)")
    ap.add_argument("--growth", help="comma-separated sizes: run each, then the growth table")
    args = ap.parse_args()
    if args.growth:
        sizes = [int(x) for x in args.growth.split(",")]
        table = []
        for n in sizes:
            made = not (HERE.parent / "bench-data" / f"conn-{n}.log").exists()
            path = _file(n)
            table.append(_run(path))
            if made and not args.keep:
                path.unlink()
            print()
        print("| connections | bare s | hunt s | ratio | hunt s per 1M | hunt peak RSS MB |")
        print("|---|---|---|---|---|---|")
        for rows, bare_s, _, hunt_s, hunt_rss, _ in table:
            print(f"| {rows:,} | {bare_s:.2f} | {hunt_s:.2f} | {hunt_s / bare_s:.2f}"
                  f" | {hunt_s / rows * 1e6:.2f} | {hunt_rss:,.0f} |")  # fmt: skip
        return
    existed = (
        args.file is not None or (HERE.parent / "bench-data" / f"conn-{args.rows}.log").exists()
    )
    path = args.file or _file(args.rows)
    _run(path)
    if not existed and not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
