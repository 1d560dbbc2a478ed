"""Hostile strings: escapes, huge command lines and arbitrary text give safe, bounded evidence."""

from __future__ import annotations

import base64
import time
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.enrich.process import (
    EXCERPT_LEN,
    MAX_TEXT_LEN,
    FileCreate,
    RegSet,
    decode_powershell,
    persistence_evidence,
    process_evidence,
)
from beaconhunt.model import Evidence, ProcessInfo

PS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
ANSI = "\x1b[31m\x1b]8;;http://evil/\x07click\x1b]8;;\x07\x1b[2J\u202e"
MB = 1 << 20


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def assert_safe(found: tuple[Evidence, ...], max_len: int = MAX_TEXT_LEN) -> None:
    """Every text is short, one line, and free of control, format and bidi characters."""
    for e in found:
        assert len(e.text) <= max_len, (e.code, len(e.text))
        bad = [c for c in e.text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")]
        assert not bad, (e.code, bad)


def test_ansi_escapes_everywhere_are_neutralised() -> None:
    image = f"C:\\Users\\bob\\AppData\\Local\\Temp\\{ANSI}svchost.exe"
    proc = ProcessInfo(host=ANSI, process_guid="g", image=image,
                       command_line=f"{image} -nop -w {ANSI} -enc {b64(ANSI + 'iwr http://x')}",
                       parent_image=f"C:\\Office\\{ANSI}\\WINWORD.EXE")  # fmt: skip
    found = process_evidence(proc)
    assert {e.code for e in found} >= {"process.powershell_encoded", "process.suspicious_path"}
    assert_safe(found)
    assert any("\\x1b[31m" in e.text for e in found)
    run = f"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\{ANSI}"
    reg = RegSet(ANSI, "g2", image, run, f"{image} {ANSI}")
    assert_safe(persistence_evidence(proc, [], [reg], []))


def test_one_megabyte_command_lines_are_bounded_and_fast() -> None:
    lines = [
        "powershell -nop -w hidden -enc " + b64("IEX " + "\x1b[2J" * (MB // 8)),
        PS + " -enc " + "A" * MB,
        "cmd /c " + ("p^o^w^e^r^s^h^e^l^l -e " * (MB // 24)),
        "powershell " + "\u2013e " * (MB // 3),
        '"' + "\\" * MB,
        "schtasks " * (MB // 9),
        "iex http://" * (MB // 11),
    ]
    for line in lines:
        start = time.perf_counter()
        proc = ProcessInfo("h", "g", None, line[:MB], line, line, line, line, line)
        found = process_evidence(proc)
        found += persistence_evidence(
            proc, [FileCreate("h", "g", line, line)], [RegSet("h", "g", line, line, line)], [proc]
        )
        decode_powershell(line)
        assert time.perf_counter() - start < 10  # generous: a slow CI machine, not a benchmark
        assert_safe(found)


def test_decoded_excerpt_is_at_most_the_excerpt_length() -> None:
    found = process_evidence(
        ProcessInfo(image=PS, command_line=f"powershell -enc {b64('x' * 999)}")
    )
    excerpt = found[0].text.split('decoded: "', 1)[1][:-1]
    assert len(excerpt) == EXCERPT_LEN and excerpt.endswith("…")


# -- properties -------------------------------------------------------------------------------

_parts = st.sampled_from(
    ["powershell", "pwsh.exe", " -enc ", " -w hidden ", " /e ", "\u2013ec ", "^", '"', "\\",
     "IEX ", "Net.WebClient", ".DownloadString(", "schtasks /create ", "sc create ",
     "C:\\Users\\x\\AppData\\Local\\Temp\\", "svchost.exe", "\x1b[31m", "\u202e", "SQBFAFgA",
     "==", " ", "\x00", "\ud800"]
)  # fmt: skip
_text = st.one_of(st.text(max_size=300), st.lists(_parts, max_size=40).map("".join))
_opt = st.one_of(st.none(), _text)


@settings(max_examples=300, deadline=None)
@given(image=_opt, cmd=_opt, parent=_opt, parent_cmd=_opt, network=st.booleans())
def test_process_evidence_never_raises_and_stays_bounded(
    image: str | None, cmd: str | None, parent: str | None, parent_cmd: str | None, network: bool
) -> None:
    proc = ProcessInfo("h", "g", 1, image, cmd, "u", parent, parent_cmd, None)
    found = process_evidence(proc, network=network)
    assert_safe(found)
    assert len({e.code for e in found}) == len(found)


@settings(max_examples=200, deadline=None)
@given(host=_opt, guid=_opt, image=_opt, target=_opt, value=_opt, cmd=_opt)
def test_persistence_evidence_never_raises_and_stays_bounded(
    host: str | None, guid: str | None, image: str | None, target: str | None,
    value: str | None, cmd: str | None,
) -> None:  # fmt: skip
    proc = ProcessInfo(host, guid, None, image, cmd, None, image, cmd)
    files = [FileCreate(host, guid, image, target)]
    regs = [RegSet(host, guid, image, target, value, "SetValue")]
    assert_safe(persistence_evidence(proc, files, regs, [proc]))


@given(st.text())
def test_decode_never_raises(command_line: str) -> None:
    decoded = decode_powershell(command_line)
    assert decoded is None or isinstance(decoded, str)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1))
def test_decode_round_trips_any_printable_command(command: str) -> None:
    assert decode_powershell(f"powershell.exe -NoProfile -enc {b64(command)}") == command


@given(
    dash=st.sampled_from(["-", "/", "--", "\u2013", "\u2014", "\u2015"]),
    size=st.integers(min_value=1, max_value=len("encodedcommand")),
    upper=st.booleans(),
)
def test_every_prefix_of_encodedcommand_is_encoded(dash: str, size: int, upper: bool) -> None:
    switch = "encodedcommand"[:size]
    switch = switch.upper() if upper else switch
    found = process_evidence(ProcessInfo(image=PS, command_line=f"powershell {dash}{switch} AA"))
    assert "process.powershell_encoded" in {e.code for e in found}


@given(
    dash=st.sampled_from(["-", "/", "\u2013"]),
    size=st.integers(min_value=2, max_value=len("executionpolicy")),
)
def test_no_prefix_of_executionpolicy_is_encoded(dash: str, size: int) -> None:
    switch = "executionpolicy"[:size]
    found = process_evidence(ProcessInfo(image=PS, command_line=f"powershell {dash}{switch} AA"))
    assert "process.powershell_encoded" not in {e.code for e in found}
