"""Shared text handling of the analyst context files (assets, WHOIS, threat intel).

Every reader accepts a UTF-8 BOM, CRLF line ends, blank lines, lines starting
with ``#``, spaces around fields and any header case; a malformed value is a
:class:`~beaconhunt.errors.ConfigError` saying ``path:line: what is wrong``.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path

from beaconhunt.errors import ConfigError

__all__ = [
    "DOMAIN",
    "content_lines",
    "csv_rows",
    "norm_name",
    "parents",
    "parse_domain",
    "parse_ip",
    "read_text",
    "split_fields",
]

DOMAIN = re.compile(r"^([a-z0-9_-]+\.)*[a-z0-9_-]+$")


def read_text(path: Path, what: str) -> str:
    """The file's text without BOM; unreadable files become :class:`ConfigError`."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from exc


def content_lines(text: str) -> Iterable[tuple[int, str]]:
    """(1-based line number, line) of lines that are neither blank nor ``#`` comments."""
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield n, line


def split_fields(line: str) -> list[str]:
    """One CSV line's fields, stripped of surrounding spaces."""
    return [f.strip() for f in next(csv.reader([line], skipinitialspace=True))]


def csv_rows(
    path: Path, text: str, columns: tuple[str, ...]
) -> Iterable[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for each data line of a CSV with exactly ``columns``."""
    lines = iter(content_lines(text))
    first = next(lines, None)
    if first is None:
        raise ConfigError(f"{path}:1: empty file, expected header {','.join(columns)}")
    hn, hline = first
    header = [h.lower().replace(" ", "_") for h in split_fields(hline)]
    if sorted(header) != sorted(columns):
        raise ConfigError(
            f"{path}:{hn}: bad header {hline!r}, expected columns {','.join(columns)}"
        )
    for n, line in lines:
        fields = split_fields(line)
        if len(fields) != len(header):
            raise ConfigError(f"{path}:{n}: expected {len(header)} columns, found {len(fields)}")
        yield n, dict(zip(header, fields, strict=True))


def parse_ip(path: Path, n: int, value: str) -> str:
    """``value`` as a canonical IP address string."""
    try:
        return str(ipaddress.ip_address(value.split("%", 1)[0]))
    except ValueError:
        raise ConfigError(f"{path}:{n}: {value!r} is not an IP address") from None


def norm_name(name: str) -> str:
    """Lower case, no trailing dot."""
    return name.strip().lower().rstrip(".")


def parse_domain(path: Path, n: int, value: str) -> str:
    """``value`` as a normalised domain name."""
    d = norm_name(value)
    if not d or not DOMAIN.match(d):
        raise ConfigError(f"{path}:{n}: {value!r} is not a domain name")
    return d


def parents(name: str) -> Iterable[str]:
    """``name`` then each parent domain: ``a.b.c``, ``b.c``, ``c``."""
    labels = norm_name(name).split(".")
    for i in range(len(labels)):
        yield ".".join(labels[i:])
