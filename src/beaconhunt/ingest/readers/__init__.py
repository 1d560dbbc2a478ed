"""The network log readers, tried in this order on files that are not Zeek or Sysmon.

Each module defines ``READER``, an instance of
:class:`~beaconhunt.ingest.network.NetworkReader`. Order matters only when
two formats could claim the same file: the more specific one comes first.
"""

from __future__ import annotations

import importlib
from functools import cache

from beaconhunt.ingest.network import NetworkReader

__all__ = ["READER_MODULES", "network_readers"]

#: Modules under ``beaconhunt.ingest.readers``, most specific format first.
READER_MODULES: tuple[str, ...] = (
    "suricata",
    "nfdump",
    "panos",
    "winfw",
    "w3c",
    "squid",
    "netfilter",
)


@cache
def network_readers() -> tuple[NetworkReader, ...]:
    """One instance of every reader module that is present."""
    out: list[NetworkReader] = []
    for name in READER_MODULES:
        qualified = f"{__name__}.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                continue
            raise
        out.append(module.READER)
    return tuple(out)
