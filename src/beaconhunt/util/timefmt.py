"""Time formats shared by the outputs."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_utc", "parse_iso_utc"]

_ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso_utc(ts: float) -> str:
    """ISO 8601 UTC with a ``Z``, to the second (``2026-11-01T08:00:05Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime(_ISO)


def parse_iso_utc(text: str) -> float:
    """Epoch seconds of an :func:`iso_utc` string."""
    return datetime.strptime(text, _ISO).replace(tzinfo=UTC).timestamp()
