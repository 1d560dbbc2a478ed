"""Read the indicators of a STIX 2.1 bundle (the subset beaconhunt can match on).

A bundle is a JSON object ``{"type": "bundle", "objects": [...]}``. Only
``indicator`` objects whose ``pattern`` compares network observables by
equality are used::

    [ipv4-addr:value = '198.51.100.7']
    [ipv6-addr:value = '2001:db8::7']
    [ipv4-addr:value = '203.0.113.0/24']        (a CIDR)
    [domain-name:value = 'evil.example']
    [url:value = 'http://evil.example/gate.php']
    [domain-name:value = 'a.example' OR ipv4-addr:value = '198.51.100.9']
    [domain-name:value = 'a.example'] OR [url:value = 'http://b.example/x']

Every other object type (identity, malware, relationship...) is counted in
``ignored_objects``; indicators that are revoked, not in the STIX pattern
language, or whose pattern uses anything else (``AND``, ``MATCHES``, file
hashes, ``WITHIN`` qualifiers...) are counted in ``unsupported_patterns``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from beaconhunt.errors import ConfigError

__all__ = ["StixBundle", "StixIndicator", "parse_pattern", "parse_stix_bundle"]

StixKind = Literal["ip", "cidr", "domain", "url"]

_COMPARISON = re.compile(
    r"(ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'((?:[^'\\]|\\.)*)'", re.IGNORECASE
)
#: What may remain of a supported pattern once its comparisons are removed.
_GLUE = re.compile(r"^(?:[\s\[\]()]|\bOR\b)*$")


@dataclass(frozen=True, slots=True)
class StixIndicator:
    """One observable value taken from an indicator's pattern.

    ``line`` is the line of the bundle text where the indicator's ``id`` appears
    (1 when the indicator has no id).
    """

    value: str
    kind: StixKind
    description: str
    line: int


@dataclass(frozen=True, slots=True)
class StixBundle:
    """The usable indicators of a bundle and how much of it was skipped."""

    indicators: tuple[StixIndicator, ...]
    ignored_objects: int
    unsupported_patterns: int


def _kind(path: str, value: str) -> StixKind:
    """Map a STIX object path and its value to an indicator kind."""
    p = path.lower()
    if p == "domain-name":
        return "domain"
    if p == "url":
        return "url"
    return "cidr" if "/" in value else "ip"


def parse_pattern(pattern: str) -> list[tuple[StixKind, str]] | None:
    """(kind, value) of each comparison of ``pattern``; ``None`` when unsupported."""
    found = [
        (_kind(m.group(1), m.group(2)), re.sub(r"\\(.)", r"\1", m.group(2)))
        for m in _COMPARISON.finditer(pattern)
    ]
    rest = _COMPARISON.sub(" ", pattern)
    if not found or not _GLUE.match(rest):
        return None
    return found


def _line_of(text: str, obj_id: object) -> int:
    """1-based line of the first occurrence of ``obj_id`` as a JSON string."""
    if not isinstance(obj_id, str):
        return 1
    pos = text.find(json.dumps(obj_id))
    return 1 if pos < 0 else text.count("\n", 0, pos) + 1


def _description(obj: dict[str, Any]) -> str:
    """``name: description``, or whichever of the two the indicator has."""
    parts = [str(obj[k]).strip() for k in ("name", "description") if obj.get(k)]
    return ": ".join(p for p in parts if p)


def parse_stix_bundle(text: str, file: str) -> StixBundle:
    """Parse a STIX 2.1 bundle; raise :class:`ConfigError` if it is not one."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{file}: invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # json's limit on integer digits
        raise ConfigError(f"{file}: invalid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "bundle":
        raise ConfigError(f'{file}:1: not a STIX bundle (expected "type": "bundle")')
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise ConfigError(f'{file}:1: STIX bundle "objects" is not a list')
    out: list[StixIndicator] = []
    ignored = unsupported = 0
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            ignored += 1
            continue
        pattern = obj.get("pattern")
        parsed = (
            parse_pattern(pattern)
            if isinstance(pattern, str)
            and obj.get("pattern_type", "stix") == "stix"
            and not obj.get("revoked", False)
            else None
        )
        if parsed is None:
            unsupported += 1
            continue
        line, desc = _line_of(text, obj.get("id")), _description(obj)
        out.extend(StixIndicator(value, kind, desc, line) for kind, value in parsed)
    return StixBundle(tuple(out), ignored, unsupported)
