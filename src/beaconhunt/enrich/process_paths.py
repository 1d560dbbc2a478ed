"""Windows (and Linux) executable paths as endpoint telemetry writes them.

Sysmon writes ``C:\\Windows\\System32\\svchost.exe``, but the same file can reach
us as ``\\??\\C:\\...``, ``\\\\?\\C:\\...``, ``\\Device\\HarddiskVolume3\\...``,
``\\SystemRoot\\...``, ``%SystemRoot%\\...``, quoted, with ``/`` separators or in
any letter case. :func:`normalize_path` reduces all of them to one comparable
form: lower case, ``\\``-separated, without drive or volume (the system drive is
not always ``C:``, and a volume name says nothing about the folder), ``.`` and
``..`` resolved::

    "C:/Windows/System32/../Temp/x.EXE"  ->  "\\windows\\temp\\x.exe"
    "/tmp/.x/beacon"                     ->  "\\tmp\\.x\\beacon"

Linux paths are case-sensitive; folding their case only merges ``/TMP`` with
``/tmp`` for the folder checks below, which is harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "SYSTEM_BINARY_DIRS",
    "argv0",
    "folder",
    "image_name",
    "in_system_folder",
    "lookalike_of",
    "normalize_path",
    "path_spellings",
    "writable_location",
]

_SYS32 = "\\windows\\system32\\"
_WOW64 = "\\windows\\syswow64\\"
_WINDIR = "\\windows\\"

#: System binary name -> the folders it ships in. A copy anywhere else is masquerading.
#: ``\\Windows\\WinSxS\\`` (the component store, writable only by TrustedInstaller)
#: is accepted for every name.
SYSTEM_BINARY_DIRS: dict[str, tuple[str, ...]] = {
    "svchost.exe": (_SYS32, _WOW64),
    "lsass.exe": (_SYS32,),
    "lsaiso.exe": (_SYS32,),
    "lsm.exe": (_SYS32,),
    "csrss.exe": (_SYS32,),
    "services.exe": (_SYS32,),
    "winlogon.exe": (_SYS32,),
    "wininit.exe": (_SYS32,),
    "smss.exe": (_SYS32,),
    "spoolsv.exe": (_SYS32,),
    "sihost.exe": (_SYS32,),
    "userinit.exe": (_SYS32, _WOW64),
    "taskhost.exe": (_SYS32,),
    "taskhostw.exe": (_SYS32,),
    "explorer.exe": (_WINDIR, _WOW64),
    "rundll32.exe": (_SYS32, _WOW64),
    "dllhost.exe": (_SYS32, _WOW64),
    "conhost.exe": (_SYS32,),
    "ctfmon.exe": (_SYS32, _WOW64),
    "searchindexer.exe": (_SYS32,),
    "werfault.exe": (_SYS32, _WOW64),
    "wmiprvse.exe": (_SYS32 + "wbem\\", _WOW64 + "wbem\\"),
    "cmd.exe": (_SYS32, _WOW64),
    "regsvr32.exe": (_SYS32, _WOW64),
    "mshta.exe": (_SYS32, _WOW64),
    "wscript.exe": (_SYS32, _WOW64),
    "cscript.exe": (_SYS32, _WOW64),
    "powershell.exe": (
        _SYS32 + "windowspowershell\\v1.0\\",
        _WOW64 + "windowspowershell\\v1.0\\",
    ),
}
_WINSXS = "\\windows\\winsxs\\"

#: Core process names attackers imitate with one typo (``scvhost.exe``) or a homoglyph.
_IMITATED = (
    "svchost.exe",
    "lsass.exe",
    "csrss.exe",
    "services.exe",
    "winlogon.exe",
    "wininit.exe",
    "spoolsv.exe",
    "taskhostw.exe",
    "explorer.exe",
    "rundll32.exe",
    "dllhost.exe",
    "conhost.exe",
    "userinit.exe",
)
#: Cyrillic and Greek letters that render like Latin ones (``svсhost`` with a Cyrillic ``с``).
_HOMOGLYPHS = str.maketrans("аеорсхуіѕјԁӏοα", "aeopcxyisjdloa")

_DRIVE = re.compile(r"^[a-z]:")
_DEVICE = re.compile(r"^\\device\\[^\\]+")
_NT_PREFIXES = ("\\\\?\\globalroot", "\\??\\", "\\\\?\\", "\\\\.\\")
_ENV_ROOTS = {
    "%systemroot%": "\\windows",
    "%windir%": "\\windows",
    "\\systemroot": "\\windows",
    "%systemdrive%": "",
    "%programdata%": "\\programdata",
    "%allusersprofile%": "\\programdata",
    "%programfiles%": "\\program files",
    "%programfiles(x86)%": "\\program files (x86)",
    "%public%": "\\users\\public",
}


def normalize_path(raw: str | None) -> str:
    """``raw`` in the comparable form described in the module docstring ('' when unknown)."""
    if not raw:
        return ""
    s = raw.strip().strip("\"'").strip().replace("/", "\\").lower()
    for prefix in _NT_PREFIXES:
        if s.startswith(prefix):
            s = "\\" + s[len(prefix) :].lstrip("\\")
            break
    s = _DEVICE.sub("", s)
    if _DRIVE.match(s.lstrip("\\")):
        s = s.lstrip("\\")[2:]
    for var, root in _ENV_ROOTS.items():
        if s.startswith(var + "\\") or s == var:
            s = root + s[len(var) :]
            break
    return _resolve_dots(s)


def _resolve_dots(s: str) -> str:
    """Drop empty and ``.`` parts, apply ``..``; a relative path stays relative."""
    parts: list[str] = []
    for part in s.split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    root = "\\" if s.startswith("\\") else ""
    return root + "\\".join(parts) if parts else ""


def image_name(path: str | None) -> str:
    """The file name of ``path``, lower case; Windows ignores trailing dots and spaces."""
    norm = normalize_path(path)
    return norm.rsplit("\\", 1)[-1].rstrip(". ")


def folder(norm: str) -> str:
    """The folder of a normalized path, ending in ``\\`` ('' for a bare name)."""
    head, sep, _ = norm.rpartition("\\")
    return head + sep


def argv0(command_line: str | None) -> str:
    """The program part of a Windows command line (quoted or up to the first blank)."""
    if not command_line:
        return ""
    s = command_line.lstrip()
    if s.startswith('"'):
        return s[1:].split('"', 1)[0]
    return s.split(None, 1)[0] if s else ""


@dataclass(frozen=True, slots=True)
class _Place:
    label: str
    pattern: re.Pattern[str]


_USER = r"\\users\\[^\\]+\\"
#: Most specific first; the first match names the place in the evidence sentence.
_WRITABLE: tuple[_Place, ...] = (
    _Place("the Recycle Bin", re.compile(r"\\\$recycle\.bin\\")),
    _Place("a user's temporary folder", re.compile(_USER + r"appdata\\local\\temp\\")),
    _Place("the Windows temporary folder", re.compile(r"^\\windows\\temp\\")),
    _Place("the Public user folder", re.compile(r"^\\users\\public\\")),
    _Place("a user's AppData folder", re.compile("^" + _USER + r"appdata\\")),
    _Place("a Downloads folder", re.compile(r"\\downloads\\")),
    _Place("a Desktop folder", re.compile(r"\\desktop\\")),
    _Place("ProgramData (writable by every user)", re.compile(r"^\\programdata\\")),
    _Place("a user profile", re.compile("^" + _USER)),
    _Place("a world-writable temporary folder", re.compile(r"^\\(tmp|var\\tmp|dev\\shm)\\")),
)


def writable_location(norm: str, exempt: tuple[str, ...] = ()) -> str | None:
    """Which user-writable or temporary place the normalized path ``norm`` is in, if any.

    ``exempt`` lists normalized folder prefixes that are never reported (folders
    inside a writable place that their owner locks down, such as Defender's).
    """
    if any(norm.startswith(e) for e in exempt):
        return None
    return next((p.label for p in _WRITABLE if p.pattern.search(norm)), None)


def lookalike_of(name: str) -> str | None:
    """The imitated system binary when ``name`` is one typo or homoglyph away from it."""
    if name in SYSTEM_BINARY_DIRS or not name.isprintable():
        return None
    skeleton = name.translate(_HOMOGLYPHS)
    if skeleton != name and skeleton in _IMITATED:
        return skeleton
    return next((t for t in _IMITATED if _one_edit_apart(skeleton, t)), None)


def _one_edit_apart(a: str, b: str) -> bool:
    """Damerau distance exactly 1 (one insert, delete, substitution or adjacent swap)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1 :]


_PROFILE_VARS = (
    (re.compile(r"^\\users\\[^\\]+\\appdata\\local\\temp\\"), ("%temp%\\", "%tmp%\\")),
    (re.compile(r"^\\users\\[^\\]+\\appdata\\roaming\\"), ("%appdata%\\",)),
    (re.compile(r"^\\users\\[^\\]+\\appdata\\local\\"), ("%localappdata%\\",)),
    (re.compile(r"^\\users\\public\\"), ("%public%\\",)),
    (re.compile(r"^\\users\\[^\\]+\\"), ("%userprofile%\\",)),
    (re.compile(r"^\\programdata\\"), ("%programdata%\\", "%allusersprofile%\\")),
)


def path_spellings(norm: str) -> tuple[str, ...]:
    """``norm`` plus the environment-variable spellings a registry value may use for it
    (``\\users\\bob\\appdata\\roaming\\x.exe`` -> ``%appdata%\\x.exe``)."""
    out = [norm]
    for pattern, variables in _PROFILE_VARS:
        m = pattern.match(norm)
        if m:
            out.extend(v + norm[m.end() :] for v in variables)
    return tuple(out)


def in_system_folder(name: str, norm: str) -> bool:
    """True when ``norm`` (a normalized path whose file is ``name``) sits where Windows ships it."""
    where = folder(norm)
    return where.startswith(_WINSXS) or where in SYSTEM_BINARY_DIRS.get(name, ())
