"""Real captures: time sync and resolver traffic is recognised and closed, and the labelled
C2 ranks above it (../shared/samples; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from beaconhunt.config import HuntSettings
from beaconhunt.model import Decision, Finding
from beaconhunt.pipeline import hunt

IOT = "iot23-benign-and-hakai"


def _codes(f: Finding) -> set[str]:
    return {r.code for r in f.reasons}


def test_hakai_c2_ranks_above_ntp_to_pool_servers(samples: Path) -> None:
    # CTU-Malware-Capture-8-1: the Hakai bot's C2 is 178.128.185.250:50 and
    # 128.185.250.50:50 (labelled C&C); NTP to public pool servers is benign noise.
    found = hunt([samples / IOT / "CTU-Malware-Capture-8-1.conn.log.labeled"]).findings
    ntp = [f for f in found if f.dst_port == 123]
    c2 = [f for f in found if f.dst_port == 50]
    assert len(ntp) >= 4 and len(c2) == 2
    # every NTP pair conforms (48-byte client and server packets) and is closed
    for f in ntp:
        assert "service.ntp" in _codes(f), f.dst_ip
        assert (f.decision, f.rule) == (Decision.CLOSE, "known-protocol"), f.dst_ip
    # the C2 pairs rank above every NTP pair in the table
    rank = {id(f): i for i, f in enumerate(found)}
    assert max(rank[id(f)] for f in c2) < min(rank[id(f)] for f in ntp)
    assert all(f.decision is Decision.MONITOR for f in c2)  # no indicator without context


def test_hue_hub_ntp_is_closed_and_its_cloud_sessions_are_not_escalated(samples: Path) -> None:
    # CTU-Honeypot-Capture-4-1: a Philips HUE hub, all flows benign
    found = hunt([samples / IOT / "CTU-Honeypot-Capture-4-1.conn.log.labeled"]).findings
    assert not [f for f in found if f.decision is Decision.ESCALATE]
    ntp = [f for f in found if f.dst_port == 123]
    assert ntp and all(f.rule == "known-protocol" for f in ntp)


def test_ctu_normal_host_time_sync_and_dns_are_closed(samples: Path) -> None:
    # CTU-Normal-43: NTP to Apple time servers and Google DNS are benign, known protocols
    settings = HuntSettings(internal=("147.32.83.165/32",))
    found = hunt([samples / "strat-011-ctu-normal-benign"], settings).findings
    assert not [f for f in found if f.decision is Decision.ESCALATE]
    sync = [f for f in found if f.dst_port in (53, 123)]
    assert sync, "the capture has NTP and DNS pairs"
    for f in sync:
        assert _codes(f) & {"service.ntp", "service.dns"}, (f.dst_ip, f.dst_port)
        assert f.decision is Decision.CLOSE, (f.dst_ip, f.rule)
