"""Time of each hunt stage on a generated enterprise day, with every context file.

Usage: python benchmarks/bench_investigate.py [--hosts 200] [--days 1] [--seed 7]

Generates a synthetic capture (Zeek TSV logs, Sysmon JSON, assets, allowlist,
WHOIS, intel; :mod:`beaconhunt.synth`) into a temporary folder, hunts it in this
process with all context files, and prints the seconds spent loading, detecting
and investigating (the pivots: prevalence, first sighting, DNS use, host events,
lateral, intel) and the number of findings. The investigation runs for the
reported pairs only, so its cost follows the number of findings, not of rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from beaconhunt.config import DecideSettings, EvidenceSettings, HuntSettings
from beaconhunt.decide import Policy
from beaconhunt.detect import ScoreSettings
from beaconhunt.detect.filter import FilterSettings
from beaconhunt.enrich import Allowlist
from beaconhunt.enrich.context import load_assets, load_whois
from beaconhunt.enrich.intel import load_intel
from beaconhunt.enrich.investigate import Context
from beaconhunt.pipeline import hunt
from beaconhunt.synth import Scenario, generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-investigate-") as tmp:
        d = Path(tmp)
        t = time.perf_counter()
        summary = generate(d, Scenario(hosts=a.hosts, days=a.days, seed=a.seed), sysmon=True)
        print(
            f"generated {summary.counts['conn']:,} connections in {time.perf_counter() - t:.1f} s"
        )
        ctx = Context(
            allowlist=Allowlist.from_file(d / "allowlist.txt"),
            assets=load_assets(d / "assets.csv"),
            whois=load_whois(d / "whois.csv"),
            intel=load_intel(d / "intel.csv"),
        )
        r = hunt([d], HuntSettings(), ScoreSettings(), DecideSettings(), FilterSettings(),
                 context=ctx, evidence=EvidenceSettings(), policy=Policy.default())  # fmt: skip
        s = r.seconds
        print(
            f"hosts {a.hosts}, days {a.days:g}: {r.connections:,} connections,"
            f" {len(r.findings):,} findings; load {s['load']:.2f} s, detect"
            f" {s['detect'] - s.get('investigate', 0.0):.2f} s, investigate"
            f" {s.get('investigate', 0.0):.2f} s, total {s['total']:.2f} s"
        )


if __name__ == "__main__":
    main()
