"""PowerShell command lines: the launcher's switches, encoded commands, download cradles.

``powershell.exe`` and ``pwsh.exe`` accept any prefix of a switch name that is at
least as long as its shortest unambiguous form, tried in a fixed order (PowerShell
``CommandLineParameterParser``): ``-e``, ``-en``, ``-enc`` ... ``-EncodedCommand``
and the alias ``-ec`` are EncodedCommand, but ``-ex`` is ExecutionPolicy and
``-ea`` EncodedArguments. A switch may start with ``/`` or any of ``- – — ―``,
and a doubled dash counts once. The first argument that is not a switch, and
everything after ``-Command`` or ``-File``, is the command itself.

The encoded command is base64 of UTF-16LE text. :func:`decode_payload` decodes it
for the analyst and returns None for anything that is not such text.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from beaconhunt.enrich.process_text import (
    DASHES,
    MAX_ANALYZED,
    argv0_end,
    deobfuscate,
    split_argv,
)

__all__ = [
    "POWERSHELL_NAMES",
    "PowerShellCall",
    "decode_payload",
    "decode_powershell",
    "download_indicators",
    "first_url",
    "powershell_calls",
    "script_layers",
]

POWERSHELL_NAMES = frozenset(
    {"powershell.exe", "pwsh.exe", "powershell_ise.exe", "powershell", "pwsh"}
)
"""Image names that are PowerShell hosts."""

_END, _FLAG, _VALUE = "end", "flag", "value"
#: (name, shortest accepted prefix, kind) in the order the launcher tries them.
_SWITCHES: tuple[tuple[str, str, str], ...] = (
    ("version", "v", _VALUE),  # Windows PowerShell: -Version 2 (downgrade); pwsh: a flag
    ("help", "h", _FLAG),
    ("?", "?", _FLAG),
    ("login", "l", _FLAG),
    ("noexit", "noe", _FLAG),
    ("noprofile", "nop", _FLAG),
    ("nologo", "nol", _FLAG),
    ("noninteractive", "noni", _FLAG),
    ("socketservermode", "so", _FLAG),
    ("servermode", "s", _FLAG),
    ("namedpipeservermode", "nam", _FLAG),
    ("sshservermode", "sshs", _FLAG),
    ("interactive", "i", _FLAG),
    ("configurationname", "config", _VALUE),
    ("custompipename", "cus", _VALUE),
    ("command", "c", _END),
    ("windowstyle", "w", _VALUE),
    ("file", "f", _END),
    ("outputformat", "o", _VALUE),
    ("of", "o", _VALUE),
    ("inputformat", "inp", _VALUE),
    ("if", "if", _VALUE),
    ("executionpolicy", "ex", _VALUE),
    ("ep", "ep", _VALUE),
    ("encodedcommand", "e", _VALUE),
    ("ec", "e", _VALUE),
    ("encodedarguments", "encodeda", _VALUE),
    ("ea", "ea", _VALUE),
    ("settingsfile", "settings", _VALUE),
    ("sta", "sta", _FLAG),
    ("mta", "mta", _FLAG),
    ("workingdirectory", "wo", _VALUE),
    ("wd", "wd", _VALUE),
    ("psconsolefile", "psc", _VALUE),
)
_ALIASES = {"ec": "encodedcommand", "ep": "executionpolicy", "of": "outputformat",
            "if": "inputformat", "ea": "encodedarguments", "wd": "workingdirectory"}  # fmt: skip
_STEALTH = {"noprofile", "noninteractive", "noexit"}
_LOOSE_POLICIES = ("bypass", "unrestricted")
#: A PowerShell host named anywhere in a command line (``cmd /c powershell -enc ...``).
_PS_WORD = re.compile(
    r"(?i)(?:^|(?<=[\s\"'&|;(,=\\/]))(?:powershell(?:_ise)?|pwsh)(?:\.exe)?(?=[\s\"']|$)"
)
_MAX_CALLS = 4
_MAX_SWITCHES = 64  # a launcher line with more switches than this is not a real one
_MAX_LAYERS = 3


@dataclass(frozen=True, slots=True)
class PowerShellCall:
    """What one PowerShell invocation's switches say. Switches are kept as written."""

    encoded_switch: str | None = None
    payload: str | None = None
    decoded: str | None = None
    hidden: str | None = None
    stealth: tuple[str, ...] = ()
    command: str = ""
    origin: str = "image"
    """``image`` (the process is PowerShell), ``named`` (PowerShell named in its command
    line) or ``shape`` (another name, but PowerShell's switches: renamed PowerShell)."""

    @property
    def distinctive(self) -> int:
        """How many PowerShell-only switches the call writes with three letters or more
        (``-enc``, ``-win hidden``, ``-nop``, ``-noni``, ``-exec bypass``)."""
        written = [*self.stealth, self.encoded_switch or "", self.hidden or ""]
        return sum(len(w.split()[0]) > 3 for w in written if w)


def _switch_key(token: str) -> str | None:
    """The switch name in ``token`` (lower case), or None when it is not a switch."""
    t = token.strip().replace("^", "")
    if len(t) < 2 or t[0] not in DASHES + "/":
        return None
    key = t[1:]
    if key[0] in DASHES:
        key = key[1:]
    return key.lower() or None


@lru_cache(maxsize=1024)
def _canonical(key: str) -> tuple[str, str] | None:
    for name, shortest, kind in _SWITCHES:
        if len(key) >= len(shortest) and name.startswith(key):
            return _ALIASES.get(name, name), kind
    return None


def _is_hidden(value: str) -> bool:
    v = value.strip().lower()
    return v == "1" or (v != "" and "hidden".startswith(v))


def _parse(args: list[str]) -> PowerShellCall:
    found: dict[str, str | None] = {"switch": None, "payload": None, "hidden": None}
    stealth: list[str] = []
    i = 0
    while i < min(len(args), _MAX_SWITCHES):
        key = _switch_key(args[i])
        if key is None:
            return _call(found, stealth, args[i:])
        hit = _canonical(key)
        name, kind = hit if hit else ("", _FLAG)  # unknown switch: keep reading (lenient)
        if kind == _END:
            return _call(found, stealth, args[i + 1 :])
        value = args[i + 1] if i + 1 < len(args) else None
        # The launcher always takes the next argument; so do we, except that a value
        # starting with a dash is read as the next switch (lenient where versions differ).
        # An encoded command is always taken: base64 may start with "/".
        takes = value is not None and kind == _VALUE
        takes = takes and (name == "encodedcommand" or str(value)[:1] not in DASHES)
        _note(name, args[i], value if takes else None, found, stealth)
        i += 2 if takes else 1
    return _call(found, stealth, args[i:])


def _note(
    name: str, written: str, value: str | None, found: dict[str, str | None], stealth: list[str]
) -> None:
    if name == "encodedcommand" and found["switch"] is None:
        found["switch"], found["payload"] = written, value
    elif name == "windowstyle" and value is not None and _is_hidden(value):
        found["hidden"] = f"{written} {value}"
    elif name in _STEALTH:
        stealth.append(written)
    elif name == "executionpolicy" and value is not None and value.lower() in _LOOSE_POLICIES:
        stealth.append(f"{written} {value}")


def _call(found: dict[str, str | None], stealth: list[str], rest: list[str]) -> PowerShellCall:
    payload = found["payload"]
    return PowerShellCall(
        encoded_switch=found["switch"],
        payload=payload,
        decoded=decode_payload(payload) if payload else None,
        hidden=found["hidden"],
        stealth=tuple(stealth),
        command=" ".join(rest),
    )


def powershell_calls(
    command_line: str | None, image_is_powershell: bool
) -> tuple[PowerShellCall, ...]:
    """Every PowerShell invocation in ``command_line`` (at most four).

    When the image is PowerShell its own arguments are one call; PowerShell named
    inside the command line (``cmd /c "powershell -enc ..."``) adds more. An image
    with another name counts as renamed PowerShell only by shape: a payload that
    decodes, or two PowerShell-only switches written with three letters or more.
    """
    if not command_line:
        return ()
    s = command_line[:MAX_ANALYZED].replace("^", "")
    argv = split_argv(s)
    calls: list[PowerShellCall] = []
    if image_is_powershell:
        calls.append(_parse(argv[1:]))
    for m in _PS_WORD.finditer(s, argv0_end(s) if image_is_powershell else 0):
        calls.append(replace(_parse(split_argv(s[m.start() :])[1:]), origin="named"))
        if len(calls) >= _MAX_CALLS:
            break
    if not calls and len(argv) > 1:
        guess = _parse(argv[1:])
        if guess.decoded is not None or guess.distinctive >= 2:
            calls.append(replace(guess, origin="shape"))
    return tuple(calls)


def decode_payload(value: str) -> str | None:
    """An ``-EncodedCommand`` value as text, or None unless it is base64 of UTF-16LE text.

    Blanks are ignored and missing ``=`` padding is tolerated; an odd trailing
    byte is dropped; a leading byte-order mark is removed. Text where fewer than
    60% of the first 512 characters are printable ASCII (typically base64 of
    UTF-8 or of binary data) is not a PowerShell command and gives None.
    """
    v = "".join(value[:MAX_ANALYZED].split()).strip("\"'")
    if not v or re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", v) is None:
        return None
    try:
        raw = base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw[: len(raw) // 2 * 2].decode("utf-16-le").lstrip("\ufeff")
    except UnicodeDecodeError:
        return None
    return text if text and _mostly_ascii(text[:512]) else None


def _mostly_ascii(text: str) -> bool:
    ok = sum(1 for ch in text if " " <= ch <= "~" or ch in "\t\r\n")
    return ok >= 0.6 * len(text)


def decode_powershell(command_line: str | None) -> str | None:
    """The decoded ``-EncodedCommand`` of the first PowerShell call in ``command_line``.

    PowerShell is recognised by name (``powershell.exe -enc ...``, also inside
    ``cmd /c ...``) or, for a renamed copy, by shape. None when there is no
    encoded command or its payload is not base64 of UTF-16LE text.
    """
    if not command_line:
        return None
    first = split_argv(command_line[:4096])
    name = first[0].replace("/", "\\").rsplit("\\", 1)[-1].lower() if first else ""
    for call in powershell_calls(command_line, name in POWERSHELL_NAMES):
        if call.encoded_switch is not None:
            return call.decoded
    return None


def script_layers(
    command_line: str | None, calls: tuple[PowerShellCall, ...]
) -> tuple[tuple[str, str], ...]:
    """``(where, text)`` for the command line and each decoded command, nested
    encodings included (at most three decoded layers)."""
    if not command_line:
        return ()
    layers: list[tuple[str, str]] = [("the command line", command_line[:MAX_ANALYZED])]
    pending = [c.decoded for c in calls if c.decoded is not None]
    while pending and len(layers) <= _MAX_LAYERS:
        text = pending.pop(0)
        layers.append(("the decoded command", text))
        pending.extend(c.decoded for c in powershell_calls(text, False) if c.decoded is not None)
    return tuple(layers)


_INDICATORS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(rx))
    for label, rx in (
        ("Net.WebClient", r"\bnet\.webclient\b"),
        ("DownloadString", r"\bdownloadstring(?:async)?\b"),
        ("DownloadFile", r"\bdownloadfile(?:async)?\b"),
        ("DownloadData", r"\bdownloaddata(?:async)?\b"),
        ("Invoke-WebRequest", r"(?<![\w-])(?:invoke-webrequest|iwr)\b"),
        ("Invoke-RestMethod", r"(?<![\w-])(?:invoke-restmethod|irm)\b"),
        ("Start-BitsTransfer", r"\bstart-bitstransfer\b"),
        ("Net.WebRequest", r"\bnet\.(?:http)?webrequest\b"),
        ("HttpClient", r"\bnet\.http\.httpclient\b"),
        (
            "XMLHTTP",
            r"\b(?:msxml2\.(?:server)?xmlhttp|microsoft\.xmlhttp|winhttp\.winhttprequest)\b",
        ),
    )
)
_IEX = re.compile(r"(?<![\w-])(?:iex|invoke-expression)\b")
_URL = re.compile(r"(?i)\bhttps?://[^\s'\"`)<>]{1,200}")


def download_indicators(text: str) -> tuple[str, ...]:
    """The download-cradle indicators in ``text``: ``IEX`` first when something is also
    downloaded, then each download method; empty when nothing is downloaded."""
    t = deobfuscate(text)
    found = [label for label, rx in _INDICATORS if rx.search(t)]
    if "certutil" in t and ("urlcache" in t or "verifyctl" in t):
        found.append("certutil -urlcache")
    if "bitsadmin" in t and ("/transfer" in t or "-transfer" in t or "/addfile" in t):
        found.append("bitsadmin /transfer")
    if "mshta" in t and ("http://" in t or "https://" in t):
        found.append("mshta URL")
    if "scrobj" in t and ("/i:http" in t or "-i:http" in t):
        found.append("regsvr32 /i:URL")
    if found and _IEX.search(t):
        found.insert(0, "IEX")
    return tuple(found)


def first_url(text: str) -> str | None:
    """The first http(s) URL in ``text``, as written (at most 200 characters after the scheme)."""
    m = _URL.search(text[:MAX_ANALYZED].replace("^", ""))
    return m.group() if m else None
