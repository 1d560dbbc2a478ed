"""Which addresses are inside the organisation: the outbound filter's basis.

The default internal ranges are the ones no internet host uses: RFC 1918,
loopback, link-local, carrier-grade NAT (RFC 6598) and IPv6 unique-local and
link-local. Multicast, broadcast and unspecified addresses are never a
beaconing destination either, so they count as "not outbound" too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from beaconhunt.errors import ConfigError

__all__ = ["DEFAULT_INTERNAL", "Networks", "parse_networks"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_INTERNAL: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)

_NEVER_OUTBOUND: tuple[str, ...] = (
    "224.0.0.0/4",  # multicast
    "255.255.255.255/32",
    "0.0.0.0/8",
    "ff00::/8",
    "::/128",
)


def parse_networks(cidrs: Iterable[str], source: str = "--internal") -> list[IPNetwork]:
    """Parse CIDR strings (a bare address is a /32 or /128); ConfigError names the bad one."""
    out: list[IPNetwork] = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c.strip(), strict=False))
        except ValueError as exc:
            raise ConfigError(f"{source}: {c!r} is not an IP network ({exc})") from exc
    return out


class Networks:
    """Classifies addresses as internal (or never outbound) versus external."""

    def __init__(self, internal: Sequence[str] = DEFAULT_INTERNAL) -> None:
        self.internal = parse_networks(internal)
        self._special = parse_networks(_NEVER_OUTBOUND)
        self.is_internal = lru_cache(maxsize=1 << 16)(self._is_internal)

    def _is_internal(self, ip: str) -> bool:
        """True for an internal address, and for one that is never a real destination."""
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False  # not an address at all: treat as external, it is shown as is
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in n for n in self.internal) or any(addr in n for n in self._special)

    def networks(self) -> list[IPNetwork]:
        """Every network counted as internal, with those never outbound."""
        return [*self.internal, *self._special]

    def internal_of(self, ips: Iterable[str]) -> list[str]:
        """The subset of ``ips`` that is internal."""
        return [ip for ip in ips if self.is_internal(ip)]
