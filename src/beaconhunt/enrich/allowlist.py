"""Approved destinations: domains (covering their subdomains), IPs and CIDRs.

File format, one entry per line::

    # comments start with '#', also after an entry
    update.microsoft.com        # covers *.update.microsoft.com too
    203.0.113.7
    198.51.100.0/24
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from beaconhunt.errors import ConfigError

__all__ = ["Allowlist", "AllowlistEntry"]

_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9_-]+\.)*[a-z0-9_-]+\.?$")


@dataclass(frozen=True, slots=True)
class AllowlistEntry:
    """One allowlist line: the entry as written and where it came from."""

    value: str
    file: str
    line: int

    def describe(self) -> str:
        """``value (file:line)``, or ``value (source)`` for an entry not read from a file."""
        if not self.line:
            return f"{self.value} ({self.file})"
        return f"{self.value} ({Path(self.file).name}:{self.line})"


class Allowlist:
    """Matches destinations against approved domains, IPs and networks."""

    def __init__(self, entries: list[AllowlistEntry] | None = None) -> None:
        self._domains: dict[str, AllowlistEntry] = {}
        self._nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, AllowlistEntry]] = []
        for e in entries or []:
            self._add(e)

    def __len__(self) -> int:
        return len(self._domains) + len(self._nets)

    def _add(self, e: AllowlistEntry) -> None:
        v = e.value.strip().lower()
        try:
            self._nets.append((ipaddress.ip_network(v, strict=False), e))
            return
        except ValueError:
            pass
        if not _DOMAIN.match(v):
            where = f"{e.file}:{e.line}" if e.line else e.file
            raise ConfigError(f"{where}: {e.value!r} is not a domain, IP or CIDR")
        self._domains[v.removeprefix("*.").rstrip(".")] = e

    @classmethod
    def from_file(cls, path: Path) -> Allowlist:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read allowlist: {exc}") from exc
        entries = []
        for n, raw in enumerate(text.splitlines(), start=1):
            value = raw.split("#", 1)[0].strip()
            if value:
                entries.append(AllowlistEntry(value, str(path), n))
        return cls(entries)

    def match_domain(self, domain: str | None) -> AllowlistEntry | None:
        """The entry covering ``domain`` or one of its parent domains."""
        if not domain:
            return None
        labels = domain.lower().rstrip(".").split(".")
        for i in range(len(labels)):
            hit = self._domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return None

    def match_ip(self, ip: str | None) -> AllowlistEntry | None:
        """The entry whose IP or network contains ``ip``."""
        if not ip or not self._nets:
            return None
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return None
        for net, e in self._nets:
            if addr.version == net.version and addr in net:
                return e
        return None

    def match(self, domain: str | None, ips: tuple[str, ...]) -> AllowlistEntry | None:
        """First entry matching the domain, else any of the destination IPs."""
        hit = self.match_domain(domain)
        if hit is not None:
            return hit
        for ip in ips:
            hit = self.match_ip(ip)
            if hit is not None:
                return hit
        return None
