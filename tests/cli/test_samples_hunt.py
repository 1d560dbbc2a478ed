"""The hunt over real-world captures in ../shared/samples (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from beaconhunt.config import HuntSettings
from beaconhunt.enrich import Allowlist, AllowlistEntry
from beaconhunt.model import Decision
from beaconhunt.pipeline import hunt


def test_rita_proxy_beacon_is_found_behind_the_proxy(samples: Path) -> None:
    result = hunt([samples / "rita-proxy-beacon"], HuntSettings(min_score=0.0))
    top = max(result.findings, key=lambda f: f.score)
    # RITA's own integration test expects this pair first (score 0.979 there)
    assert (top.src_ip, top.dst_domain, top.dst_port) == (
        "10.136.0.18",
        "www.honestimnotevil.com",
        443,
    )
    # network logs only, one client: regular but nothing explains or condemns it
    assert top.decision is Decision.MONITOR and top.rule == "not-understood"
    assert top.connections == 397
    assert 240 < (top.interval_s or 0) < 260  # MANIFEST: median 249 s
    assert top.dst_ip == "10.136.0.16"  # the proxy's address, grouped by CONNECT host
    google = next(f for f in result.findings if f.dst_domain == "www.google.com")
    assert google.score < 0.5


def test_benign_periodic_capture_is_closed_by_an_allowlist(samples: Path) -> None:
    # the capture host is a public address: tell the hunt it is ours
    settings = HuntSettings(internal=["147.32.81.167/32"])
    plain = hunt([samples / "strat-008-benign-periodic"], settings)
    # timing alone cannot tell an AV updater from an implant: these rank high...
    eset = next(f for f in plain.findings if f.dst_ip == "91.228.167.171")
    assert eset.connections == 248 and 295 < (eset.interval_s or 0) < 310
    assert eset.score > 0.9
    # ...but nothing else condemns them, so the policy monitors instead of escalating
    assert not [f for f in plain.findings if f.decision is Decision.ESCALATE]
    assert eset.decision is Decision.MONITOR
    # ...and approved infrastructure closes them: nothing escalates
    entries = [AllowlistEntry(v, "approved.txt", i) for i, v in enumerate(
        ["eset.com", "91.228.164.0/22", "microsoft.com", "20.0.0.0/8", "51.104.0.0/16",
         "dropbox.com", "162.125.0.0/16"], start=1)]  # fmt: skip
    allowed = hunt([samples / "strat-008-benign-periodic"], settings,
                   allowlist=Allowlist(entries))  # fmt: skip
    assert not [f for f in allowed.findings if f.decision is Decision.ESCALATE]
    closed = next(f for f in allowed.findings if f.dst_ip == "91.228.167.171")
    assert closed.decision is Decision.CLOSE and closed.rule == "approved-infrastructure"
    assert "allowlist.match" in {r.code for r in closed.reasons}


def test_otrf_apt29_internal_lab_needs_its_internal_range(samples: Path) -> None:
    # attacker infrastructure is 192.168.0.4 (RFC 1918): with default internal
    # ranges it is internal-to-internal and skipped, as documented
    default = hunt([samples / "otrf-apt29-zeek-json"], HuntSettings(min_score=0.0))
    assert not [f for f in default.findings if f.dst_ip == "192.168.0.4"]
    lab = hunt([samples / "otrf-apt29-zeek-json"],
               HuntSettings(internal=["10.0.0.0/8"], min_score=0.0))  # fmt: skip
    c2 = next(f for f in lab.findings if f.dst_ip == "192.168.0.4" and f.dst_port == 443)
    assert c2.src_ip == "10.0.1.5" and c2.connections == 676
