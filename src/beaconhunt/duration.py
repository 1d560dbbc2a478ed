"""Parse human durations such as ``90s``, ``15m``, ``24h``, ``7d`` or ``1h30m``."""

from __future__ import annotations

import re

from beaconhunt.errors import ConfigError

__all__ = ["parse_duration"]

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a bare number is seconds. ConfigError when unreadable or <= 0."""
    t = text.strip().lower()
    try:
        seconds = float(t)
    except ValueError:
        pos, seconds = 0, 0.0
        for m in _PART.finditer(t):
            if m.start() != pos and t[pos : m.start()].strip():
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if pos == 0 or t[pos:].strip():
            raise ConfigError(
                f"cannot read duration {text!r}: use e.g. 90s, 15m, 24h, 7d or 1h30m"
            ) from None
    if seconds <= 0:
        raise ConfigError(f"duration {text!r} must be positive")
    return seconds
