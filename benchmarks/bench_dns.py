"""Speed of the DNS detector on a busy resolver log.

Usage: python benchmarks/bench_dns.py [--lookups 2000000] [--clients 1000]

Fills the store's ``dns_lookup`` table with ``--lookups`` lookups of distinct CDN-style
names (``e<i>.dscb.akamaiedge.net``) spread over ``--clients`` clients: every client
passes the unique-name gate, the worst case for the detector (every lookup is fetched
and grouped, every group scored). Prints the seconds to fetch the groups and to turn
them into candidates.
"""

from __future__ import annotations

import argparse
import time

from beaconhunt.detect import FilterSettings, ScoreSettings
from beaconhunt.detect.base import DetectInput
from beaconhunt.detect.dns import _zone_candidates
from beaconhunt.store import dns_lookups
from beaconhunt.store.duckdb import DuckDBStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lookups", type=int, default=2_000_000)
    ap.add_argument("--clients", type=int, default=1000)
    a = ap.parse_args()
    store = DuckDBStore()
    store.con.execute(
        "INSERT INTO dns_lookup SELECT 1.7e9 + i * 0.01, NULL,"
        " '10.1.' || (i % ? // 250)::VARCHAR || '.' || (i % ? % 250)::VARCHAR, '10.10.0.10',"
        " 'e' || i::VARCHAR || '.dscb.akamaiedge.net', 'A', 'NOERROR', '1.2.3.4'"
        " FROM range(?) t(i)",
        [a.clients, a.clients, a.lookups],
    )
    t0 = time.perf_counter()
    rows = dns_lookups.zone_lookups(store.con, 0, 2e9, 30, set())
    t1 = time.perf_counter()
    end = 1.7e9 + a.lookups * 0.01
    data = DetectInput(store, 1.7e9, end, 6, 0.5, ScoreSettings(), FilterSettings())
    found = _zone_candidates(rows, data, {}, {})
    t2 = time.perf_counter()
    print(f"{a.lookups:,} lookups, {a.clients:,} clients: fetch {t1 - t0:.2f} s,"
          f" groups -> {len(found):,} candidates {t2 - t1:.2f} s,"
          f" {a.lookups / (t2 - t0):,.0f} lookups/s")  # fmt: skip


if __name__ == "__main__":
    main()
