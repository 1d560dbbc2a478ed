"""Field parsing the line-oriented readers share: addresses, whole numbers, and how a
bad value is shown in a problem message.

Values come from logs an attacker may write into, so a message never shows more
than 40 characters of one, and shows control characters escaped (``repr``).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

__all__ = ["IPV4_SQL", "LARGEST_COUNT", "address", "show", "whole_number"]

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
#: A canonical IPv4 address as ``ipaddress`` writes it (no leading zeros), as an RE2
#: pattern for readers' SQL (no capturing group): text it matches is its own canonical form.
IPV4_SQL = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
#: The largest count the store holds (a signed 64-bit BIGINT): a larger one is out of range.
LARGEST_COUNT = (1 << 63) - 1


def show(text: str) -> str:
    """A field as shown in a message: quoted, escapes visible, cut at 40 characters."""
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


@lru_cache(maxsize=1 << 16)
def address(text: str) -> str:
    """The canonical text of an IPv4 or IPv6 address; ``ValueError`` naming the value
    otherwise. Cached: a log repeats the same few thousand addresses."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"not an IP address: {show(text)}") from None


def whole_number(text: str, what: str, top: int = LARGEST_COUNT) -> int:
    """A port or count written in ASCII digits, from 0 to ``top``; ``ValueError``
    (``unreadable <what> '...'`` or ``<what> '...' out of range``) otherwise."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"unreadable {what} {show(text)}")
    n = int(text)
    if n > top:
        raise ValueError(f"{what} {show(text)} out of range")
    return n
