"""Persistence set up by the process behind a beacon, or by its image, anywhere in the input.

Two steps, so a large input is classified once and linked per beacon:

1. :func:`persistence_entries` finds persistence in Sysmon records (each rule
   is one class with one method, registered by code in :data:`PERSISTENCE_RULES`);
2. :func:`link_persistence` keeps the entries that belong to one process and
   says how they are linked, strongest first:

   * **same process**: same ``(host, process_guid)`` (the beacon's own events);
   * **same image**: the entry was made by, or by a child of, the same image path
     (case-insensitive, any host), or by a process with the same image and
     command line on the same host;
   * **naming the image**: the entry's value (registry Details, created file,
     command line) names the beacon's image path, also as ``%AppData%\\...``.

   Images under ``\\Windows\\`` (``powershell.exe``, ``rundll32.exe``...) are shared
   by every process of that name, so "same image" and "naming the image" would
   tie unrelated events to the beacon. For them the link is the beacon's
   arguments instead: the entry's value contains its command line after the
   program name (at least :data:`MIN_ARGS_LINK` characters).

================================  ===========================================================
code                              when
================================  ===========================================================
``persistence.run_key``           registry value under ``...\\CurrentVersion\\Run``, ``RunOnce``,
                                  ``RunOnceEx``, ``RunServices``, ``Policies\\Explorer\\Run``, or
                                  Winlogon ``Userinit`` / ``Shell`` (HKLM, HKCU, HKU\\<SID>)
``persistence.startup_folder``    a file created in a ``Start Menu\\Programs\\Startup`` folder
``persistence.scheduled_task``    ``schtasks /create``, ``Register-ScheduledTask``,
                                  ``New-ScheduledTask*``, or a file under ``System32\\Tasks``
``persistence.service``           ``sc create`` / ``sc config ... binpath=``, ``New-Service``, or
                                  a service's ``ImagePath`` / ``Parameters\\ServiceDll`` value set
================================  ===========================================================
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from beaconhunt.enrich.process_paths import image_name, normalize_path, path_spellings
from beaconhunt.enrich.process_powershell import POWERSHELL_NAMES, powershell_calls, script_layers
from beaconhunt.enrich.process_text import (
    MAX_ANALYZED,
    argv0_end,
    clip,
    deobfuscate,
    excerpt,
    tail_excerpt,
    words,
)
from beaconhunt.model import Evidence, ProcessInfo
from beaconhunt.util.text import terminal_text

__all__ = [
    "MIN_ARGS_LINK",
    "PERSISTENCE_CODES",
    "PERSISTENCE_RULES",
    "FileCreate",
    "PersistenceEntry",
    "PersistenceRule",
    "Record",
    "RegSet",
    "RunKey",
    "ScheduledTask",
    "Service",
    "StartupFolder",
    "link_persistence",
    "persistence_entries",
    "persistence_evidence",
]

MIN_ARGS_LINK = 20
"""Shortest argument text that links an entry to a beacon running a shared Windows image."""
_MAX_TEXT = 320
_TOOL_WINDOW = 40  # words after ``schtasks`` / ``sc`` searched for ``/create``
_MAX_TOOL_HITS = 8  # occurrences of the tool name examined per command line


def _opt_str(v: object) -> str | None:
    return None if v is None else str(v)


def _opt_float(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) else None


def _opt_int(v: object) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


@dataclass(frozen=True, slots=True)
class FileCreate:
    """Sysmon event 11 (a ``file_create`` row): ``image`` created ``target_filename``."""

    host: str | None = None
    process_guid: str | None = None
    image: str | None = None
    target_filename: str | None = None
    ts: float | None = None
    pid: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> FileCreate:
        """Build from a row keyed by ``FILE_CREATE_COLUMNS`` names (missing keys are None)."""
        g = row.get
        return cls(
            host=_opt_str(g("host")),
            process_guid=_opt_str(g("process_guid")),
            image=_opt_str(g("image")),
            target_filename=_opt_str(g("target_filename")),
            ts=_opt_float(g("ts")),
            pid=_opt_int(g("pid")),
        )


@dataclass(frozen=True, slots=True)
class RegSet:
    """Sysmon event 13 (a ``reg_set`` row): ``image`` set ``target_object`` to ``details``."""

    host: str | None = None
    process_guid: str | None = None
    image: str | None = None
    target_object: str | None = None
    details: str | None = None
    event_type: str | None = None
    ts: float | None = None
    pid: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> RegSet:
        """Build from a row keyed by ``REG_SET_COLUMNS`` names (missing keys are None)."""
        g = row.get
        return cls(
            host=_opt_str(g("host")),
            process_guid=_opt_str(g("process_guid")),
            image=_opt_str(g("image")),
            target_object=_opt_str(g("target_object")),
            details=_opt_str(g("details")),
            event_type=_opt_str(g("event_type")),
            ts=_opt_float(g("ts")),
            pid=_opt_int(g("pid")),
        )


Record = FileCreate | RegSet | ProcessInfo
"""What the persistence rules read: events 11, 13 and 1."""


@dataclass(frozen=True, slots=True)
class PersistenceEntry:
    """One persistence event: its code, what was done, who did it and to what.

    ``target`` is shown (registry key, created file or command line); ``value``
    is searched for the beacon's image (registry Details, created file or
    command line). ``source`` is ``file``, ``registry`` or ``process``;
    ``parent_*`` are known for process creations only.
    """

    code: str
    what: str
    source: str
    host: str | None
    process_guid: str | None
    image: str | None
    target: str
    value: str
    parent_image: str | None = None
    parent_command_line: str | None = None

    def shown(self) -> str:
        """What was written, as safe bounded text: ``key = "data"``, a file, a command line."""
        if self.source == "registry":
            return f'{tail_excerpt(self.target, 110)} = "{excerpt(self.value, 110)}"'
        if self.source == "process":
            return excerpt(self.target, 200)
        return tail_excerpt(self.target, 160)


class PersistenceRule(ABC):
    """Recognises one kind of persistence in single records."""

    code: ClassVar[str]

    @abstractmethod
    def match(self, record: Record) -> PersistenceEntry | None:
        """The persistence entry ``record`` is, or None."""

    def _entry(self, record: Record, what: str, target: str, value: str) -> PersistenceEntry:
        if isinstance(record, ProcessInfo):
            return PersistenceEntry(self.code, what, "process", record.host, record.process_guid,
                                    record.image, target, value, record.parent_image,
                                    record.parent_command_line)  # fmt: skip
        source = "registry" if isinstance(record, RegSet) else "file"
        return PersistenceEntry(
            self.code, what, source, record.host, record.process_guid, record.image, target, value
        )


def _reg(record: Record) -> tuple[str, str] | None:
    """(TargetObject, Details) of a value-set event."""
    if not isinstance(record, RegSet) or not record.target_object:
        return None
    if record.event_type and record.event_type.lower() not in ("setvalue", "set value"):
        return None
    return record.target_object, record.details or ""


_RUN = re.compile(
    r"\\microsoft\\windows\\currentversion\\(?:policies\\explorer\\)?"
    r"run(?:once(?:ex)?|services(?:once)?)?\\[^\\]"
)
_WINLOGON = re.compile(r"\\microsoft\\windows nt\\currentversion\\winlogon\\(?:userinit|shell)$")


class RunKey(PersistenceRule):
    """A value under a Run-type key or Winlogon's Userinit / Shell."""

    code = "persistence.run_key"

    def match(self, record: Record) -> PersistenceEntry | None:
        reg = _reg(record)
        if reg is None:
            return None
        key = reg[0][:MAX_ANALYZED].lower()
        if _RUN.search(key):
            return self._entry(record, "autostart registry value set", *reg)
        if _WINLOGON.search(key):
            return self._entry(record, "Winlogon startup value set", *reg)
        return None


class StartupFolder(PersistenceRule):
    """A file created in a per-user or all-users Startup folder."""

    code = "persistence.startup_folder"

    def match(self, record: Record) -> PersistenceEntry | None:
        if not isinstance(record, FileCreate) or not record.target_filename:
            return None
        norm = normalize_path(record.target_filename[:MAX_ANALYZED])
        _, sep, name = norm.partition("\\start menu\\programs\\startup\\")
        if not sep or not name:
            return None
        return self._entry(
            record, "file written to a Startup folder", *_twice(record.target_filename)
        )


def _twice(s: str) -> tuple[str, str]:
    return s, s


@lru_cache(maxsize=512)
def _command_text(command_line: str, image: str) -> str:
    """De-obfuscated command line plus its decoded PowerShell commands, for matching."""
    text = deobfuscate(command_line)
    is_ps = image_name(image) in POWERSHELL_NAMES
    if is_ps or "powershell" in text or "pwsh" in text:
        layers = script_layers(command_line, powershell_calls(command_line, is_ps))
        text = " ".join([text, *(deobfuscate(t) for _, t in layers[1:])])
    return text


def _arguments(ws: list[str], i: int) -> list[str]:
    """The words after ``ws[i]`` up to the next command separator (at most a window)."""
    out: list[str] = []
    for w in ws[i + 1 : i + 1 + _TOOL_WINDOW]:
        if w[0] in "&|;":
            break
        out.append(w)
    return out


def _tool_then(ws: list[str], tools: frozenset[str], wanted: frozenset[str]) -> bool:
    """Some word in ``wanted`` is among the arguments of a word naming one of ``tools``."""
    hits = 0
    for i, w in enumerate(ws):
        if w.rsplit("\\", 1)[-1].rsplit("/", 1)[-1] in tools:
            if any(x in wanted for x in _arguments(ws, i)):
                return True
            hits += 1
            if hits >= _MAX_TOOL_HITS:
                break
    return False


_TASK_FILES = ("\\windows\\system32\\tasks\\", "\\windows\\syswow64\\tasks\\", "\\windows\\tasks\\")
_SCHTASKS = frozenset({"schtasks", "schtasks.exe"})
_CREATE = frozenset({"/create", "-create"})
_PS_TASK = re.compile(r"\b(?:register-scheduledtask|new-scheduledtask\w*)\b")


class ScheduledTask(PersistenceRule):
    """A scheduled task created by ``schtasks``, PowerShell or a task file write."""

    code = "persistence.scheduled_task"

    def match(self, record: Record) -> PersistenceEntry | None:
        if isinstance(record, FileCreate) and record.target_filename:
            norm = normalize_path(record.target_filename[:MAX_ANALYZED])
            if any(norm.startswith(d) and len(norm) > len(d) for d in _TASK_FILES):
                return self._entry(record, "scheduled task file written",
                                   *_twice(record.target_filename))  # fmt: skip
            return None
        if not isinstance(record, ProcessInfo) or not record.command_line:
            return None
        text = _command_text(record.command_line, record.image or "")
        if _tool_then(words(text), _SCHTASKS, _CREATE) or _PS_TASK.search(text):
            return self._entry(record, "scheduled task created",
                               *_twice(record.command_line))  # fmt: skip
        return None


_SERVICE_KEY = re.compile(
    r"\\system\\(?:currentcontrolset|controlset\d{3})\\services\\[^\\]+\\"
    r"(?:imagepath|parameters\\servicedll)$"
)
_SC = frozenset({"sc", "sc.exe"})


def _sc_installs(ws: list[str]) -> bool:
    """``sc [\\\\server] create ...`` or ``sc [\\\\server] config ... binpath= ...``."""
    tools = [i for i, w in enumerate(ws) if w.rsplit("\\", 1)[-1] in _SC][:_MAX_TOOL_HITS]
    for i in tools:
        rest = _arguments(ws, i)
        if rest and rest[0].startswith("\\\\"):
            rest = rest[1:]
        if rest[:1] == ["create"]:
            return True
        if rest[:1] == ["config"] and any(x.startswith("binpath=") for x in rest):
            return True
    return False


class Service(PersistenceRule):
    """A service installed or re-pointed at another program."""

    code = "persistence.service"

    def match(self, record: Record) -> PersistenceEntry | None:
        reg = _reg(record)
        if reg is not None:
            if _SERVICE_KEY.search(reg[0][:MAX_ANALYZED].lower()):
                return self._entry(record, "service program registered", *reg)
            return None
        if not isinstance(record, ProcessInfo) or not record.command_line:
            return None
        text = _command_text(record.command_line, record.image or "")
        if _sc_installs(words(text)) or re.search(r"\bnew-service\b", text):
            return self._entry(record, "service created",
                               *_twice(record.command_line))  # fmt: skip
        return None


PERSISTENCE_RULES: dict[str, type[PersistenceRule]] = {
    cls.code: cls for cls in (RunKey, StartupFolder, ScheduledTask, Service)
}
"""Every persistence rule by its code, in the order evidence is listed."""
PERSISTENCE_CODES: tuple[str, ...] = tuple(PERSISTENCE_RULES)

_DEFAULT_RULES: tuple[PersistenceRule, ...] = tuple(cls() for cls in PERSISTENCE_RULES.values())


def persistence_entries(
    file_creates: Iterable[FileCreate],
    reg_sets: Iterable[RegSet],
    proc_creates: Iterable[ProcessInfo],
    *,
    rules: Iterable[PersistenceRule] | None = None,
) -> tuple[PersistenceEntry, ...]:
    """Every persistence entry in the records, in input order (files, registry, processes)."""
    active = _DEFAULT_RULES if rules is None else tuple(rules)
    out: list[PersistenceEntry] = []
    for records in (file_creates, reg_sets, proc_creates):
        for record in records:
            out.extend(e for e in (r.match(record) for r in active) if e is not None)
    return tuple(out)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and str(a).strip("{} ").casefold() == str(b).strip("{} ").casefold()


def _names(haystack: str, needle: str) -> bool:
    """``needle`` (a normalized path) occurs in ``haystack`` as a whole path, not a prefix."""
    start = haystack.find(needle)
    for _ in range(64):
        if start < 0:
            return False
        end = start + len(needle)
        if end >= len(haystack) or not (haystack[end].isalnum() or haystack[end] in "._-"):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _value_text(value: str) -> str:
    return re.sub(r"\\+", r"\\", value[:MAX_ANALYZED].lower().replace("/", "\\"))


@dataclass(frozen=True, slots=True)
class _Beacon:
    """The process being explained, reduced to what linking compares."""

    host: str | None
    guid: str | None
    path: str
    shared: bool  # the image lives under \Windows\ (every process of that name shares it)
    command: str
    args: str

    @classmethod
    def of(cls, proc: ProcessInfo) -> _Beacon:
        cmd = proc.command_line or ""
        path = normalize_path(proc.image)
        args = deobfuscate(cmd[argv0_end(cmd[:MAX_ANALYZED]) :])
        return cls(proc.host, proc.process_guid, path, path.startswith("\\windows\\"),
                   deobfuscate(cmd), args if len(args) >= MIN_ARGS_LINK else "")  # fmt: skip

    def link(self, e: PersistenceEntry) -> tuple[int, str] | None:
        """(strength, how) when ``e`` belongs to this process; 0 is the strongest."""
        if _same(e.host, self.host) and _same(e.process_guid, self.guid):
            return 0, "by the same process"
        if self._same_parent_process(e):
            return 1, "by a child of a process with the same image and command line"
        if self.path and not self.shared:
            if normalize_path(e.image) == self.path:
                return 1, "by the same image"
            if e.parent_image and normalize_path(e.parent_image) == self.path:
                return 1, "by a child of the same image"
            text = _value_text(e.value)
            if any(_names(text, p) for p in path_spellings(self.path)):
                return 2, "naming the same image"
        elif self.args and self.args in deobfuscate(e.value):
            return 2, "naming the same command line"
        return None

    def _same_parent_process(self, e: PersistenceEntry) -> bool:
        return (
            bool(self.path and self.command)
            and _same(e.host, self.host)
            and normalize_path(e.parent_image) == self.path
            and deobfuscate(e.parent_command_line or "") == self.command
        )


def link_persistence(
    proc: ProcessInfo, entries: Iterable[PersistenceEntry]
) -> tuple[Evidence, ...]:
    """One evidence per persistence code whose entries belong to ``proc``.

    The entry shown is the most strongly linked (the first in input order among
    equals); the text ends with how many more entries of that code are linked.
    """
    beacon = _Beacon.of(proc)
    best: dict[str, tuple[int, str, PersistenceEntry]] = {}
    count: dict[str, int] = {}
    for e in entries:
        link = beacon.link(e)
        if link is None:
            continue
        count[e.code] = count.get(e.code, 0) + 1
        if e.code not in best or link[0] < best[e.code][0]:
            best[e.code] = (link[0], link[1], e)
    return tuple(
        _evidence(best[c][2], best[c][1], count[c] - 1, beacon)
        for c in PERSISTENCE_CODES
        if c in best
    )


def _evidence(e: PersistenceEntry, how: str, more: int, beacon: _Beacon) -> Evidence:
    where = "" if _same(e.host, beacon.host) else f" on {clip(e.host, 60)}"
    tail = f" (+{more} more)" if more else ""
    text = f"{e.what} {how}{where}: {e.shown()}{tail}"
    return Evidence(e.code, terminal_text(text, _MAX_TEXT))


def persistence_evidence(
    proc: ProcessInfo,
    file_creates: Iterable[FileCreate],
    reg_sets: Iterable[RegSet],
    proc_creates: Iterable[ProcessInfo],
    *,
    rules: Iterable[PersistenceRule] | None = None,
) -> tuple[Evidence, ...]:
    """Persistence evidence for ``proc`` from the host's (and other hosts') records.

    Same as :func:`persistence_entries` then :func:`link_persistence`; when
    explaining many processes, classify once and link each.
    """
    return link_persistence(
        proc, persistence_entries(file_creates, reg_sets, proc_creates, rules=rules)
    )
