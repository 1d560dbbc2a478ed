"""Office children, LOLBins on the network, the rule registry, codes and their documentation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import beaconhunt.enrich.process as process_module
from beaconhunt.enrich.process import (
    PERSISTENCE_RULES,
    PROCESS_RULES,
    REASON_CODES,
    LolbinNetwork,
    OfficeChild,
    ProcessView,
    persistence_rules,
    process_evidence,
    process_rules,
)
from beaconhunt.errors import ConfigError
from beaconhunt.model import ProcessInfo

DOC = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
OFFICE = r"C:\Program Files\Microsoft Office\root\Office16"
SYS32 = "C:\\Windows\\System32\\"


# -- process.office_child ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "parent"),
    [
        (SYS32 + r"WindowsPowerShell\v1.0\powershell.exe", OFFICE + r"\WINWORD.EXE"),
        (SYS32 + "cmd.exe", OFFICE + r"\EXCEL.EXE"),
        (SYS32 + "mshta.exe", OFFICE + r"\OUTLOOK.EXE"),
        (SYS32 + "wscript.exe", OFFICE + r"\POWERPNT.EXE"),
        (SYS32 + "regsvr32.exe", OFFICE + r"\MSACCESS.EXE"),
        (SYS32 + "rundll32.exe", OFFICE + r"\ONENOTE.EXE"),
        (SYS32 + "cscript.exe", OFFICE + r"\MSPUB.EXE"),
        (SYS32 + "certutil.exe", OFFICE + r"\VISIO.EXE"),
        (SYS32 + "bash.exe", OFFICE + r"\winword.exe"),
    ],
)
def test_office_child(image: str, parent: str) -> None:
    ev = OfficeChild().check(ProcessView.of(ProcessInfo(image=image, parent_image=parent)))
    assert ev is not None and ev.code == "process.office_child"
    assert "was started by the Office application" in ev.text


def test_office_parent_from_its_command_line() -> None:
    proc = ProcessInfo(
        image=SYS32 + "cmd.exe", parent_command_line=f'"{OFFICE}\\WINWORD.EXE" /n "inv.docm"'
    )
    assert [e.code for e in process_evidence(proc)] == ["process.office_child"]


@pytest.mark.parametrize(
    ("image", "parent"),
    [
        (SYS32 + "splwow64.exe", OFFICE + r"\WINWORD.EXE"),  # printing
        (r"C:\Program Files\Google\Chrome\Application\chrome.exe", OFFICE + r"\OUTLOOK.EXE"),
        (OFFICE + r"\EXCEL.EXE", OFFICE + r"\EXCEL.EXE"),
        (SYS32 + r"WindowsPowerShell\v1.0\powershell.exe", r"C:\Windows\explorer.exe"),
        (SYS32 + "cmd.exe", None),
        (None, OFFICE + r"\WINWORD.EXE"),
    ],
)
def test_not_office_child(image: str | None, parent: str | None) -> None:
    view = ProcessView.of(ProcessInfo(image=image, parent_image=parent))
    assert OfficeChild().check(view) is None


def test_office_lists_are_configurable() -> None:
    rule = OfficeChild(office=["AcroRd32.exe"], children=["cmd.exe"])
    proc = ProcessInfo(image=SYS32 + "cmd.exe", parent_image=r"C:\x\AcroRd32.exe")
    assert rule.check(ProcessView.of(proc)) is not None


# -- process.lolbin_network -------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [SYS32 + "mshta.exe", SYS32 + "RUNDLL32.EXE", r"C:\Windows\SysWOW64\regsvr32.exe",
     SYS32 + "certutil.exe", r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe",
     SYS32 + r"wbem\WMIC.exe", SYS32 + "bitsadmin.exe", SYS32 + "msiexec.exe",
     SYS32 + "odbcconf.exe", SYS32 + "cmstp.exe", r"C:\Windows\hh.exe"],
)  # fmt: skip
def test_lolbin_network(image: str) -> None:
    found = process_evidence(ProcessInfo(image=image))
    assert "process.lolbin_network" in {e.code for e in found}


@pytest.mark.parametrize(
    "image",
    [
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r"C:\Program Files\Mozilla Firefox\firefox.exe",
        SYS32 + "curl.exe",  # downloading is its job (see docs/evidence.md)
        SYS32 + r"WindowsPowerShell\v1.0\powershell.exe",
        SYS32 + "svchost.exe",
    ],
)
def test_not_lolbin(image: str) -> None:
    assert LolbinNetwork().check(ProcessView.of(ProcessInfo(image=image))) is None


def test_lolbin_needs_network() -> None:
    proc = ProcessInfo(image=SYS32 + "mshta.exe")
    assert process_evidence(proc, network=False) == ()


# -- registry, codes, documentation -----------------------------------------------------------


def test_rules_are_registered_under_their_codes() -> None:
    for registry in (PROCESS_RULES, PERSISTENCE_RULES):
        for code, cls in registry.items():
            assert cls.code == code
    assert (*PROCESS_RULES, *PERSISTENCE_RULES) == REASON_CODES
    assert len(set(REASON_CODES)) == len(REASON_CODES)
    assert all(c.count(".") == 1 and c == c.lower() for c in REASON_CODES)


def test_rules_can_be_enabled_by_name() -> None:
    proc = ProcessInfo(image=r"C:\Users\bob\AppData\Local\svchost.exe")
    only = process_rules(["process.masquerading"])
    assert [e.code for e in process_evidence(proc, rules=only)] == ["process.masquerading"]
    assert [type(r).__name__ for r in persistence_rules(["persistence.service"])] == ["Service"]
    assert len(process_rules()) == len(PROCESS_RULES)


@pytest.mark.parametrize("factory", [process_rules, persistence_rules])
def test_unknown_rule_is_a_config_error(factory: Callable[[list[str]], object]) -> None:
    with pytest.raises(ConfigError, match=r"process\.nope"):
        factory(["process.nope"])


def test_public_api_is_declared() -> None:
    for name in process_module.__all__:
        assert hasattr(process_module, name), name


@pytest.mark.parametrize("code", REASON_CODES)
def test_every_code_is_documented(code: str) -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if f"`{code}`" in line]
    assert rows and rows[0].startswith("|"), f"{code} missing from the table in {DOC.name}"
