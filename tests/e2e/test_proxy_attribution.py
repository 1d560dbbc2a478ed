"""Behind an explicit proxy, Sysmon sees the client connect to the proxy, and the proxy's
log names the requested host: the process is still attributed, through the proxy.

The synthetic day is written as a Squid log and as a W3C (ProxySG) log; its Sysmon events
are then rewritten the way an explicit proxy makes them look: every connection the proxy
carried goes to the proxy's address and port instead of the server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beaconhunt.cli_lab import folder_hunter
from beaconhunt.ingest.loader import load_paths
from beaconhunt.lab import load_labels, match
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.synth import Scenario, generate
from beaconhunt.synth.generator import SYSMON_FILE

PROXY_IP, PROXY_PORT = "10.10.0.3", 3128


def _through_the_proxy(day: Path) -> int:
    """Point the Sysmon events of every (client, server) pair the proxy log carried at the
    proxy (the pairs as beaconhunt's own reader reads them from the log)."""
    store = DuckDBStore()
    load_paths([p for p in day.iterdir() if p.name != SYSMON_FILE], store)
    sql = "SELECT DISTINCT src_ip, dst_ip FROM conn WHERE dst_ip IS NOT NULL"
    carried = set(store.con.execute(sql).fetchall())
    store.close()
    path = day / SYSMON_FILE
    out, moved = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        data = event["Event"]["EventData"]
        if (
            event["Event"]["System"]["EventID"] == 3
            and (data.get("SourceIp"), data.get("DestinationIp")) in carried
        ):
            data["DestinationIp"], data["DestinationPort"] = PROXY_IP, PROXY_PORT
            data["DestinationHostname"] = "proxy.corp.acme.internal"
            moved += 1
        out.append(json.dumps(event))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return moved


@pytest.fixture(scope="module", params=["squid", "w3c"])
def day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("proxied") / "day"
    generate(out, Scenario.small(seed=7), network_format=str(request.param), sysmon=True)
    assert _through_the_proxy(out) > 100
    return out


def test_implants_behind_the_proxy_get_their_process(day: Path) -> None:
    outcomes = match(folder_hunter()(day).findings, load_labels(day / "labels.csv"))
    implants = [o for o in outcomes if o.label.implant and o.finding is not None]
    assert len(implants) >= 4  # every family but Sliver's mTLS, which bypasses the proxy
    for o in implants:
        assert o.finding is not None
        assert (o.finding.process_image or "").lower() == o.label.process.lower(), o.label


def test_the_match_goes_through_the_proxy(day: Path) -> None:
    """No event names an implant's server any more, yet nearly every check-in is matched
    to the implant's process (closest event to the proxy; DNS lookups are not the proxy)."""
    labels = [lab for lab in load_labels(day / "labels.csv") if lab.implant]
    servers = {(lab.src_ip, ip) for lab in labels for ip in lab.addresses}
    for line in (day / SYSMON_FILE).read_text(encoding="utf-8").splitlines():
        data = json.loads(line)["Event"]["EventData"]
        pair = (data.get("SourceIp"), data.get("DestinationIp"))
        assert pair not in servers or data.get("DestinationPort") == 8888, pair  # Sliver mTLS
    outcomes = match(folder_hunter()(day).findings, labels)
    for o in outcomes:
        if o.finding is not None and o.finding.dst_port != 8888:
            top = o.finding.processes[0]
            # a browser reaching the proxy within the tolerance can be closer in time to a
            # check-in than the implant's own event: measured 0.89 at worst on this day
            assert top.share >= 0.8, (o.label.kind, top.image, top.share)
