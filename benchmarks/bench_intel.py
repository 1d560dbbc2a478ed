"""Speed and memory of loading and matching a large threat-intel feed.

Usage: python benchmarks/bench_intel.py [--indicators 5000000] [--lookups 10000]

Writes a CSV feed (indicator,type,description) of ``--indicators`` lines, a mix of
domains, IPs, CIDRs and URLs, loads it with ``beaconhunt.enrich.context.load_intel``
and matches ``--lookups`` findings' domains and addresses against it. Prints the load
and match seconds and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from beaconhunt.enrich.intel import load_intel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--indicators", type=int, default=5_000_000)
    ap.add_argument("--lookups", type=int, default=10_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "intel.csv"
        with feed.open("w", encoding="utf-8") as fh:
            fh.write("indicator,type,description\n")
            for i in range(a.indicators):
                k = i % 4
                if k == 0:
                    fh.write(f"bad{i}.example.com,domain,feed\n")
                elif k == 1:
                    fh.write(f"198.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255},ip,feed\n")
                elif k == 2:
                    fh.write(f"10.{i >> 16 & 255}.{i >> 8 & 255}.0/24,cidr,feed\n")
                else:
                    fh.write(f"http://c2-{i}.example.net/gate.php,url,feed\n")
        t0 = time.perf_counter()
        intel = load_intel(feed)
        t1 = time.perf_counter()
        hits = 0
        for j in range(a.lookups):
            hits += len(intel.match(f"www.bad{j * 4}.example.com", [f"203.0.113.{j % 250}"]))
        t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(intel):,} indicators: load {t1 - t0:.1f} s; {a.lookups:,} lookups"
          f" {t2 - t1:.2f} s ({hits:,} hits); peak RSS {rss:,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
