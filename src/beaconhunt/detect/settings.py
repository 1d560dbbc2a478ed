"""Settings of the detectors that are not the beacon score (sections ``[long_session]``
and ``[dns]``): frozen dataclasses whose fields carry help text and range, like
:class:`~beaconhunt.detect.score.ScoreSettings`, so ``beaconhunt config --default``
prints them and a config file sets them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from beaconhunt.detect.score import _setting
from beaconhunt.errors import ConfigError

__all__ = ["DnsSettings", "LongSessionSettings"]


def _check_ranges(obj: object) -> None:
    """Every numeric field within the range its metadata declares."""
    for f in fields(obj):  # type: ignore[arg-type]
        v = getattr(obj, f.name)
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if lo is not None and not v >= lo:
            raise ConfigError(f"{f.name} = {v} is below its minimum {lo:g}")
        if hi is not None and not v <= hi:
            raise ConfigError(f"{f.name} = {v} is above its maximum {hi:g}")


@dataclass(frozen=True, slots=True)
class LongSessionSettings:
    """Thresholds of the long-session detector (section ``[long_session]``)."""

    min_duration_s: float = _setting(
        3600.0,
        "Connected time (seconds, over the window) from which a pair is a long session.",
        60.0,
        30 * 86400.0,
    )
    min_piece_s: float = _setting(
        600.0,
        "Connections shorter than this (seconds) are requests, not session time.",
        1.0,
        86400.0,
    )
    full_s: float = _setting(
        43200.0,
        "Connected time (seconds) at which the long-session score reaches 1.",
        60.0,
        365 * 86400.0,
    )
    open_slack_s: float = _setting(
        300.0,
        "A connection ending this close (seconds) to the end of the log, in a state"
        " that is not closed, is still open at the end.",
        0.0,
        86400.0,
    )
    reconnect_gap_s: float = _setting(
        900.0,
        "A new session starting within this many seconds of the previous one's end is a reconnect.",
        0.0,
        86400.0,
    )

    def __post_init__(self) -> None:
        _check_ranges(self)
        if self.full_s <= self.min_duration_s:
            raise ConfigError(
                f"full_s ({self.full_s:g}) must be above min_duration_s ({self.min_duration_s:g})"
            )
        if self.min_piece_s > self.min_duration_s:
            raise ConfigError(
                f"min_piece_s ({self.min_piece_s:g}) must not exceed"
                f" min_duration_s ({self.min_duration_s:g})"
            )


@dataclass(frozen=True, slots=True)
class DnsSettings:
    """Thresholds of the C2-over-DNS detector (section ``[dns]``, docs/detectors.md)."""

    min_unique: int = _setting(
        30,
        "Distinct names a client must look up under one zone (in the window) for the"
        " zone to be examined.",
        2,
        10_000_000,
    )
    full_unique: int = _setting(
        3000,
        "Distinct names under one zone at which the volume part of the DNS score reaches 1.",
        3,
        100_000_000,
    )
    encoded_length: float = _setting(
        24.0,
        "Mean length (characters) of the part of the names left of the zone from which"
        " the labels look like they carry data (dns.encoded_labels).",
        1.0,
        253.0,
    )
    rare_qtype_share: float = _setting(
        0.5,
        "Share of a zone's lookups asking for TXT, NULL, MX, CNAME, SRV, ANY or PRIVATE"
        " records from which dns.rare_qtype is said.",
        0.0,
        1.0,
    )
    high_volume_per_hour: float = _setting(
        50_000.0,
        "Characters of fresh names per hour (between a zone's first and last lookup, at"
        " least one hour) from which the lookups carry bulk data (dns.high_volume).",
        1.0,
        1e12,
    )
    regular_at: float = _setting(
        0.7,
        "Beacon score of the lookup times from which they are periodic (dns.periodic).",
        0.0,
        1.0,
    )
    dga_min_zones: int = _setting(
        20,
        "Distinct registered domains a client must fail to resolve (NXDOMAIN) in the"
        " window for a generated-domain (DGA) finding.",
        2,
        10_000_000,
    )
    dga_min_label: float = _setting(
        10.0,
        "Mean length of those domains' own label (left of the public suffix) from which"
        " they look generated.",
        1.0,
        63.0,
    )
    samples: int = _setting(5, "Sample names shown per DNS finding.", 0, 100)

    def __post_init__(self) -> None:
        _check_ranges(self)
        if self.full_unique <= self.min_unique:
            raise ConfigError(
                f"full_unique ({self.full_unique}) must be above min_unique ({self.min_unique})"
            )
