"""Suspicious-process evidence: what the process behind a beacon looks like, and
whether it (or its image) set up persistence.

Two entry points, both pure:

* :func:`process_evidence` looks at one :class:`~beaconhunt.model.ProcessInfo`
  (image, command line, parent) and runs the process rules;
* :func:`persistence_evidence` links the host's persistence events (Sysmon
  events 11, 13 and 1) to that process (see :mod:`.process_persistence`).

Every rule is one small class with one method, registered by its code in
:data:`PROCESS_RULES` / :data:`PERSISTENCE_RULES` so configuration can pick
rules by name (:func:`process_rules`, :func:`persistence_rules`). Every rule
emits at most one :class:`~beaconhunt.model.Evidence`; its text is one short
line in which every string from the logs went through
:func:`~beaconhunt.report.safe.terminal_text` and is cut to a bounded length.
Codes are a public contract: add codes, never rename them. ``docs/evidence.md``
says what triggers each code and why it matters.

=============================  ============================================================
code                           when
=============================  ============================================================
``process.powershell_encoded`` PowerShell runs ``-EncodedCommand`` (any accepted spelling)
``process.powershell_hidden``  PowerShell runs with ``-WindowStyle Hidden``
``process.download_cradle``    the command line (or decoded command) downloads code
``process.office_child``       a shell or script host whose parent is an Office application
``process.lolbin_network``     a living-off-the-land binary made the network connections
``process.suspicious_path``    the image runs from a temporary folder, Public, a ProgramData root...
``process.user_writable_path`` ... from another user-writable folder (urgency only)
``process.known_install``      ... from a documented per-user install of common software
``process.renamed``            OriginalFileName names a Windows binary, the image another name
``process.masquerading``       a system binary's name outside its folder, or a look-alike name
``persistence.*``              see :mod:`.process_persistence`
=============================  ============================================================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from beaconhunt.enrich.known_software import grade_path, renamed_from
from beaconhunt.enrich.process_paths import (
    SYSTEM_BINARY_DIRS,
    argv0,
    folder,
    image_name,
    in_system_folder,
    lookalike_of,
    normalize_path,
)
from beaconhunt.enrich.process_persistence import (
    PERSISTENCE_CODES,
    PERSISTENCE_RULES,
    FileCreate,
    PersistenceEntry,
    PersistenceRule,
    RegSet,
    link_persistence,
    persistence_entries,
    persistence_evidence,
)
from beaconhunt.enrich.process_powershell import (
    POWERSHELL_NAMES,
    PowerShellCall,
    decode_powershell,
    download_indicators,
    first_url,
    powershell_calls,
    script_layers,
)
from beaconhunt.enrich.process_text import clip, excerpt, tail_excerpt
from beaconhunt.errors import ConfigError
from beaconhunt.model import Evidence, ProcessInfo
from beaconhunt.util.text import terminal_text

__all__ = [
    "DEFAULT_LOLBINS",
    "DEFAULT_SCRIPT_HOSTS",
    "EXCERPT_LEN",
    "MAX_TEXT_LEN",
    "OFFICE_APPS",
    "PERSISTENCE_RULES",
    "PROCESS_CODES",
    "PROCESS_RULES",
    "REASON_CODES",
    "DownloadCradle",
    "FileCreate",
    "KnownInstall",
    "LolbinNetwork",
    "Masquerading",
    "OfficeChild",
    "PersistenceEntry",
    "PersistenceRule",
    "PowerShellEncoded",
    "PowerShellHidden",
    "ProcessRule",
    "ProcessView",
    "RegSet",
    "Renamed",
    "SuspiciousPath",
    "UserWritablePath",
    "decode_powershell",
    "link_persistence",
    "persistence_entries",
    "persistence_evidence",
    "persistence_rules",
    "process_evidence",
    "process_rules",
]

EXCERPT_LEN = 200
"""Longest excerpt of a decoded command or command line inside an evidence text."""
MAX_TEXT_LEN = 320
"""Longest evidence text any rule here produces."""

OFFICE_APPS = frozenset(
    {"winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "msaccess.exe",
     "mspub.exe", "onenote.exe", "onenotem.exe", "visio.exe", "eqnedt32.exe"}
)  # fmt: skip
"""Office applications (and the Equation Editor, exploited through Office documents)."""

DEFAULT_SCRIPT_HOSTS = frozenset(
    {"powershell.exe", "pwsh.exe", "powershell_ise.exe", "cmd.exe", "wscript.exe",
     "cscript.exe", "mshta.exe", "rundll32.exe", "regsvr32.exe", "bash.exe", "wsl.exe",
     "sh.exe", "certutil.exe", "bitsadmin.exe", "msbuild.exe", "installutil.exe",
     "regasm.exe", "regsvcs.exe", "cmstp.exe", "msiexec.exe", "wmic.exe", "schtasks.exe",
     "forfiles.exe", "hh.exe", "msxsl.exe", "scriptrunner.exe", "curl.exe"}
)  # fmt: skip
"""Shells, script hosts and proxy-execution binaries an Office document should never start."""

DEFAULT_LOLBINS = frozenset(
    {"rundll32.exe", "regsvr32.exe", "mshta.exe", "certutil.exe", "bitsadmin.exe",
     "wmic.exe", "msbuild.exe", "installutil.exe", "regasm.exe", "regsvcs.exe", "cmstp.exe",
     "msiexec.exe", "odbcconf.exe", "forfiles.exe", "wscript.exe", "cscript.exe", "hh.exe",
     "presentationhost.exe", "msxsl.exe", "ieexec.exe", "control.exe", "mavinject.exe"}
)  # fmt: skip
"""Windows binaries that run code for others and have no business beaconing. curl and
PowerShell are left out on purpose (see docs/evidence.md): talking to servers is
their normal job; PowerShell has its own rules."""

#: Defender's folders inside ProgramData are locked to SYSTEM and TrustedInstaller.
_PROTECTED_PROGRAMDATA = (
    "\\programdata\\microsoft\\windows defender\\",
    "\\programdata\\microsoft\\windows defender advanced threat protection\\",
)


@dataclass(frozen=True, slots=True)
class ProcessView:
    """One process, parsed once for all rules."""

    proc: ProcessInfo
    path: str
    name: str
    parent_name: str
    calls: tuple[PowerShellCall, ...]
    network: bool

    @classmethod
    def of(cls, proc: ProcessInfo, *, network: bool = True) -> ProcessView:
        """Parse ``proc``; ``network`` says the process made the connections being explained.

        The image path comes from ``image`` or, when that is unknown, from the
        command line's program name (which the process itself can forge).
        """
        path = normalize_path(proc.image or argv0(proc.command_line))
        name = path.rsplit("\\", 1)[-1].rstrip(". ")
        parent = image_name(proc.parent_image or argv0(proc.parent_command_line))
        calls = powershell_calls(proc.command_line, name in POWERSHELL_NAMES)
        return cls(proc, path, name, parent, calls, network)

    def subject(self, call: PowerShellCall) -> str:
        """Who runs ``call``, for the start of a sentence."""
        name = clip(self.name or "-", 40)
        if call.origin == "shape":
            return f"{name} (renamed PowerShell, by its switches)"
        if call.origin == "named":
            return f"PowerShell started by {name}"
        return "PowerShell"

    @property
    def shown_image(self) -> str:
        """The image as written, cut to a safe length (the end, where the name is)."""
        return tail_excerpt(self.proc.image or argv0(self.proc.command_line), 120)


class ProcessRule(ABC):
    """One check of one process, registered under its evidence code."""

    code: ClassVar[str]

    @abstractmethod
    def check(self, view: ProcessView) -> Evidence | None:
        """The evidence this rule sees in ``view``, or None."""

    def _evidence(self, text: str) -> Evidence:
        return Evidence(self.code, terminal_text(text, MAX_TEXT_LEN))


class PowerShellEncoded(ProcessRule):
    """PowerShell with ``-EncodedCommand`` in any spelling the launcher accepts."""

    code = "process.powershell_encoded"

    def check(self, view: ProcessView) -> Evidence | None:
        call = next((c for c in view.calls if c.encoded_switch is not None), None)
        if call is None:
            return None
        switch = clip(call.encoded_switch, 24)
        if call.decoded is not None:
            return self._evidence(
                f"{view.subject(call)} runs an encoded command ({switch}); decoded: "
                f'"{excerpt(call.decoded, EXCERPT_LEN)}"'
            )
        why = "has no payload" if call.payload is None else "is not base64 of UTF-16LE text"
        return self._evidence(f"{view.subject(call)} runs an encoded command ({switch}) that {why}")


class PowerShellHidden(ProcessRule):
    """PowerShell started with a hidden window (``-w hidden``, ``-WindowStyle 1``...)."""

    code = "process.powershell_hidden"

    def check(self, view: ProcessView) -> Evidence | None:
        call = next((c for c in view.calls if c.hidden is not None), None)
        if call is None or call.hidden is None:
            return None
        hidden = clip(call.hidden, 40)
        text = f"{view.subject(call)} runs with a hidden window ({hidden})"
        if call.stealth:
            text += ", with " + ", ".join(clip(s, 30) for s in call.stealth[:4])
        return self._evidence(text)


class DownloadCradle(ProcessRule):
    """The command line, or a decoded PowerShell command, downloads (and maybe runs) code."""

    code = "process.download_cradle"

    def check(self, view: ProcessView) -> Evidence | None:
        for where, text in script_layers(view.proc.command_line, view.calls):
            found = download_indicators(text)
            if found:
                url = first_url(text)
                shown = f"; URL {clip(url, 100)}" if url else ""
                verb = "downloads and runs code" if found[0] == "IEX" else "downloads"
                return self._evidence(f"{where} {verb} ({', '.join(found[:5])}){shown}")
        return None


class OfficeChild(ProcessRule):
    """A shell or script host whose parent is an Office application (macro or exploit)."""

    code = "process.office_child"

    def __init__(
        self, office: Iterable[str] = OFFICE_APPS, children: Iterable[str] = DEFAULT_SCRIPT_HOSTS
    ) -> None:
        self.office = frozenset(n.lower() for n in office)
        self.children = frozenset(n.lower() for n in children)

    def check(self, view: ProcessView) -> Evidence | None:
        if view.parent_name not in self.office or view.name not in self.children:
            return None
        parent = tail_excerpt(view.proc.parent_image or view.parent_name, 60)
        return self._evidence(f"{view.shown_image} was started by the Office application {parent}")


class LolbinNetwork(ProcessRule):
    """A living-off-the-land binary made the network connections (only with ``network``)."""

    code = "process.lolbin_network"

    def __init__(self, binaries: Iterable[str] = DEFAULT_LOLBINS) -> None:
        self.binaries = frozenset(n.lower() for n in binaries)

    def check(self, view: ProcessView) -> Evidence | None:
        if not view.network or view.name not in self.binaries:
            return None
        return self._evidence(
            f"{view.shown_image} is a Windows binary that runs code for others "
            "(living off the land) and it made these network connections"
        )


class _GradedPath(ProcessRule):
    """Shared by the three path rules: each reports one grade of
    :func:`~beaconhunt.enrich.known_software.grade_path`."""

    grade: ClassVar[str]
    #: the evidence sentence; ``{label}``, ``{severity}`` and ``{image}`` are filled in
    sentence: ClassVar[str]

    def __init__(self, exempt: Iterable[str] = _PROTECTED_PROGRAMDATA) -> None:
        self.exempt = tuple(normalize_path(e).rstrip("\\") + "\\" for e in exempt)

    def check(self, view: ProcessView) -> Evidence | None:
        found = grade_path(view.path, self.exempt, view.proc.company)
        if found is None or found.grade != self.grade:
            return None
        text = self.sentence.format(label=found.label, severity=found.severity,
                                    image=view.shown_image)  # fmt: skip
        return self._evidence(text)


class SuspiciousPath(_GradedPath):
    """The image runs from a place installers do not put long-running programs
    (temporary folder, Recycle Bin, Public, ProgramData root, unknown Roaming folder).

    High-severity places are never cancelled by a known install; medium ones are
    (:func:`~beaconhunt.enrich.known_software.grade_path`)."""

    code = "process.suspicious_path"
    grade = "suspicious"
    sentence = "image runs from {label} ({severity} severity): {image}"


class UserWritablePath(_GradedPath):
    """The image runs from a folder ordinary users can write to that is neither a
    known per-user install nor a suspicious place (urgency, not an indicator)."""

    code = "process.user_writable_path"
    grade = "writable"
    sentence = "image runs from {label}, writable by its user: {image}"


class KnownInstall(_GradedPath):
    """The image is where a documented per-user installer puts common software
    (Python, Teams, Zoom, Slack, VS Code...): user-writable, but expected."""

    code = "process.known_install"
    grade = "known"
    sentence = "image is in a documented per-user install location ({label}): {image}"


class Renamed(ProcessRule):
    """A Windows binary renamed: Sysmon's ``OriginalFileName`` (from the PE version
    information, which a copy keeps) names a known binary, the image another name."""

    code = "process.renamed"

    def check(self, view: ProcessView) -> Evidence | None:
        real = renamed_from(view.proc.image, view.proc.original_file_name)
        if real is None:
            return None
        original = clip(view.proc.original_file_name or "", 40)
        return self._evidence(
            f"{clip(view.name, 60)} is a renamed {real} (OriginalFileName {original}):"
            f" {view.shown_image}"
        )


class Masquerading(ProcessRule):
    """A system binary's name outside the folder Windows ships it in, or a look-alike name."""

    code = "process.masquerading"

    def check(self, view: ProcessView) -> Evidence | None:
        imitated = lookalike_of(view.name)
        if imitated is not None:
            return self._evidence(
                f"image name {clip(view.name, 40)} imitates {imitated}: {view.shown_image}"
            )
        if view.name not in SYSTEM_BINARY_DIRS or not folder(view.path):
            return None
        if in_system_folder(view.name, view.path):
            return None
        return self._evidence(
            f"{view.name} is a Windows system binary but runs from outside its system folder: "
            f"{view.shown_image}"
        )


PROCESS_RULES: dict[str, type[ProcessRule]] = {
    cls.code: cls
    for cls in (
        PowerShellEncoded,
        PowerShellHidden,
        DownloadCradle,
        OfficeChild,
        LolbinNetwork,
        SuspiciousPath,
        UserWritablePath,
        KnownInstall,
        Masquerading,
        Renamed,
    )
}
"""Every process rule by its code, in the order evidence is listed."""

PROCESS_CODES: tuple[str, ...] = tuple(PROCESS_RULES)
REASON_CODES: tuple[str, ...] = (*PROCESS_CODES, *PERSISTENCE_CODES)
"""Every code this module can emit."""

_R = TypeVar("_R")


def _build(
    registry: Mapping[str, type[_R]], enabled: Iterable[str] | None, kind: str
) -> tuple[_R, ...]:
    names = list(registry) if enabled is None else list(enabled)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ConfigError(f"unknown {kind} rule(s) {unknown}; known: {', '.join(registry)}")
    return tuple(registry[n]() for n in dict.fromkeys(names))


def process_rules(enabled: Iterable[str] | None = None) -> tuple[ProcessRule, ...]:
    """Default-configured process rules, all of them or those whose codes are ``enabled``.

    Raises :class:`~beaconhunt.errors.ConfigError` for an unknown code.
    """
    return _build(PROCESS_RULES, enabled, "process")


def persistence_rules(enabled: Iterable[str] | None = None) -> tuple[PersistenceRule, ...]:
    """Persistence rules, all of them or those whose codes are ``enabled`` (ConfigError
    for an unknown code)."""
    return _build(PERSISTENCE_RULES, enabled, "persistence")


_DEFAULT_RULES = process_rules()


def process_evidence(
    proc: ProcessInfo, *, network: bool = True, rules: Iterable[ProcessRule] | None = None
) -> tuple[Evidence, ...]:
    """Evidence about the process ``proc`` from every rule in ``rules`` (default: all).

    ``network`` says ``proc`` made the connections being explained (it enables
    ``process.lolbin_network``). Never raises on odd strings; every text is at
    most :data:`MAX_TEXT_LEN` characters of safe, printable text.
    """
    view = ProcessView.of(proc, network=network)
    found = (rule.check(view) for rule in (_DEFAULT_RULES if rules is None else rules))
    return tuple(e for e in found if e is not None)
