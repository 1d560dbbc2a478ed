"""Throughput of every network log reader on the same synthetic traffic.

Usage: python benchmarks/bench_readers.py [--hosts 100] [--days 1] [--seed 7] [--formats a,b]

Generates one synthetic capture per format (:mod:`beaconhunt.synth.render`:
the same simulated traffic written as Zeek TSV, Suricata eve.json, nfdump CSV,
Squid and W3C proxy logs, PAN-OS, Windows Firewall and netfilter logs), then
loads each into a fresh in-memory store in this process and prints records
read per second (records = the connections the reader produced) and the size of
the files. Loading includes sniffing, parsing, staging and naming from DNS; it
excludes detection, which is the same for every format.

Beside each, the floor: DuckDB scanning the same files as lines (``read_csv``
with one VARCHAR column, every line's length summed so each is materialised),
and the reader's time as a multiple of it (issue 15's goal: at most 3x, and at
least 300k records/s).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from beaconhunt.ingest.loader import load_paths
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.synth import Scenario, generate
from beaconhunt.synth.render import NETWORK_FORMATS

_CONTEXT = {"labels.csv", "assets.csv", "allowlist.txt", "whois.csv", "intel.csv"}


def _logs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _CONTEXT)


def bare_scan(files: list[Path]) -> float:
    """Seconds DuckDB takes to read ``files`` as lines (the floor a reader is measured
    against): one VARCHAR column, a separator that does not occur, no quoting."""
    con = duckdb.connect(config={"preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    con.execute(
        "SELECT sum(strlen(line)) FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false,"
        " delim = '\x1f', quote = '', escape = '', comment = '', auto_detect = false,"
        " ignore_errors = true, strict_mode = false, max_line_size = 16777216)",
        [[str(f) for f in files]],
    ).fetchall()
    seconds = time.perf_counter() - t
    con.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--formats", default=",".join(("zeek", *NETWORK_FORMATS)))
    a = ap.parse_args()
    scenario = Scenario(hosts=a.hosts, days=a.days, seed=a.seed)
    print(f"{a.hosts} hosts, {a.days:g} day(s), seed {a.seed}")
    print(f"{'format':<10} {'files MB':>9} {'records':>10} {'seconds':>8} {'records/s':>11}"
          f" {'bare s':>7} {'x bare':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-readers-") as tmp:
        for fmt in a.formats.split(","):
            out = Path(tmp) / fmt
            generate(out, scenario, network_format=fmt)
            logs = _logs(out)
            size = sum(p.stat().st_size for p in logs) / 1e6
            store = DuckDBStore()
            t = time.perf_counter()
            report = load_paths(logs, store)
            seconds = time.perf_counter() - t
            records = store.count("conn")
            store.close()
            bare = bare_scan(logs)
            bad = f"  ({report.skipped_lines} malformed)" if report.skipped_lines else ""
            rate = records / seconds
            print(f"{fmt:<10} {size:>9.1f} {records:>10,} {seconds:>8.2f} {rate:>11,.0f}"
                  f" {bare:>7.2f} {seconds / bare:>7.1f}{bad}")  # fmt: skip


if __name__ == "__main__":
    main()
