"""Every evidence code of the investigation pivots, from the pure pivot functions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from beaconhunt.config import DecideSettings, EvidenceSettings
from beaconhunt.enrich.apps import load_apps
from beaconhunt.enrich.context import load_assets, load_whois
from beaconhunt.enrich.intel import load_intel
from beaconhunt.enrich.pivots import (
    DestinationFacts,
    HostFacts,
    LateralPeer,
    beacon_evidence,
    destination_evidence,
    host_evidence,
    intel_evidence,
    lateral_evidence,
    process_context_evidence,
    timing_context_evidence,
)
from beaconhunt.model import Evidence, ProcessShare
from beaconhunt.workhours import WorkHours

DAY = 86400.0
T0 = datetime(2026, 11, 3, tzinfo=UTC).timestamp()
S = EvidenceSettings()


def codes(ev: list[Evidence]) -> list[str]:
    return [e.code for e in ev]


def facts(**kw: object) -> DestinationFacts:
    base: dict[str, object] = dict(
        key="evil-c2.example", domain="cdn.evil-c2.example", registered="evil-c2.example",
        shared_suffix=None, hosts=1, active_hosts=40, hosts_ever=1, first_seen=T0,
        history_start=T0, history_end=T0 + DAY, resolved=True,
    )  # fmt: skip
    base.update(kw)
    return DestinationFacts(**base)  # type: ignore[arg-type]


def test_rare_and_common_destinations() -> None:
    rare = destination_evidence(facts(hosts=1, hosts_ever=4), T0, None, S)
    assert codes(rare) == ["dest.rare"]
    assert "1 of 40 internal hosts (4 over the whole history)" in rare[0].text
    common = destination_evidence(facts(hosts=12), T0, None, S)
    assert codes(common) == ["dest.common"]
    assert codes(destination_evidence(facts(hosts=6), T0, None, S)) == []  # neither
    # a share threshold makes rare scale with the network size
    big = facts(hosts=50, active_hosts=10_000)
    assert codes(destination_evidence(big, T0, None, S)) == ["dest.rare"]
    # one host in the whole input: prevalence says nothing
    assert codes(destination_evidence(facts(hosts=1, active_hosts=1), T0, None, S)) == []


def test_new_and_known_destinations_need_history() -> None:
    # one day of history: too short to say either
    assert codes(destination_evidence(facts(hosts=6), T0, None, S)) == []
    new = facts(hosts=6, first_seen=T0 + 5 * DAY, history_end=T0 + 6 * DAY)
    ev = destination_evidence(new, T0 + 5 * DAY, None, S)
    assert codes(ev) == ["dest.new"] and "after 5.0 days of history without it" in ev[0].text
    gap = facts(hosts=6, first_seen=T0 + 5 * DAY, history_end=T0 + 6 * DAY,
                baseline_coverage=0.2)  # fmt: skip
    assert codes(destination_evidence(gap, T0 + 5 * DAY, None, S)) == []
    known = facts(hosts=6, first_seen=T0 + 3600, history_end=T0 + 30 * DAY)
    ev = destination_evidence(known, T0 + 29 * DAY, None, S)
    assert codes(ev) == ["dest.known"] and "(30 days)" in ev[0].text


def test_domain_age_at_the_time_of_the_traffic(tmp_path: Path) -> None:
    w = tmp_path / "whois.csv"
    w.write_text("domain,created\nevil-c2.example,2026-10-30\nexample.com,1997-03-02\n")
    whois = load_whois(w)
    young = destination_evidence(facts(hosts=6), T0, whois, S)
    assert codes(young) == ["dest.young_domain"]
    assert "registered 2026-10-30: the traffic began 4 days after registration" in young[0].text
    # hunted a year later, the same traffic still came from a young domain
    assert codes(destination_evidence(facts(hosts=6), T0, whois, S)) == ["dest.young_domain"]
    old = facts(hosts=6, key="example.com", domain="www.example.com", registered="example.com")
    ev = destination_evidence(old, T0, whois, S)
    assert codes(ev) == ["dest.established_domain"] and "(30 years" in ev[0].text
    before = destination_evidence(facts(hosts=6), T0 - 30 * DAY, whois, S)
    assert "before it was registered" in before[0].text
    unknown = facts(hosts=6, registered="unlisted.example")
    assert codes(destination_evidence(unknown, T0, whois, S)) == []


def test_direct_ip_no_dns_and_cloud() -> None:
    ev = destination_evidence(
        facts(key="198.51.100.23", domain=None, registered=None, resolved=False), T0, None, S
    )
    assert codes(ev) == ["dest.rare", "dest.direct_ip", "dest.no_dns"]
    # no DNS visibility for the source: nothing said about resolution
    ev = destination_evidence(facts(resolved=None, hosts=6), T0, None, S)
    assert codes(ev) == []
    cloud = facts(hosts=6, domain="d1.cloudfront.net", registered="cloudfront.net",
                  shared_suffix="cloudfront.net")  # fmt: skip
    ev = destination_evidence(cloud, T0, None, S)
    assert codes(ev) == ["dest.cloud"] and "cloudfront.net" in ev[0].text


def test_cloud_tenants_are_never_called_established(tmp_path: Path) -> None:
    w = tmp_path / "whois.csv"
    w.write_text("domain,created\ncloudfront.net,2008-04-24\n")
    cloud = facts(hosts=6, domain="d1.cloudfront.net", registered="cloudfront.net",
                  shared_suffix="cloudfront.net")  # fmt: skip
    assert codes(destination_evidence(cloud, T0, load_whois(w), S)) == ["dest.cloud"]


def test_beacon_bands() -> None:
    d = DecideSettings()
    assert codes(beacon_evidence(0.9, d)) == ["beacon.regular", "beacon.strong"]
    assert codes(beacon_evidence(0.75, d)) == ["beacon.regular"]
    assert codes(beacon_evidence(0.6, d)) == ["beacon.weak"]


def test_low_volume_and_off_hours() -> None:
    hours = WorkHours.parse("08:00-18:00", "mon-fri", "UTC")
    day = T0 + np.arange(0, DAY, 600.0)  # every 10 minutes for a Tuesday
    ev = timing_context_evidence(day, 300.0, 2000.0, hours, False, S)
    assert codes(ev) == ["volume.low", "timing.off_hours"]
    assert "58% of the 144 connections" in ev[1].text
    # servers work around the clock: no off-hours evidence
    assert codes(timing_context_evidence(day, 300.0, 2000.0, hours, True, S)) == ["volume.low"]
    office = T0 + 9 * 3600 + np.arange(0, 8 * 3600, 600.0)
    assert codes(timing_context_evidence(office, 1e6, None, hours, False, S)) == []
    assert codes(timing_context_evidence(office, None, None, hours, False, S)) == []


def proc(image: str = r"C:\Program Files\Dropbox\Client\Dropbox.exe") -> ProcessShare:
    return ProcessShare(image, "WS-1", "{g}", 10, "u", image, None, 90, 1.0)


def test_process_unknown_approved_unapproved() -> None:
    none = load_apps(None, "cfg")
    ev = process_context_evidence((), "a.example", (), none, False)
    assert codes(ev) == ["process.unknown"] and "no endpoint telemetry" in ev[0].text
    ev = process_context_evidence((), "a.example", (), none, True)
    assert "do not include these connections" in ev[0].text
    assert process_context_evidence((proc(),), "client.dropbox.com", (), none, True) == []
    apps = load_apps([{"name": "Dropbox", "image": "*\\dropbox.exe",
                       "destinations": ["dropbox.com"]}], "cfg.toml")  # fmt: skip
    ok = process_context_evidence((proc(),), "client.dropbox.com", (), apps, True)
    assert codes(ok) == ["process.approved"] and "'Dropbox'" in ok[0].text
    bad = process_context_evidence((proc(),), "evil.example", (), apps, True)
    assert codes(bad) == ["process.unapproved"]


def test_host_role_criticality_and_events(tmp_path: Path) -> None:
    a = tmp_path / "assets.csv"
    a.write_text(
        "hostname,ip,role,owner,criticality\n"
        "ws-1,10.0.0.5,laptop,anna,high\nsrv-1,10.0.0.9,database,dba,low\n"
    )
    inv = load_assets(a)
    ev = host_evidence(inv.lookup("10.0.0.5"), HostFacts("ws-1"), True)
    assert codes(ev) == ["host.workstation", "host.critical"]
    assert "ws-1 is a laptop, owner anna, criticality high (assets.csv:2)" in ev[0].text
    assert codes(host_evidence(inv.lookup("10.0.0.9"), HostFacts("srv-1"), True)) == ["host.server"]
    assert codes(host_evidence(None, HostFacts(None), True)) == ["host.unknown"]
    assert codes(host_evidence(None, HostFacts(None), False)) == []
    events = HostFacts(
        "ws-1",
        suspicious=(Evidence("process.powershell_encoded", "enc"),) * 2,
        persistence=(Evidence("persistence.run_key", "Run key"),),
    )
    ev = host_evidence(None, events, False)
    assert codes(ev) == ["host.suspicious_execution", "host.persistence"]
    assert (
        ev[0].text.startswith("2 suspicious process starts on this host")
        and "(+1 more)" in ev[0].text
    )


def test_lateral_same_destination_and_same_process() -> None:
    img = r"C:\Users\{}\AppData\Local\Temp\upd.exe"
    me = LateralPeer("10.0.0.1", "ws-1", "evil.example", img.format("anna"), 60.0)
    peers = [
        me,
        LateralPeer("10.0.0.2", "ws-2", "evil.example", None, 300.0),
        LateralPeer("10.0.0.3", "ws-3", "other.example", img.format("ben"), 63.0),
        LateralPeer("10.0.0.4", "ws-4", "other.example", img.format("cy"), 120.0),
    ]
    ev = lateral_evidence(me, peers, 0.1)
    assert codes(ev) == ["lateral.same_destination", "lateral.same_process"]
    assert "1 other host(s) beacon to evil.example: ws-2 (10.0.0.2)" in ev[0].text
    assert "ws-3 (10.0.0.3)" in ev[1].text and "ws-4" not in ev[1].text
    assert lateral_evidence(me, [me], 0.1) == []
    many = [LateralPeer(f"10.0.1.{i}", None, "evil.example", None, None) for i in range(8)]
    assert "and 3 more" in lateral_evidence(me, many, 0.1, listed=5)[0].text


def test_intel_matches_are_listed(tmp_path: Path) -> None:
    f = tmp_path / "intel.csv"
    f.write_text("indicator,type,description\n198.51.100.23,ip,Sliver C2\nevil.example,domain,x\n")
    intel = load_intel(f)
    ev = intel_evidence(intel.match("cdn.evil.example", ["198.51.100.23"]))
    assert codes(ev) == ["intel.match", "intel.match"]
    assert any("Sliver C2" in e.text and "intel.csv:2" in e.text for e in ev)
    assert intel_evidence(intel.match("good.example", ["192.0.2.1"])) == []


@pytest.mark.parametrize("hostile", ["evil\x1b[31m.example", "a\nb.example"])
def test_texts_are_single_line_and_escaped(hostile: str) -> None:
    ev = destination_evidence(facts(key=hostile, hosts=1), T0, None, S)
    assert all("\x1b" not in e.text and "\n" not in e.text for e in ev)
