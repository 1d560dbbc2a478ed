"""Write a large synthetic Zeek conn.log (TSV, the exact layout Zeek emits) for benchmarks.

Usage: python benchmarks/make_connlog.py OUT [--rows N] [--seed S]

Rows are generated inside DuckDB (fast, no per-row Python), so 10M rows take
seconds. Traffic shape: 2,000 internal hosts in 10.x, 50,000 external
destinations, each host with its own Zipf-like favourites, mostly tcp/443 and udp/53, plus
beacons (one host, one destination, fixed sleep with jitter) so the hunt has
real work. Timestamps cover one day.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

HEADER = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#open\t2026-11-01-00-00-00
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]
"""

_ROWS_SQL = """
SELECT
  printf('%.6f', 1793491200 + random() * 86400)                               AS ts,
  'C' || substr(md5(i::VARCHAR), 1, 17)                                        AS uid,
  '10.' || (h // 250) || '.' || (h % 250 // 10) || '.' || (h % 10 + 10)        AS orig_h,
  (1024 + (i * 7919) % 64000)::VARCHAR                                         AS orig_p,
  (1 + d // 65536) || '.' || (d // 256 % 256) || '.' || (d % 256) || '.7'     AS resp_h,
  CASE WHEN d % 10 = 0 THEN '53' WHEN d % 10 = 1 THEN '80' ELSE '443' END      AS resp_p,
  CASE WHEN d % 10 = 0 THEN 'udp' ELSE 'tcp' END                               AS proto,
  CASE WHEN d % 10 = 0 THEN 'dns' WHEN d % 10 = 1 THEN 'http' ELSE 'ssl' END   AS service,
  printf('%.6f', random() * 30)                                                AS duration,
  (200 + (random() * random() * 20000)::BIGINT)::VARCHAR                       AS orig_bytes,
  (500 + (random() * random() * random() * 2000000)::BIGINT)::VARCHAR          AS resp_bytes,
  'SF' AS conn_state, 'T' AS local_orig, 'F' AS local_resp, '0' AS missed_bytes,
  'ShADadFf' AS history, '12' AS orig_pkts, '1400' AS orig_ip_bytes,
  '10' AS resp_pkts, '9000' AS resp_ip_bytes, '-' AS tunnel_parents
FROM (
  SELECT i, h,
         -- each host has its own Zipf-like favourites among 50,000 destinations:
         -- cubing a uniform concentrates on small ranks
         ((h * 7919 + (pow(random(), 3) * 3000)::BIGINT) % 50000) AS d
  FROM (SELECT i, (random() * 2000)::BIGINT AS h FROM range(?) t(i))
)
"""

_BEACON_SQL = """
SELECT
  printf('%.6f', 1793491200 + b.n * b.sleep + b.sleep * 0.3 * random()),
  'CB' || substr(md5(b.n::VARCHAR || b.k::VARCHAR), 1, 16),
  '10.9.' || b.k || '.77', (20000 + b.n % 30000)::VARCHAR,
  '203.0.113.' || b.k, '443', 'tcp', 'ssl', '0.2', '310', '1200', 'SF', 'T', 'F', '0',
  'ShADadFf', '6', '600', '5', '1500', '-'
FROM (
  SELECT k, sleep, n FROM (VALUES (1, 60.0), (2, 300.0), (3, 900.0), (4, 30.0)) v(k, sleep),
  LATERAL (SELECT unnest(range((86400 / sleep)::BIGINT)) AS n)
) b
"""


def make(out: Path, rows: int, seed: int) -> None:
    con = duckdb.connect()
    con.execute("SELECT setseed(?)", [seed / 2**31 % 1])
    body = out.with_suffix(".body")
    con.execute(
        f"COPY ({_ROWS_SQL} UNION ALL {_BEACON_SQL}) TO '{body}' "
        "(FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '')",
        [rows],
    )
    with out.open("wb") as fh:
        fh.write(HEADER.encode())
        with body.open("rb") as src:
            while chunk := src.read(1 << 24):
                fh.write(chunk)
        fh.write(b"#close\t2026-11-02-00-00-00\n")
    body.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    t0 = time.perf_counter()
    make(args.out, args.rows, args.seed)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
