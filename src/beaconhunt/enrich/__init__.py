"""The enrich stage: context that helps decide (networks, allowlists; later assets, intel)."""

from __future__ import annotations

from beaconhunt.enrich.allowlist import Allowlist, AllowlistEntry
from beaconhunt.enrich.network import DEFAULT_INTERNAL, Networks, parse_networks

__all__ = ["DEFAULT_INTERNAL", "Allowlist", "AllowlistEntry", "Networks", "parse_networks"]
