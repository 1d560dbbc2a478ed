"""The context loaders accept what ``beaconhunt.synth`` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from beaconhunt.enrich.context import load_assets, load_whois
from beaconhunt.enrich.intel import load_intel
from beaconhunt.synth.context import write_context
from beaconhunt.synth.scenario import Scenario
from beaconhunt.synth.world import build_world


def test_reads_synth_context_files(tmp_path: Path) -> None:
    s = Scenario(hosts=12)
    world = build_world(s, np.random.default_rng([s.seed, 0]))
    write_context(tmp_path, world, [])
    inv = load_assets(tmp_path / "assets.csv")
    assert len(inv) == len(world.hosts)
    for h in world.hosts:
        a = inv.by_ip(h.ip)
        assert a is not None and a.hostname == h.name
        assert inv.by_host(f"{h.name}.corp.example") is a
    whois = load_whois(tmp_path / "whois.csv")
    assert len(whois) > 0
    rec = next(iter(whois.records.values()))
    assert whois.age_days(rec.domain, s.start) is not None
    intel = load_intel(tmp_path / "intel.csv")
    assert intel.format == "csv" and len(intel) == 2
    assert intel.match("x.invoice-portal-secure.com", ["192.0.2.201"])
