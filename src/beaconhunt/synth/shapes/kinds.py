"""The label kinds of :mod:`beaconhunt.synth.shapes` and how each resolves names.

Kept free of imports so the Sysmon and process builders can ask about a kind
without importing the traffic builders.
"""

from __future__ import annotations

__all__ = [
    "API_DNS_KINDS",
    "DNS_KINDS",
    "RAW_DNS_KINDS",
    "SESSION_KINDS",
    "SHAPE_IMPLANTS",
    "SHAPE_LOOKALIKES",
]

#: Implant kinds the shapes hide (labels.csv decision ``escalate``).
SHAPE_IMPLANTS = (
    "dns_beacon",
    "dnscat2",
    "iodine",
    "dns_perimeter",
    "interactive_c2",
    "netflow_split",
)
#: Benign look-alikes the shapes add (decision ``close``; ``vpn_tunnel`` is ``monitor``).
SHAPE_LOOKALIKES = (
    "av_reputation_dns",
    "dnsbl",
    "cdn_discovery",
    "hashed_telemetry",
    "chrome_probe",
    "chat_websocket",
    "imap_idle",
    "vpn_tunnel",
    "cloud_sync_longpoll",
    "admin_ssh",
)
#: Kinds whose labels.csv lines are keyed by the queried zone (``dst`` is the
#: registered domain, ``dst_port`` 53) and count lookups, not connections.
DNS_KINDS = frozenset(
    {
        "dns_beacon",
        "dnscat2",
        "iodine",
        "dns_perimeter",
        "av_reputation_dns",
        "dnsbl",
        "cdn_discovery",
        "hashed_telemetry",
        "chrome_probe",
    }
)
#: DNS kinds that resolve through the Windows DNS Client service (``DnsQuery``):
#: Sysmon event 22 names the program that asked, while the udp/53 socket (event
#: 3) belongs to the service (``svchost.exe -k NetworkService -s Dnscache``).
API_DNS_KINDS = frozenset(
    {"dns_beacon", "av_reputation_dns", "cdn_discovery", "hashed_telemetry", "chrome_probe"}
)
#: DNS kinds that send their own packets over one UDP socket (dnscat2 and iodine
#: build DNS messages themselves): no event 22, and event 3 names the tool.
RAW_DNS_KINDS = frozenset({"dnscat2", "iodine"})
#: Long-session kinds (labels keyed like beacons: source, destination, port).
SESSION_KINDS = frozenset(
    {
        "interactive_c2",
        "netflow_split",
        "chat_websocket",
        "imap_idle",
        "vpn_tunnel",
        "cloud_sync_longpoll",
        "admin_ssh",
    }
)
