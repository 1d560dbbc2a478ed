"""Real captures: the long-session detector finds the benign hours-long sessions and does
not escalate them; the beacon findings are those of the beacon detector alone
(../shared/samples; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from beaconhunt.config import HuntSettings
from beaconhunt.detect.base import DETECTORS
from beaconhunt.model import Decision
from beaconhunt.pipeline import hunt

IOT = "iot23-benign-and-hakai"


def test_hue_hub_day_long_cloud_session_is_found_and_closed(samples: Path) -> None:
    # the MANIFEST: one benign connection to 104.155.18.91:443 lasting 21.9 h
    found = hunt([samples / IOT / "CTU-Honeypot-Capture-4-1.conn.log.labeled"]).findings
    long = [f for f in found if f.kind == "long_session"]
    assert [(f.dst_ip, f.dst_port) for f in long] == [("104.155.18.91", 443)]
    f = long[0]
    assert f.info is not None and f.info["longest_s"] > 21 * 3600
    assert f.decision is Decision.CLOSE
    assert {"session.long", "session.open_at_end"} <= {r.code for r in f.reasons}


def test_ctu_normal_websockets_are_long_sessions_not_escalated(samples: Path) -> None:
    settings = HuntSettings(internal=["147.32.83.165/32"])
    found = hunt([samples / "strat-011-ctu-normal-benign"], settings).findings
    long = {f.dst_domain for f in found if f.kind == "long_session"}
    assert "wss-primary.slack.com" in long
    assert not [f for f in found if f.decision is Decision.ESCALATE]


def test_beacon_findings_do_not_depend_on_the_other_detectors(samples: Path) -> None:
    path = samples / IOT / "CTU-Malware-Capture-8-1.conn.log.labeled"
    every = [f for f in hunt([path]).findings if f.kind == "beacon"]
    saved = dict(DETECTORS)
    try:
        for kind in ("dns", "long_session"):
            del DETECTORS[kind]
        alone = hunt([path]).findings
    finally:
        DETECTORS.clear()
        DETECTORS.update(saved)
    key = [(f.finding_id, f.decision, f.rule, f.score) for f in every]
    assert key == [(f.finding_id, f.decision, f.rule, f.score) for f in alone]
