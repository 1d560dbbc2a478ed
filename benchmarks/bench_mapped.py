"""Throughput of the field-mapped reader ([[sources]] in the config file).

Usage: python benchmarks/bench_mapped.py [--rows 500000] [--seed 7] [--formats csv,jsonl]

Writes a synthetic Splunk CIM Network_Traffic CSV export (the layout of
``docs/mappings/splunk_cim_network_traffic.toml``: ISO 8601 times with an offset,
an ``action`` column that decides what is kept) and the same rows as Elastic ECS
JSON lines (``docs/mappings/elastic_ecs_network.toml``), loads each into a fresh
in-memory store with its shipped mapping and prints records read per second, as
``bench_readers.py`` does, with the floor beside it: DuckDB scanning the same
bytes as lines, and the load's time as a multiple of it.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from beaconhunt.config import load_config
from beaconhunt.ingest.loader import load_paths
from beaconhunt.ingest.mapped import MappedReader, load_sources
from beaconhunt.store.duckdb import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = {
    "csv": ROOT / "docs" / "mappings" / "splunk_cim_network_traffic.toml",
    "jsonl": ROOT / "docs" / "mappings" / "elastic_ecs_network.toml",
}
_HEADER = (
    "_time,action,src_ip,src_port,dest_ip,dest_port,transport,bytes_out,bytes_in,duration,dest_host"
)


def _records(rows: int, seed: int) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    start = datetime(2026, 11, 3, tzinfo=UTC)
    hosts = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(200)]
    names = [f"svc{i}.example.com" for i in range(300)] + [""] * 100
    out: list[dict[str, object]] = []
    for i in range(rows):
        when = start + timedelta(milliseconds=i * 170 + rnd.randrange(170))
        out.append({
            "time": when.isoformat(timespec="milliseconds"),
            "action": rnd.choice(("allowed",) * 9 + ("blocked",)),
            "src_ip": rnd.choice(hosts),
            "src_port": rnd.randrange(1024, 65536),
            "dst_ip": f"203.0.{rnd.randrange(114)}.{rnd.randrange(1, 255)}",
            "dst_port": rnd.choice((443, 443, 443, 80, 53, 8443)),
            "proto": rnd.choice(("tcp", "tcp", "tcp", "udp", "17")),
            "bytes_out": rnd.randrange(40, 5000),
            "bytes_in": rnd.randrange(40, 500_000),
            "duration": round(rnd.random() * 30, 3),
            "domain": rnd.choice(names),
        })  # fmt: skip
    return out


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A Splunk CIM export of ``rows`` rows (one blocked in ten)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(_HEADER + "\n")
        for r in _records(rows, seed):
            fh.write(",".join(str(v) for v in r.values()) + "\n")


def write_jsonl(path: Path, rows: int, seed: int = 7) -> None:
    """The same rows as ECS documents."""
    with path.open("w", encoding="utf-8") as fh:
        for r in _records(rows, seed):
            doc = {
                "@timestamp": r["time"],
                "event": {"outcome": "success" if r["action"] == "allowed" else "failure",
                          "duration": int(float(str(r["duration"])) * 1e9)},
                "source": {"ip": r["src_ip"], "port": r["src_port"], "bytes": r["bytes_out"]},
                "destination": {"ip": r["dst_ip"], "port": r["dst_port"],
                                "bytes": r["bytes_in"], "domain": r["domain"] or None},
                "network": {"transport": r["proto"]},
            }  # fmt: skip
            fh.write(json.dumps(doc) + "\n")


def reader(fmt: str) -> MappedReader:
    path = MAPPINGS[fmt]
    (r,) = load_sources(load_config(path)["sources"], str(path))
    return r


def main() -> None:
    from bench_readers import bare_scan  # the same floor as the built-in readers'

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--formats", default="csv,jsonl")
    a = ap.parse_args()
    print(f"{a.rows:,} rows, seed {a.seed}")
    print(f"{'format':<10} {'files MB':>9} {'records':>10} {'seconds':>8} {'records/s':>11}"
          f" {'bare s':>7} {'x bare':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-mapped-") as tmp:
        for fmt in a.formats.split(","):
            f = Path(tmp) / f"export.{fmt}"
            (write_csv if fmt == "csv" else write_jsonl)(f, a.rows, a.seed)
            store = DuckDBStore()
            t = time.perf_counter()
            load_paths([f], store, sources=(reader(fmt),))
            seconds = time.perf_counter() - t
            records = store.count("conn")
            store.close()
            bare = bare_scan([f])
            size = f.stat().st_size / 1e6
            rate = records / seconds
            print(f"{fmt:<10} {size:>9.1f} {records:>10,} {seconds:>8.2f} {rate:>11,.0f}"
                  f" {bare:>7.2f} {seconds / bare:>7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
