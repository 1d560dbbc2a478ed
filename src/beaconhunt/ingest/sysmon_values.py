"""Sysmon values as the endpoint tables hold them, from whatever a layout wrote.

Values are attacker-influenced: they stay strings and are never evaluated.
Times become epoch seconds; integers must be whole, non-negative and fit their
column (anything else is NULL); ``Initiated`` accepts ``true``/``false`` and
ECS's ``egress``/``ingress``; GUIDs are written ``{UPPERCASE}`` so events of one
process join whatever layout they came from; text longer than :data:`MAX_TEXT`
characters is cut, with a note; lone surrogates (from JSON ``\\ud800``
escapes), which UTF-8 storage rejects, become U+FFFD.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from beaconhunt.ingest.lines import valid_unicode

__all__ = ["MAX_TEXT", "as_bool", "as_guid", "as_int", "as_text", "as_time", "clip"]

#: Longest text value kept (characters); Windows command lines stop at 32767.
MAX_TEXT = 32 * 1024
_CUT = "…[truncated]"
_GUID_RE = re.compile(r"\{?([0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12})\}?")
# The same process GUIDs come back in many events: remember their canonical form.
_GUIDS: dict[str, str] = {}
_GUID_CACHE = 100_000


def as_time(value: Any, naive_is_utc: bool) -> float | None:
    """Epoch seconds from an ISO 8601 / Sysmon time string (or epoch number)."""
    if isinstance(value, dict):
        value = value.get("#text")
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().removesuffix(" UTC"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            if not naive_is_utc:
                return None
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value / 1000.0 if value > 1e11 else float(value)  # epoch milliseconds
    return None


def as_text(value: Any) -> str | None:
    """A value as the string it was written as; lists and objects as compact JSON."""
    if isinstance(value, dict) and "#text" in value:
        value = value["#text"]
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            return None
        return value if value.isascii() else valid_unicode(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return valid_unicode(json.dumps(value, ensure_ascii=False, default=str))


def clip(text: str | None, name: str, notes: list[str]) -> str | None:
    """``text`` cut to :data:`MAX_TEXT` characters (marked), with a note saying so."""
    if text is None or len(text) <= MAX_TEXT:
        return text
    notes.append(f"{name} is {len(text):,} characters long; kept the first {MAX_TEXT:,}")
    return text[:MAX_TEXT] + _CUT


def as_int(value: Any, largest: int) -> int | None:
    """A whole number in [0, largest] from an int or a decimal/hex string, else None."""
    if isinstance(value, dict):
        value = value.get("#text")
    if isinstance(value, str):
        s = value.strip()
        if not s or len(s) > 24 or not s.isascii():
            return None
        try:
            value = int(s, 16) if s[:2].lower() == "0x" else int(s)
        except ValueError:
            return None
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= largest else None


def as_bool(value: Any) -> bool | None:
    """True/False from a boolean, ``true``/``false``/``1``/``0`` or ECS's network direction."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "1", "egress", "outbound"):
            return True
        if v in ("false", "0", "ingress", "inbound"):
            return False
    return None


def as_guid(value: Any) -> str | None:
    """``{UPPERCASE-GUID}``, whatever braces and case the layout used; None if not a GUID."""
    if not isinstance(value, str):
        return None
    known = _GUIDS.get(value)
    if known is not None:
        return known
    m = _GUID_RE.fullmatch(value.strip())
    if not m:
        return None
    if len(_GUIDS) >= _GUID_CACHE:
        _GUIDS.clear()
    guid = _GUIDS[value] = "{" + m.group(1).upper() + "}"
    return guid
