"""Shapes of C2 that are not a train of short connections, and their look-alikes.

``Scenario(shapes=True)`` (``beaconhunt generate --shapes``) adds to the day:

* implants (``escalate``), each on its own workstation left free by the
  implant mix: ``dns_beacon``, ``dnscat2``, ``iodine`` and ``dns_perimeter``
  (:mod:`.dns_c2`), two ``interactive_c2`` sessions and ``netflow_split``
  (:mod:`.sessions`);
* benign look-alikes: ``av_reputation_dns``, ``dnsbl``, ``cdn_discovery``,
  ``hashed_telemetry``, ``chrome_probe`` (:mod:`.dns_benign`) and
  ``chat_websocket``, ``imap_idle``, ``vpn_tunnel``, ``cloud_sync_longpoll``,
  ``admin_ssh`` (:mod:`.sessions`);
* two hosts after all others: the mail gateway ``srv-mail-01`` and the
  administrators' ``adm-ws-01`` (:data:`beaconhunt.synth.world.SHAPE_EXTRA_HOSTS`).

labels.csv keys: a DNS kind has one line per (client, zone): ``src_ip`` the
client that asked (the resolver for ``dns_perimeter``), ``dst`` the registered
domain of the names, ``dst_ip`` the address asked, ``dst_port`` 53 and
``connections`` the number of lookups. Long sessions are keyed like beacons
(source, destination name or address, port). All traffic comes from random
streams of its own (``Traffic.rng("shapes", ...)``) and new names and
addresses, so nothing here moves when the option is off.
"""

from __future__ import annotations

from beaconhunt.synth.flows import Traffic
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.shapes import dns_benign, dns_c2, sessions
from beaconhunt.synth.shapes.common import pool, shape_hosts
from beaconhunt.synth.shapes.kinds import (
    API_DNS_KINDS,
    DNS_KINDS,
    RAW_DNS_KINDS,
    SESSION_KINDS,
    SHAPE_IMPLANTS,
    SHAPE_LOOKALIKES,
)

__all__ = [
    "API_DNS_KINDS",
    "DNS_KINDS",
    "RAW_DNS_KINDS",
    "SESSION_KINDS",
    "SHAPE_IMPLANTS",
    "SHAPE_LOOKALIKES",
    "add_shapes",
    "finish_shapes",
]


def add_shapes(tr: Traffic) -> list[HiddenBeacon]:
    """Add every shape to ``tr`` (before :func:`~beaconhunt.synth.dns.add_dns`,
    which resolves the long sessions' names); return the implants, in
    :data:`SHAPE_IMPLANTS` order."""
    hosts = shape_hosts(tr)
    # long sessions first: they get the desktops
    interactive = [sessions.add_interactive(tr, hosts[0], 0),
                   sessions.add_interactive(tr, hosts[1], 1)]  # fmt: skip
    split = sessions.add_netflow_split(tr, hosts[2])
    iodine = dns_c2.add_iodine(tr, hosts[3])
    beacon = dns_c2.add_dns_beacon(tr, hosts[4])
    dnscat2 = dns_c2.add_dnscat2(tr, hosts[5])
    perimeter = dns_c2.add_dns_beacon(tr, hosts[6], perimeter=True)
    addresses = pool(tr)
    dns_benign.add_av_reputation(tr, addresses)
    dns_benign.add_dnsbl(tr, addresses)
    dns_benign.add_cdn(tr, addresses)
    dns_benign.add_hashed_telemetry(tr, addresses)
    dns_benign.add_chrome_probe(tr)
    sessions.add_benign_sessions(tr, addresses)
    return [beacon, dnscat2, iodine, perimeter, *interactive, split]


def finish_shapes(tr: Traffic) -> None:
    """What needs the lookups ``add_dns`` derived: label the CDN lookups by zone."""
    dns_benign.relabel_cdn(tr)
