"""Image paths: normalization, user-writable folders, masquerading system binaries."""

from __future__ import annotations

import pytest

from beaconhunt.enrich.process import (
    KnownInstall,
    Masquerading,
    ProcessRule,
    ProcessView,
    Renamed,
    SuspiciousPath,
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


# -- graded paths: suspicious_path / user_writable_path / known_install -------------------------


@pytest.mark.parametrize(
    ("image", "rule", "place"),
    [
        # high severity: temporary folders, Public, the Recycle Bin (never cancelled)
        (r"C:\Users\bob\AppData\Local\Temp\a.exe", SuspiciousPath, "a user's temporary folder"),
        (r"C:\Users\BOBSMI~1\AppData\Local\Temp\7zS1\a.exe", SuspiciousPath, "temporary"),
        (r"\Device\HarddiskVolume3\Users\bob\AppData\Local\Temp\a.exe", SuspiciousPath,
         "temporary folder"),
        (r"C:\Users\Public\Libraries\x.exe", SuspiciousPath, "Public"),
        (r"C:\Windows\Temp\x.exe", SuspiciousPath, "temporary"),
        (r"C:\$Recycle.Bin\S-1-5-21-1-2-3-1001\x.exe", SuspiciousPath, "Recycle Bin"),
        ("/tmp/.x/beacon", SuspiciousPath, "a world-writable temporary folder"),
        ("/dev/shm/k", SuspiciousPath, "a world-writable temporary folder"),
        ("/var/tmp/k", SuspiciousPath, "a world-writable temporary folder"),
        ("C:/USERS/BOB/APPDATA/LOCAL/TEMP/A.EXE", SuspiciousPath, "temporary"),
        # medium: an unknown folder directly under Roaming, the root of ProgramData,
        # Downloads and Desktop
        (r"C:\Users\bob\AppData\Roaming\upd\upd.exe", SuspiciousPath, "Roaming"),
        (r"C:\ProgramData\svc.exe", SuspiciousPath, "ProgramData"),
        (r"C:\Users\bob\Downloads\setup.exe", SuspiciousPath, "Downloads"),
        # low: elsewhere a user can write - urgency only
        (r"C:\Users\bob\tools\x.exe", UserWritablePath, "a user profile"),
        (r"C:\ProgramData\Intel\svc.exe", UserWritablePath, "ProgramData"),
        (r"C:\Users\bob\AppData\LocalLow\x.exe", UserWritablePath, "profile"),
        # documented per-user installs of common software
        (r"C:\Users\bob\AppData\Local\Programs\Python\Python312\python.exe", KnownInstall,
         "Python"),
        (r"C:\Users\bob\AppData\Local\Programs\Microsoft VS Code\Code.exe", KnownInstall,
         "Visual Studio Code"),
        (r"C:\Users\bob\AppData\Roaming\Zoom\bin\Zoom.exe", KnownInstall, "Zoom"),
        (r"C:\Users\bob\AppData\Local\slack\app-4.41.105\slack.exe", KnownInstall, "Slack"),
        (r"C:\Users\bob\AppData\Roaming\Spotify\Spotify.exe", KnownInstall, "Spotify"),
        (r"C:\Users\bob\AppData\Local\Microsoft\Teams\current\Teams.exe", KnownInstall,
         "Teams"),
    ],
)  # fmt: skip
def test_graded_paths(image: str, rule: type[ProcessRule], place: str) -> None:
    ev = rule().check(_view(image))
    assert ev is not None and place in ev.text, (image, ev)
    others = [r for r in (SuspiciousPath, UserWritablePath, KnownInstall) if r is not rule]
    assert all(r().check(_view(image)) is None for r in others), image


def test_graded_path_codes() -> None:
    def codes(image: str) -> set[str]:
        return {e.code for e in process_evidence(ProcessInfo(image=image))}

    assert "process.known_install" in codes(
        r"C:\Users\a\AppData\Local\Programs\Python\Python311\python.exe"
    )
    assert "process.user_writable_path" in codes(r"C:\Users\a\tools\agent.exe")
    assert "process.suspicious_path" in codes(r"C:\Users\a\AppData\Local\Temp\agent.exe")
    renamed = ProcessInfo(image=r"C:\Users\a\x.exe", original_file_name="PowerShell.EXE")
    assert "process.renamed" in {e.code for e in process_evidence(renamed)}


def test_a_known_install_by_another_publisher_is_only_writable() -> None:
    image = r"C:\Users\a\AppData\Local\Programs\Python\Python312\python.exe"
    real = ProcessInfo(image=image, company="Python Software Foundation")
    fake = ProcessInfo(image=image, company="Shenzhen Update Ltd")
    unknown = ProcessInfo(image=image, company="-")  # no version info: nothing to compare
    assert KnownInstall().check(ProcessView.of(real)) is not None
    assert KnownInstall().check(ProcessView.of(unknown)) is not None
    assert KnownInstall().check(ProcessView.of(fake)) is None
    ev = UserWritablePath().check(ProcessView.of(fake))
    assert ev is not None and "published by Shenzhen Update Ltd" in ev.text


def test_a_system_name_under_a_known_root_stays_suspicious() -> None:
    # high severity is never cancelled by a per-user root (Squirrel's app-<version>)
    image = r"C:\Users\bob\AppData\Local\Foo\app-1.0\svchost.exe"
    assert SuspiciousPath().check(_view(image)) is not None
    assert KnownInstall().check(_view(image)) is None


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
    for rule in (SuspiciousPath, UserWritablePath, KnownInstall):
        assert rule().check(_view(image)) is None, (rule, image)


def test_path_exemptions_are_configurable() -> None:
    rule = UserWritablePath(exempt=[r"C:\ProgramData\Vendor"])
    assert rule.check(_view(r"C:\ProgramData\Vendor\agent\agent.exe")) is None
    assert rule.check(_view(r"C:\ProgramData\Intel\x.exe")) is not None
    assert SuspiciousPath().check(_view(r"C:\ProgramData\Microsoft\Windows Defender\x.exe")) is None


# -- process.renamed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "original", "real"),
    [
        (r"C:\Users\bob\AppData\Roaming\upd.exe", "PowerShell.EXE", "powershell.exe"),
        (r"C:\ProgramData\x\helper.exe", "RUNDLL32.EXE", "rundll32.exe"),  # any case
        (r"C:\Users\Public\c.exe", "Cmd.Exe", "cmd.exe"),
    ],
)
def test_renamed_binaries(image: str, original: str, real: str) -> None:
    ev = Renamed().check(ProcessView.of(ProcessInfo(image=image, original_file_name=original)))
    assert ev is not None and f"renamed {real}" in ev.text


@pytest.mark.parametrize(
    ("image", "original"),
    [
        (r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "PowerShell.EXE"),
        (r"C:\Users\bob\AppData\Roaming\upd.exe", "updater.exe"),  # not a known binary
        (r"C:\Users\bob\AppData\Roaming\upd.exe", "-"),  # Sysmon: no version info
        (r"C:\Users\bob\AppData\Roaming\upd.exe", None),
    ],
)
def test_not_renamed(image: str, original: str | None) -> None:
    proc = ProcessInfo(image=image, original_file_name=original)
    assert Renamed().check(ProcessView.of(proc)) is None


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
        "process.suspicious_path",  # a system binary's name under a profile: high severity
        "process.masquerading",
    }
