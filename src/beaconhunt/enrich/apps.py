"""The application inventory: which programs may talk to which destinations.

An allowlist approves a destination for everyone; an application entry
approves a (process, destination) pair, the way a security team documents
its software ("the CrowdStrike sensor talks to cloudsink.net"). Entries live
in the config file::

    [[apps]]
    name = "CrowdStrike Falcon sensor"
    image = 'C:\\Program Files\\CrowdStrike\\*'     # glob on the full path
    destinations = ["cloudsink.net"]                 # domains (with subdomains), IPs, CIDRs

    [[apps]]
    name = "Slack"
    image = '*\\slack.exe'
    destinations = ["slack.com", "slack-edge.com"]

``image`` is matched case-insensitively, with ``/`` and ``\\`` treated alike;
``*`` matches across folders. An empty or missing ``destinations`` approves
the program whatever it contacts (use sparingly). Only connections whose
process is known (endpoint telemetry) can match an entry.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beaconhunt.enrich.allowlist import Allowlist, AllowlistEntry
from beaconhunt.errors import ConfigError

__all__ = ["App", "AppInventory", "load_apps", "normalize_image"]

_KEYS = {"name", "image", "destinations"}


def normalize_image(path: str) -> str:
    """A process path in one spelling: lower case, ``\\`` separators, no quotes."""
    return path.strip().strip('"').replace("/", "\\").lower()


@dataclass(frozen=True)
class App:
    """One approved application: a name, an image glob and its destinations."""

    name: str
    image: str
    destinations: Allowlist
    source: str

    def __post_init__(self) -> None:
        pattern = fnmatch.translate(normalize_image(self.image))
        object.__setattr__(self, "_re", re.compile(pattern, re.DOTALL))

    def matches_image(self, image: str | None) -> bool:
        """True when ``image`` (a full path) fits this entry's glob."""
        if not image:
            return False
        rx: re.Pattern[str] = object.__getattribute__(self, "_re")
        return rx.match(normalize_image(image)) is not None

    def covers(self, domain: str | None, ips: Sequence[str]) -> bool:
        """True when the destination is one this application may contact."""
        if not len(self.destinations):
            return True
        return self.destinations.match(domain, tuple(ips)) is not None


class AppInventory:
    """Ordered application entries; the first that matches wins."""

    def __init__(self, apps: Iterable[App] = ()) -> None:
        self.apps = list(apps)

    def __len__(self) -> int:
        return len(self.apps)

    def match(self, image: str | None, domain: str | None, ips: Sequence[str]) -> App | None:
        """The entry approving ``image`` talking to this destination, if any."""
        for app in self.apps:
            if app.matches_image(image) and app.covers(domain, ips):
                return app
        return None


def load_apps(entries: object, source: str) -> AppInventory:
    """Build the inventory from the config file's ``[[apps]]`` array of tables."""
    if entries is None:
        return AppInventory()
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'apps' must be an array of tables ([[apps]])")
    apps = []
    for i, raw in enumerate(entries, start=1):
        where = f"{source} [[apps]] #{i}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a table with name, image, destinations")
        apps.append(_app(raw, where))
    return AppInventory(apps)


def _app(raw: Mapping[str, Any], where: str) -> App:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name, image = raw.get("name"), raw.get("image")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    if not isinstance(image, str) or not image.strip():
        raise ConfigError(f"{where} ({name}): 'image' must be a non-empty path or glob")
    dests = raw.get("destinations", [])
    if not isinstance(dests, list) or not all(isinstance(d, str) for d in dests):
        raise ConfigError(f"{where} ({name}): 'destinations' must be a list of strings")
    allow = Allowlist([AllowlistEntry(d, f"{where} ({name})", 0) for d in dests])
    return App(name.strip(), image.strip(), allow, f"{where} ({name})")
