"""The synthetic capture in other network log formats (firewall, proxy, flow, IDS).

Every renderer turns the same simulated traffic, given as the Zeek-shaped
frames of :func:`beaconhunt.synth.generator.generate` (``conn``, ``dns``,
``ssl``, ``http``; see :class:`~beaconhunt.synth.zeek_writer.LogFrame`), into
the files that product would have written for it, so a hunt over any
rendering can be compared with the hunt over the Zeek logs. A module here
defines::

    def render(frames: Mapping[str, LogFrame], world: World, out_dir: Path,
               span: tuple[float, float]) -> list[Path]

and returns the paths it wrote. What a format cannot carry (a proxy sees only
web requests, a firewall has no names, NetFlow no TLS) is simply absent, as
in real life; each module's docstring says what it keeps.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from beaconhunt.errors import ConfigError
from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["NETWORK_FORMATS", "render"]

#: Formats the generator writes besides Zeek (``network_format`` of ``generate``).
NETWORK_FORMATS: tuple[str, ...] = (
    "suricata",
    "nfdump",
    "squid",
    "w3c",
    "panos",
    "winfw",
    "netfilter",
)


def render(
    fmt: str,
    frames: Mapping[str, LogFrame],
    world: World,
    out_dir: Path,
    span: tuple[float, float],
) -> list[Path]:
    """Write the capture as ``fmt`` under ``out_dir``; return the files written."""
    if fmt not in NETWORK_FORMATS:
        known = ", ".join(("zeek", *NETWORK_FORMATS))
        raise ConfigError(f"unknown network format {fmt!r} (known: {known})")
    module = importlib.import_module(f"{__name__}.{fmt}")
    paths: list[Path] = module.render(frames, world, out_dir, span)
    return paths
