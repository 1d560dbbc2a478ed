"""Hypothesis strategies that turn a real record into a hostile one.

A mutation starts from a record line of a fixture and does one of: replace one field's
value (control bytes, CSI/OSC sequences, Rich markup, bidi overrides, huge and
non-finite numbers, negative ports and times, invalid UTF-8, random text or bytes),
insert bytes at a random point, truncate the line, splice two records into one line,
duplicate a separator, or replace the line with an empty or blank one. JSON records
are mutated as parsed objects (any value, at any depth, becomes another JSON value,
NaN, Infinity, a 400-digit number or deep nesting included) as well as as text.

A mutated line never holds a line break (``\\n``, ``\\r``: a line break makes two lines,
which the splice and truncation mutations already cover) and never starts with the
format's comment marker (a ``#`` directive is not a record).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.cases import Case

__all__ = ["HOSTILE_TEXT", "mutated_line"]

#: Field values that have broken (or could break) a parser, as text.
HOSTILE_TEXT: tuple[str, ...] = (
    "\x00", "\x1b", "\x07", "a\x00b", "\x1b[2J\x1b[H", "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://attacker.example\x07x\x1b]8;;\x07", "\x1b]0;title\x07", "\x9b2J",
    "[bold]", "[/x]", "[link=https://attacker.example]x[/link]", ":skull:",
    "invoice\u202efdp.exe", "\u202e", "\u2066x\u2069", "\ufeff", "\u200b", "\x85", "\u2028",
    "1e308", "-1e308", "1e309", "1" + "0" * 400, "-" + "9" * 400, "9" * 5000,
    "nan", "NaN", "inf", "-inf", "Infinity", "-Infinity",
    "-1", "-5", "-65536", "65536", "99999", "4294967296", "18446744073709551616",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "99999999999999999999", "0", "00", "0x1F", "1.5", "1e3", "١٢٣", "²", "  7 ",
    "", "-", "(empty)", " ", "\t", ",", '"', '""', "'", "\\", "\\x41", "{", "}", "[", "]",
    "=", "/", ":", "::", "[::1]", "255.255.255.256", "1.2.3", "::ffff:1.2.3.4",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-02-30T00:00:00Z",
    "2026-11-03 25:61:61", "32/Nov/2026:09:00:00 +0100", "Feb 30 08:00:00",
    "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "$(id)", "../../etc/passwd",
)  # fmt: skip

#: Raw bytes for the places text cannot reach: invalid UTF-8 and lone surrogates.
HOSTILE_BYTES: tuple[bytes, ...] = (
    b"\xff", b"\xfe\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"\xc0\xaf", b"\xe2\x80", b"\x00\x00", b"\x1b[6n", b"\x7f",
)  # fmt: skip

_NO_BREAKS = st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))
_TEXT = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(_NO_BREAKS, max_size=20),
    st.integers().map(str),
    st.floats().map(repr),
)
_BYTES = st.one_of(
    _TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(HOSTILE_BYTES),
    st.binary(max_size=12),
).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" "))

#: What a numeric field (a port, a count, a time) is most often broken with.
_NUMBER_TEXT = st.one_of(
    st.sampled_from(
        [
            t
            for t in HOSTILE_TEXT
            if t[-1:].isdigit() or t.lower().endswith(("nan", "inf", "infinity"))
        ]
    ),
    st.integers().map(str),
    st.floats().map(repr),
    st.integers(-(2**70), 2**70).map(str),
)
_NUMERIC = re.compile(rb"^-?[0-9][0-9.:eE+-]*$")

_DEEP = "\x00deep\x00"  # becomes 3,000 nested arrays
_HUGE = "\x00huge\x00"  # becomes a 5,000-digit number, past Python's int-from-text limit
_JSON_SCALARS = st.one_of(
    _TEXT,
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64, -1, 1e308, -1e308]),
    st.floats(),  # NaN, Infinity and -Infinity included (json.dumps writes them)
    st.booleans(),
    st.none(),
    st.just(_DEEP),
    st.just(_HUGE),
)
_JSON_NUMBERS = st.one_of(
    st.sampled_from([10**400, -(10**400), 2**63, 2**64, -1, -65536, 65536, 1e308, -1e308]),
    st.floats(),
    st.integers(),
    _NUMBER_TEXT,
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


def _finish(case: Case, line: bytes) -> bytes:
    line = line.replace(b"\n", b" ").replace(b"\r", b" ")
    if case.comment and line.lstrip().startswith(case.comment):
        line = b"x" + line
    return line


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed JSON value (objects and lists), the root excluded."""
    out: list[tuple[Any, ...]] = []
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _at(obj: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (
        isinstance(value, str) and bool(_NUMERIC.match(value.encode()))
    )


def _json_value(draw: st.DrawFn, record: bytes, huge: bool) -> bytes:
    """The record with one value anywhere in it replaced, re-serialized as its writer did."""
    try:
        obj = json.loads(record)
    except ValueError:
        return record
    paths = _paths(obj)
    if not paths:
        return record
    numbers = [p for p in paths if _is_number(_at(obj, p))]
    if numbers and draw(st.booleans()):  # the fields parsers turn into numbers, most often
        path, value = draw(st.sampled_from(numbers)), draw(_JSON_NUMBERS)
    else:
        path, value = draw(st.sampled_from(paths)), draw(_JSON)
    _at(obj, path[:-1])[path[-1]] = value
    compact = b'": ' not in record
    text = json.dumps(
        obj, separators=(",", ":") if compact else None, ensure_ascii=draw(st.booleans())
    )
    text = text.replace(json.dumps(_DEEP), "[" * 3000 + "]" * 3000)
    text = text.replace(json.dumps(_HUGE), "9" * 5000 if huge else "9" * 400)
    return text.encode("utf-8", "surrogatepass")


def _field_value(draw: st.DrawFn, case: Case, record: bytes) -> bytes:
    assert case.sep is not None
    fields = record.split(case.sep)
    numbers = [i for i, f in enumerate(fields) if _NUMERIC.match(f.rpartition(b"=")[2])]
    if numbers and draw(st.booleans()):  # the fields parsers turn into numbers, most often
        i, value = draw(st.sampled_from(numbers)), draw(_NUMBER_TEXT).encode()
    else:
        i, value = draw(st.integers(0, len(fields) - 1)), draw(_BYTES)
    if case.kv and b"=" in fields[i] and draw(st.booleans()):
        key = fields[i].split(b"=", 1)[0]
        fields[i] = key + b"=" + value
    else:
        fields[i] = value
    return case.sep.join(fields)


@st.composite
def mutated_line(draw: st.DrawFn, case: Case, records: Sequence[bytes], huge: bool = True) -> bytes:
    """One hostile line made from ``records`` (a fixture's record lines). ``huge``: JSON
    numbers may have 5,000 digits (else 400), which Python's ``json`` refuses with a
    plain ``ValueError``."""
    record = draw(st.sampled_from(records))
    kind = draw(
        st.sampled_from(
            ["value", "value", "value", "insert", "truncate", "splice", "separator", "blank"]
        )
    )
    if kind == "value":
        line = _field_value(draw, case, record) if case.sep else _json_value(draw, record, huge)
    elif kind == "insert":
        at = draw(st.integers(0, len(record)))
        line = record[:at] + draw(_BYTES) + record[at:]
    elif kind == "truncate":
        line = record[: draw(st.integers(1, max(1, len(record) - 1)))]
    elif kind == "splice":
        other = draw(st.sampled_from(records))
        cut = draw(st.integers(0, len(record)))
        line = record[:cut] + other[draw(st.integers(0, len(other))) :]
        if not line.strip():
            line = record + other
    elif kind == "separator":
        sep = case.sep or draw(st.sampled_from([b",", b":", b'"', b"{", b"}"]))
        places = [i for i in range(len(record)) if record.startswith(sep, i)]
        at = draw(st.sampled_from(places)) if places else len(record)
        line = record[:at] + sep * draw(st.integers(2, 4)) + record[at + len(sep) :]
    else:
        line = draw(st.sampled_from([b"", b" ", b"\t", b" \t  "]))
    return _finish(case, line)
