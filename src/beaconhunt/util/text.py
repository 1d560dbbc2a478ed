"""Make attacker-controlled strings safe to show.

Domain names, URLs and user agents come from the network: they can hold ANSI
escape sequences, other control characters or bidirectional overrides that
rewrite what an analyst sees. Everything shown in a terminal goes through
:func:`terminal_text` (and every message of the command line through
:class:`beaconhunt.report.safe.Messages`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["terminal_text"]

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def _visible(ch: str) -> str:
    if ch in _BIDI:
        return "?"
    cat = unicodedata.category(ch)
    # Zl/Zp (U+2028, U+2029) end a line for str.splitlines, JavaScript and some viewers
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch


_PLAIN = re.compile(r"^[\x20-\x7e]*$")


def terminal_text(value: object, max_len: int = 80) -> str:
    """``value`` as a printable one-line string of at most ``max_len`` characters.

    Control, format, line/paragraph separator and unassigned characters become
    ``\\xNN`` (``\\uNNNN``) escapes; bidirectional overrides become ``?``; longer
    text ends in ``…``.
    """
    if value is None:
        return "-"
    s = str(value)
    if not _PLAIN.match(s):
        s = "".join(_visible(ch) for ch in s)
    if len(s) > max_len:
        s = s[: max(1, max_len - 1)] + "…"
    return s
