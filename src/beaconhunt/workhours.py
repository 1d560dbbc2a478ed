"""Working hours: which check-ins fall outside a team's office day.

``WorkHours.parse("08:00-18:00", "mon-fri", "Europe/Berlin")`` reads the
``[evidence]`` settings; :meth:`WorkHours.off_hours` tells, for an array of
epoch seconds, which lie outside the working days and hours in that zone
(daylight saving included). Hours may wrap midnight (``22:00-06:00`` for a
night shift).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from beaconhunt.errors import ConfigError

__all__ = ["WorkHours"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _minute(h: str, m: str, text: str) -> int:
    hh, mm = int(h), int(m)
    if hh > 24 or mm > 59 or (hh == 24 and mm):
        raise ConfigError(f"work_hours {text!r}: {h}:{m} is not a time of day")
    return hh * 60 + mm


def _days(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if lo[:3] not in _DAYS or (hi and hi[:3] not in _DAYS):
            raise ConfigError(f"work_days {text!r}: use day names like 'mon-fri' or 'mon,wed'")
        a = _DAYS.index(lo[:3])
        b = _DAYS.index(hi[:3]) if hi else a
        k = a
        while True:
            out.add(k)
            if k == b:
                break
            k = (k + 1) % 7
    if not out:
        raise ConfigError(f"work_days {text!r}: no day given")
    return frozenset(out)


@dataclass(frozen=True)
class WorkHours:
    """Working days (0 = Monday) and minutes of the day, in a time zone."""

    days: frozenset[int]
    start_min: int
    end_min: int
    zone: ZoneInfo
    text: str

    @classmethod
    def parse(cls, hours: str, days: str, timezone: str) -> WorkHours:
        """Read the three ``[evidence]`` settings; ConfigError on any mistake."""
        m = _HOURS.match(hours)
        if not m:
            raise ConfigError(f"work_hours {hours!r}: use HH:MM-HH:MM, e.g. 08:00-18:00")
        start = _minute(m.group(1), m.group(2), hours)
        end = _minute(m.group(3), m.group(4), hours)
        if start == end:
            raise ConfigError(f"work_hours {hours!r}: start and end are the same")
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"timezone {timezone!r}: unknown time zone") from exc
        return cls(_days(days), start, end, zone, f"{hours.strip()} {days.strip()} {timezone}")

    def off_hours(self, times: NDArray[np.float64]) -> NDArray[np.bool_]:
        """True for each epoch time outside working days and hours."""
        out = np.empty(times.shape, dtype=bool)
        cache: dict[int, tuple[int, int]] = {}
        for i, t in enumerate(times.tolist()):
            hour_key = int(t // 3600)
            hit = cache.get(hour_key)
            if hit is None:
                local = datetime.fromtimestamp(hour_key * 3600, self.zone)
                hit = (local.weekday(), local.hour * 60 + local.minute)
                cache[hour_key] = hit
            weekday, base = hit
            minute = base + int((t - hour_key * 3600) // 60)
            if minute >= 1440:  # zones with a half-hour offset cross midnight mid-hour
                minute -= 1440
                weekday = (weekday + 1) % 7
            if self.start_min < self.end_min:
                inside = weekday in self.days and self.start_min <= minute < self.end_min
            else:  # night shift: the day that starts the shift owns it
                late = minute >= self.start_min and weekday in self.days
                early = minute < self.end_min and (weekday - 1) % 7 in self.days
                inside = late or early
            out[i] = not inside
        return out
