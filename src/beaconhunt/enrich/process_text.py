"""Command lines as text: splitting, de-obfuscation for matching, safe excerpts.

Everything here reads attacker-controlled strings, so every function does
bounded work: only the first :data:`MAX_ANALYZED` characters are looked at
(Windows caps a command line at 32,767 characters; anything longer is not a
real one) and no regular expression can backtrack over the whole input.
"""

from __future__ import annotations

import re

from beaconhunt.util.text import terminal_text

__all__ = [
    "DASHES",
    "MAX_ANALYZED",
    "argv0_end",
    "clip",
    "deobfuscate",
    "excerpt",
    "split_argv",
    "tail_excerpt",
    "words",
]

MAX_ANALYZED = 1 << 16
"""Characters of a command line or registry value that are analysed (twice the Windows limit)."""

#: What PowerShell accepts in front of a switch besides ``/``: hyphen, en dash, em dash, bar.
DASHES = "-\u2013\u2014\u2015"

_TO_HYPHEN = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2015": "-"})
#: ``'Down'+'loadString'`` -> ``'DownloadString'``: joins of quoted fragments.
_CONCAT = re.compile(r"""['"]\s{0,8}\+\s{0,8}['"]""")
_LEX = re.compile(r'[^ \t"\\]+|\\+"?|"|[ \t]+')
_WORD = re.compile(r"""[&|;]+|[^\s&|;()<>"',]+""")


def split_argv(command_line: str) -> list[str]:
    """Split a Windows command line the way ``CommandLineToArgvW`` does.

    The program name ends at the first blank outside quotes and knows no
    escapes; after it, ``2n`` backslashes before a quote give ``n`` backslashes
    and toggle quoting, ``2n+1`` give ``n`` and a literal quote, and ``""``
    inside quotes is one literal quote.
    """
    s = command_line[:MAX_ANALYZED]
    start = len(s) - len(s.lstrip(" \t"))
    if start == len(s):
        return []
    end = argv0_end(s)
    quoted = s[start] == '"'
    first = s[start + quoted : end - (quoted and s.endswith('"', 0, end))]
    return [first, *_split_rest(s, end)]


def argv0_end(s: str) -> int:
    """Where the program name of command line ``s`` ends (after its closing quote)."""
    start = len(s) - len(s.lstrip(" \t"))
    if s.startswith('"', start):
        close = s.find('"', start + 1)
        return len(s) if close < 0 else close + 1
    blank = re.compile(r"[ \t]").search(s, start)
    return blank.start() if blank else len(s)


def _split_rest(s: str, pos: int) -> list[str]:
    args: list[str] = []
    buf: list[str] = []
    quoted = started = False
    while pos < len(s):
        m = _LEX.match(s, pos)
        if m is None:  # pragma: no cover - the pattern matches every character
            break
        tok, pos = m.group(), m.end()
        if tok[0] in " \t" and not quoted:
            if started:
                args.append("".join(buf))
                buf, started = [], False
            continue
        started = True
        if tok[0] == "\\" and tok.endswith('"'):
            n = len(tok) - 1
            buf.append("\\" * (n // 2))
            if n % 2:
                buf.append('"')
                continue
            tok = '"'
        if tok == '"':
            if quoted and s.startswith('"', pos):
                buf.append('"')
                pos += 1
            else:
                quoted = not quoted
            continue
        buf.append(tok)
    if started:
        args.append("".join(buf))
    return args


def deobfuscate(text: str) -> str:
    """``text`` reduced for matching: lower case, no ``^`` (cmd escapes) or backticks
    (PowerShell escapes), quoted fragments joined, dashes as ``-``, blanks collapsed."""
    t = text[:MAX_ANALYZED].translate(_TO_HYPHEN).replace("^", "").replace("`", "").lower()
    return " ".join(_CONCAT.sub("", t).split())


def words(text: str) -> list[str]:
    """The words of de-obfuscated ``text``: split at blanks, quotes, ``()<>`` and ``,``;
    runs of the command separators ``&|;`` are words of their own."""
    return _WORD.findall(text[:MAX_ANALYZED])


def clip(value: str | None, max_len: int) -> str:
    """``value`` as safe one-line text of at most ``max_len`` characters, without
    looking at more of it than needed (``terminal_text`` reads the whole string)."""
    return terminal_text(None if value is None else value[: max_len + 1], max_len)


def excerpt(value: str | None, max_len: int) -> str:
    """The start of ``value``, blanks collapsed, as safe one-line text of at most ``max_len``."""
    if value is None:
        return "-"
    head = " ".join(value[: max_len * 4].split())
    return terminal_text(head[: max_len + 1], max_len)


def tail_excerpt(value: str | None, max_len: int) -> str:
    """Like :func:`excerpt` but keeps the end (registry keys and paths end in the name)."""
    if value is None:
        return "-"
    seg = " ".join(value[-max_len * 4 :].split())
    safe = terminal_text(seg, len(seg) * 6 + 1)
    if len(safe) <= max_len and len(value) <= max_len * 4:
        return safe
    return "…" + safe[-(max_len - 1) :]
