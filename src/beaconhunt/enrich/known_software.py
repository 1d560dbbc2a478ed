"""Where software really lives: graded judgement of an image's folder.

"Runs from a user-writable folder" used to condemn every program under
``C:\\Users\\<u>\\AppData``, yet that is where the official installers put
Python, VS Code, Teams, Zoom, Slack, per-user Chrome, OneDrive and every
Squirrel or electron-builder application. A binary in a temporary folder, in
``Users\\Public``, directly in ``ProgramData``, or in a folder under
``Roaming`` that no known software uses is a different matter. This module
grades a normalized image path (:func:`~beaconhunt.enrich.process_paths.normalize_path`)
from the data in ``known_software.toml`` (its sources are in
``docs/known_software.md``):

``known``
    a documented per-user install location of common software (``[[per_user]]``)
    or a generic per-user program root installers use (``[[per_user_root]]``,
    e.g. ``FOLDERID_UserProgramFiles`` = ``%LOCALAPPDATA%\\Programs``);
``suspicious``
    a place a legitimate install does not use for a long-running program
    (``[[suspicious_place]]`` with severity high or medium);
``writable``
    anywhere else a user can write (low severity): worth a look, no more;
``None``
    a system or program folder.

Patterns are case-insensitive globs on the whole path: ``*`` stays within one
folder, ``**`` crosses folders, ``{user}`` is one profile folder name.
Precedence: a high-severity place (a temporary folder, ``Public``, the Recycle
Bin, a system binary's name under a profile) is never cancelled; then known
software, so ``%APPDATA%\\Spotify\\Spotify.exe`` is known although a folder
directly under Roaming is a medium-severity place; then medium places; then
low ones (elsewhere in a profile), which are only ``writable``.

``[[original_name]]`` lists the PE ``OriginalFileName`` of Windows binaries
attackers copy under another name: a renamed copy keeps its version
information, which Sysmon event 1 reports (:func:`renamed_from`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from beaconhunt.enrich.process_paths import image_name, normalize_path, writable_location

__all__ = [
    "PathGrade",
    "grade_path",
    "original_names",
    "renamed_from",
]


@dataclass(frozen=True, slots=True)
class PathGrade:
    """What an image's folder says: ``grade`` known / suspicious / writable, a
    label for the sentence, and the severity of a suspicious place."""

    grade: str
    label: str
    severity: str = ""
    #: the publisher the documentation gives for a known install ("" when not documented)
    company: str = ""


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    label: str
    severity: str = ""
    company: str = ""


def _glob(pattern: str) -> re.Pattern[str]:
    """A path glob as a regular expression over normalized paths."""
    norm = normalize_path(pattern)
    out = []
    i = 0
    while i < len(norm):
        if norm.startswith("**", i):
            out.append(".*")
            i += 2
        elif norm[i] == "*":
            out.append(r"[^\\]*")
            i += 1
        elif norm.startswith("{user}", i):
            out.append(r"[^\\]+")
            i += len("{user}")
        else:
            out.append(re.escape(norm[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@cache
def _data() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("beaconhunt.enrich").joinpath("known_software.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _known() -> tuple[_Pattern, ...]:
    out = [
        _Pattern(_glob(str(path)), str(entry["name"]), "", str(entry.get("company", "")))
        for entry in _data().get("per_user", [])
        for path in entry.get("paths", [])
    ]
    out += [
        _Pattern(_glob(str(entry["pattern"])), str(entry.get("why", "a per-user program folder")))
        for entry in _data().get("per_user_root", [])
    ]
    return tuple(out)


@cache
def _suspicious() -> tuple[_Pattern, ...]:
    order = {"high": 0, "medium": 1, "low": 2}
    places = sorted(_data().get("suspicious_place", []),
                    key=lambda e: order.get(str(e.get("severity")), 3))  # fmt: skip
    return tuple(
        _Pattern(_glob(str(e["pattern"])), str(e["label"]), str(e.get("severity", "medium")))
        for e in places
    )


def grade_path(
    norm: str, exempt: tuple[str, ...] = (), company: str | None = None
) -> PathGrade | None:
    """The grade of the normalized path ``norm`` (module docstring); ``exempt``
    lists normalized folder prefixes that are never graded (locked-down folders).

    ``company`` is the image's PE CompanyName as Sysmon reports it: where the
    documentation names the publisher of a known install and the image names
    another, the place is not a known install but a writable one (a file
    dropped where a real program lives)."""
    if len(norm) > _CACHED_PATH_LEN:  # attacker-sized paths are judged, not remembered
        return _grade(norm, exempt, company)
    return _grade_cached(norm, exempt, company)


#: Paths up to this long are remembered (a hunt grades the same few hundred images).
_CACHED_PATH_LEN = 512


@lru_cache(maxsize=4096)
def _grade_cached(norm: str, exempt: tuple[str, ...], company: str | None) -> PathGrade | None:
    return _grade(norm, exempt, company)


def _grade(norm: str, exempt: tuple[str, ...], company: str | None) -> PathGrade | None:
    if not norm or any(norm.startswith(e) for e in exempt):
        return None
    places = _suspicious()
    for p in places:  # high severity first: never cancelled by a known install
        if p.severity == "high" and p.regex.match(norm):
            return PathGrade("suspicious", p.label, p.severity)
    for p in _known():
        if p.regex.match(norm):
            if _other_publisher(p.company, company):
                return PathGrade("writable", f"{p.label}, but published by {company}", "low")
            return PathGrade("known", p.label, company=p.company)
    for p in places:
        if p.severity == "medium" and p.regex.match(norm):
            return PathGrade("suspicious", p.label, p.severity)
    for p in places:
        if p.regex.match(norm):
            return PathGrade("writable", p.label, "low")
    place = writable_location(norm)
    return PathGrade("writable", place, "low") if place else None


def _other_publisher(documented: str, seen: str | None) -> bool:
    """True when both publishers are known and differ (case and "Inc." aside)."""
    if not documented or not seen or seen.strip() in ("-", "?"):
        return False
    a, b = documented.strip().lower(), seen.strip().lower()
    return not (a.startswith(b) or b.startswith(a))


@cache
def original_names() -> dict[str, str]:
    """Image file name (lower case) -> its PE OriginalFileName (lower case)."""
    return {
        str(e["image"]).lower(): str(e["original_file_name"]).lower()
        for e in _data().get("original_name", [])
    }


def renamed_from(image: str | None, original_file_name: str | None) -> str | None:
    """The Windows binary a process really is when its image was renamed: the
    OriginalFileName is a known binary's (``PowerShell.EXE``) but the image's
    own name is not that binary's. None when not renamed or unknown."""
    if not image or not original_file_name or original_file_name.strip() in ("-", "?"):
        return None
    original = original_file_name.strip().lower()
    by_original = {v: k for k, v in original_names().items()}
    real = by_original.get(original)
    if real is None:
        return None
    name = image_name(image)
    if name in (real, original):
        return None
    return real
