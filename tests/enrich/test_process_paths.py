"""Image paths: normalization, user-writable folders, masquerading system binaries."""

from __future__ import annotations

import pytest

from beaconhunt.enrich.process import (
    Masquerading,
    ProcessView,
    UserWritablePath,
    process_evidence,
)
from beaconhunt.enrich.process_paths import image_name, lookalike_of, normalize_path
from beaconhunt.model import ProcessInfo


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        (r"C:\Windows\System32\svchost.exe", r"\windows\system32\svchost.exe"),
        (r"c:/windows/SYSTEM32/svchost.EXE", r"\windows\system32\svchost.exe"),
        (r'"C:\Program Files\Vendor\agent.exe"', r"\program files\vendor\agent.exe"),
        (r"\??\C:\Windows\System32\smss.exe", r"\windows\system32\smss.exe"),
        (r"\\?\C:\Windows\System32\smss.exe", r"\windows\system32\smss.exe"),
        (r"\\.\C:\x.exe", r"\x.exe"),
        (r"\Device\HarddiskVolume3\Windows\System32\lsass.exe", r"\windows\system32\lsass.exe"),
        (r"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\x", r"\windows\x"),
        (r"\SystemRoot\System32\smss.exe", r"\windows\system32\smss.exe"),
        (r"%SystemRoot%\system32\svchost.exe", r"\windows\system32\svchost.exe"),
        (r"%ProgramData%\x\y.exe", r"\programdata\x\y.exe"),
        (r"C:\Windows\System32\..\Temp\.\x.exe", r"\windows\temp\x.exe"),
        (r"D:\\Windows\\\\System32\\svchost.exe", r"\windows\system32\svchost.exe"),
        ("/tmp/.x/beacon", r"\tmp\.x\beacon"),
        ("svchost.exe", "svchost.exe"),  # no folder: stays relative
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_path(raw: str | None, norm: str) -> None:
    assert normalize_path(raw) == norm


def test_image_name_ignores_trailing_dots_and_blanks() -> None:
    assert image_name("C:\\Users\\x\\svchost.exe. ") == "svchost.exe"


def _view(image: str) -> ProcessView:
    return ProcessView.of(ProcessInfo(image=image))


# -- process.user_writable_path ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "place"),
    [
        (r"C:\Users\bob\AppData\Local\Temp\a.exe", "a user's temporary folder"),
        (r"C:\Users\BOBSMI~1\AppData\Local\Temp\7zS1\a.exe", "a user's temporary folder"),
        (r"\Device\HarddiskVolume3\Users\bob\AppData\Local\Temp\a.exe", "temporary folder"),
        (r"C:\Users\bob\AppData\Roaming\upd\upd.exe", "a user's AppData folder"),
        (r"C:\Users\bob\AppData\LocalLow\x.exe", "a user's AppData folder"),
        (r"C:\Users\Public\Libraries\x.exe", "the Public user folder"),
        (r"C:\Windows\Temp\x.exe", "the Windows temporary folder"),
        (r"C:\ProgramData\Intel\svc.exe", "ProgramData (writable by every user)"),
        (r"C:\Users\bob\Downloads\setup.exe", "a Downloads folder"),
        (r"C:\Users\bob\OneDrive\Desktop\x.exe", "a Desktop folder"),
        (r"C:\$Recycle.Bin\S-1-5-21-1-2-3-1001\x.exe", "the Recycle Bin"),
        (r"C:\Users\bob\tools\x.exe", "a user profile"),
        ("/tmp/.x/beacon", "a world-writable temporary folder"),
        ("/dev/shm/k", "a world-writable temporary folder"),
        ("/var/tmp/k", "a world-writable temporary folder"),
        ("C:/USERS/BOB/APPDATA/LOCAL/TEMP/A.EXE", "a user's temporary folder"),
    ],
)
def test_user_writable(image: str, place: str) -> None:
    ev = UserWritablePath().check(_view(image))
    assert ev is not None and place in ev.text


@pytest.mark.parametrize(
    "image",
    [
        r"C:\Program Files\CrowdStrike\CSFalconService.exe",  # an EDR agent
        r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
        r"C:\Windows\System32\svchost.exe",
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2\MsMpEng.exe",
        "/usr/bin/curl",
        "/opt/agent/bin/agent",
        "svchost.exe",
        "",
    ],
)
def test_not_user_writable(image: str) -> None:
    assert UserWritablePath().check(_view(image)) is None


def test_user_writable_exemptions_are_configurable() -> None:
    rule = UserWritablePath(exempt=[r"C:\ProgramData\Vendor"])
    assert rule.check(_view(r"C:\ProgramData\Vendor\agent.exe")) is None
    assert rule.check(_view(r"C:\ProgramData\Microsoft\Windows Defender\x.exe")) is not None


# -- process.masquerading ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (r"C:\Users\bob\AppData\Local\svchost.exe", "svchost.exe is a Windows system binary"),
        (r"C:\Windows\svchost.exe", "outside its system folder"),
        (r"C:\Windows\Temp\lsass.exe", "lsass.exe"),
        (r"\Device\HarddiskVolume3\ProgramData\csrss.exe", "csrss.exe"),
        (r"C:\Windows\System32\explorer.exe", "explorer.exe"),
        (r"C:\Windows\SysWOW64\lsass.exe", "lsass.exe"),  # lsass has no 32-bit copy
        (r"C:\Windows\System32\..\Temp\svchost.exe", "svchost.exe"),
        (r"C:\Users\bob\RUNDLL32.EXE", "rundll32.exe"),
        (r"C:\Windows\System32\scvhost.exe", "image name scvhost.exe imitates svchost.exe"),
        (r"C:\Windows\svch0st.exe", "imitates svchost.exe"),
        (r"C:\Windows\lssas.exe", "imitates lsass.exe"),
        ("C:\\Windows\\System32\\sv\u0441host.exe", "imitates svchost.exe"),  # Cyrillic es
        (r"C:\Windows\System32\svchosts.exe", "imitates svchost.exe"),
    ],
)
def test_masquerading(image: str, expected: str) -> None:
    ev = Masquerading().check(_view(image))
    assert ev is not None and expected in ev.text


@pytest.mark.parametrize(
    "image",
    [
        r"C:\Windows\System32\svchost.exe",
        r"C:\WINDOWS\system32\SVCHOST.EXE",
        r'"C:\Windows\System32\svchost.exe"',
        "C:/Windows/System32/svchost.exe",
        r"\??\C:\Windows\System32\smss.exe",
        r"\SystemRoot\System32\smss.exe",
        r"\Device\HarddiskVolume2\Windows\SysWOW64\rundll32.exe",
        r"C:\Windows\explorer.exe",
        r"C:\Windows\SysWOW64\explorer.exe",
        r"D:\Windows\System32\lsass.exe",  # the system drive is not always C:
        r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\WinSxS\amd64_microsoft-windows-s..ost_31bf3856ad364e35\svchost.exe",
        r"C:\Windows\System32\taskhost.exe",  # itself a system name, not a typo of taskhostw
        r"C:\Program Files\Vendor\agent.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        "svchost.exe",  # no folder known: nothing to compare
        "",
    ],
)
def test_not_masquerading(image: str) -> None:
    assert Masquerading().check(_view(image)) is None


@pytest.mark.parametrize("name", ["notepad.exe", "services.exe", "cmd.exe", "dllhost.exe", "x"])
def test_no_lookalike(name: str) -> None:
    assert lookalike_of(name) is None


def test_image_falls_back_to_the_command_line() -> None:
    proc = ProcessInfo(command_line=r'"C:\Users\bob\AppData\Local\svchost.exe" -k netsvcs')
    assert {e.code for e in process_evidence(proc)} == {
        "process.user_writable_path",
        "process.masquerading",
    }
