"""Write the hostile corpus into real Zeek and Sysmon logs, in the fixtures' exact layouts.

Every corpus entry becomes three beacons (one *route* each), so every string reaches the
outputs through each way a destination gets its name:

* ``tsv``: Zeek TSV ``conn.log`` + ``ssl.log``; the entry is the TLS SNI
  (``server_name``), written with Zeek's ``\\xNN`` escaping (:func:`zeek_escape`). Sysmon as
  evtx_dump JSON lines (``tests/fixtures/sysmon_basic`` layout).
* ``json``: Zeek JSON ``conn.log`` + ``http.log``; the entry is the HTTP ``Host``, the
  URI, the Referer, the User-Agent and part of every Zeek ``uid``, raw in JSON. Sysmon
  as Winlogbeat NDJSON (``tests/fixtures/sysmon/winlogbeat.ndjson`` layout).
* ``dns``: Zeek TSV ``conn.log`` + JSON ``dns.log``; the entry is the DNS query and a
  CNAME in the answers. Sysmon as evtx_dump JSON lines.

On every route the beaconing process (Sysmon event 1, tied to each connection by event
3) has the entry as its ``Image``, ``CommandLine``, ``ParentImage``,
``ParentCommandLine`` and ``User`` (Winlogbeat: ``user.name``, with domain ``CORP``), and
its host (``Computer``) is the entry too. A 60-second beacon of :data:`CONNECTIONS`
check-ins, with a threat-intel CIDR on the destinations, is escalated, so each one gets
a case file.

Beside them: malformed lines whose text the warnings quote (a Zeek TSV line with raw
control characters in ``ts``, a Squid line with hostile text for its time), a
folder named with hostile characters holding everything, and separate folders
of files named with hostile characters (:func:`write_named_files`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from beaconhunt.ingest.sysmon_values import MAX_TEXT
from tests.conftest import ZEEK
from tests.hostile.strings import CORPUS, Hostile

__all__ = [
    "CONNECTIONS",
    "INTEL_TEXT",
    "NAMES_PER_FOLDER",
    "ROUTES",
    "Beacon",
    "Capture",
    "beacons",
    "file_name",
    "utf8_ok",
    "write_capture",
    "write_named_files",
    "zeek_escape",
]

T0 = 1_793_520_000.0  # 2026-11-01T08:00:00Z, the fixtures' day
INTERVAL = 60.0
#: Check-ins per beacon: enough for a regular beacon (count confidence is full at 20).
CONNECTIONS = 30
ROUTES = ("tsv", "json", "dns")
#: Destination /24 of each route; a threat-intel CIDR covers each, so the beacons escalate.
_NETS = {"tsv": "203.0.113", "json": "198.51.100", "dns": "192.0.2"}
#: The threat-intel description: a feed's text is not ours either.
INTEL_TEXT = "[bold red]intel[/] <script>alert(1)</script> \x1b[31m\u202e :skull: =1+1"
#: Hostile text on malformed lines, quoted by the warnings.
BAD_TS = "\x1b]8;;https://a.example\x07[bold red]x[/]\x1b[2J\u202e\x9b\x07:skull:"
BAD_SQUID_TIME = "[link=https://attacker.example]evil[/link]\x1b]0;pwned\x07\u2066"
#: The folder holding the capture, and the case folder: paths are in every warning.
HOSTILE_DIR = "logs-[bold]\x1b[31m\u202e:skull:"
HOSTILE_CASES = "cases-[red]x\x1b]0;pwned\x07\u202e\u2028"


@dataclass(frozen=True)
class Beacon:
    """One beacon of the capture: a corpus entry sent through one route."""

    entry: Hostile
    route: str
    src_ip: str
    dst_ip: str

    @property
    def domain(self) -> str:
        """The destination name the hunt should report: lower case; an HTTP ``Host`` without
        its port and IPv6 brackets (``normalize.destination``), ``""`` when the pattern
        does not match; the TSV text with Zeek's escapes."""
        v = self.entry.value
        if self.route == "tsv":
            return zeek_escape(v).lower()
        if self.route == "json":
            m = _HOST.fullmatch(v)
            return m.group(1).lower() if m else ""
        return v.lower()

    @property
    def kept(self) -> str:
        """The entry as the Sysmon tables keep it (image, command lines, host)."""
        return sysmon_kept(self.entry.value)

    @property
    def user(self) -> str:
        """The user name as kept: Winlogbeat writes domain and name apart."""
        v = self.entry.value
        return sysmon_kept("CORP\\" + v if self.route == "json" else v)


#: The HTTP ``Host`` pattern of ``normalize.destination`` (RE2 ``^...$`` is a full match).
_HOST = re.compile(r"\[?([^\]]*?)\]?(:[0-9]+)?")


def sysmon_kept(value: str) -> str:
    """``value`` as ``ingest.sysmon_values`` documents it is kept: lone surrogates become
    U+FFFD, text longer than ``MAX_TEXT`` is cut and marked."""
    if not utf8_ok(value):
        value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…[truncated]"


@dataclass
class Capture:
    """What :func:`write_capture` wrote."""

    root: Path
    logs: Path
    intel: Path
    cases: Path
    beacons: list[Beacon] = field(default_factory=list)


#: Unicode categories kept as they are (letters, marks, numbers, punctuation, symbols; and
#: Zs, spaces); the others (controls, format, separators, surrogates) are escaped.
_ZEEK_KEEP = frozenset("LMNPS")


def zeek_escape(value: str) -> str:
    """``value`` escaped the way Zeek's ASCII writer escapes a TSV field: no raw tab,
    newline or other control character can be in one.

    Bytes that are not printable (C0, DEL, C1, invisible and bidi characters, text
    that is not valid UTF-8 such as a lone surrogate) and the separators (tab, the
    ``,`` of sets) become ``\\xNN``; so does a backslash here, so the escapes stay
    unambiguous. Printable UTF-8 is kept.
    """
    out: list[str] = []
    for ch in value:
        code = ord(ch)
        if ch in "\\,\t" or code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x80 or (cat := unicodedata.category(ch))[0] in _ZEEK_KEEP or cat == "Zs":
            out.append(ch)
        else:
            raw = ch.encode("utf-8", "surrogatepass")
            out.append("".join(f"\\x{b:02x}" for b in raw))
    return "".join(out)


# -- Zeek ---------------------------------------------------------------------------------


def _tsv_head(log: str) -> str:
    """The ``#`` header of a Zeek TSV log, as the fixture of that log has it."""
    lines = (ZEEK / "basic" / f"{log}.log").read_text().splitlines()
    end = next(i for i, ln in enumerate(lines) if ln.startswith("#types"))
    return "\n".join(lines[: end + 1])


def _conn_tsv(uid: str, ts: float, b: Beacon, port: int, service: str) -> str:
    return "\t".join([
        f"{ts:.6f}", uid, b.src_ip, str(port), b.dst_ip, "443", "tcp", service, "0.210000",
        "310", "1200", "SF", "T", "F", "0", "ShADadFf", "6", "630", "5", "1460", "(empty)",
    ])  # fmt: skip


def _conn_json(uid: str, ts: float, b: Beacon, port: int) -> str:
    return json.dumps({
        "_path": "conn", "_write_ts": "2026-11-01T09:00:00.000000Z", "ts": ts, "uid": uid,
        "id.orig_h": b.src_ip, "id.orig_p": port, "id.resp_h": b.dst_ip, "id.resp_p": 80,
        "proto": "tcp", "service": "http", "duration": 0.2, "orig_bytes": 300,
        "resp_bytes": 900, "conn_state": "SF", "local_orig": True, "local_resp": False,
        "missed_bytes": 0, "history": "ShADadFf", "orig_pkts": 5, "orig_ip_bytes": 500,
        "resp_pkts": 5, "resp_ip_bytes": 1100,
    })  # fmt: skip


def _http_json(uid: str, ts: float, b: Beacon, port: int) -> str:
    v = b.entry.value
    return json.dumps({
        "_path": "http", "ts": ts, "uid": uid, "id.orig_h": b.src_ip, "id.orig_p": port,
        "id.resp_h": b.dst_ip, "id.resp_p": 80, "trans_depth": 1, "method": "POST",
        "host": v, "uri": v, "referrer": v, "version": "1.1", "user_agent": v,
        "request_body_len": 120, "response_body_len": 64, "status_code": 200,
        "status_msg": "OK", "tags": [],
    })  # fmt: skip


def _dns_json(ts: float, b: Beacon, port: int) -> str:
    return json.dumps({
        "_path": "dns", "ts": ts, "uid": f"D{port}", "id.orig_h": b.src_ip, "id.orig_p": port,
        "id.resp_h": "10.9.0.53", "id.resp_p": 53, "proto": "udp", "trans_id": 4242,
        "rtt": 0.02, "query": b.entry.value, "qclass": 1, "qclass_name": "C_INTERNET",
        "qtype": 1, "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR", "AA": False,
        "TC": False, "RD": True, "RA": True, "Z": 0, "answers": [b.entry.value, b.dst_ip],
        "TTLs": [300.0, 300.0], "rejected": False,
    })  # fmt: skip


def _ssl_tsv(uid: str, ts: float, b: Beacon, port: int) -> str:
    return "\t".join([
        f"{ts:.6f}", uid, b.src_ip, str(port), b.dst_ip, "443", "TLSv12",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "x25519", zeek_escape(b.entry.value), "F", "-",
        "-", "T", "CsxknGIti", "(empty)", "(empty)", "-",
    ])  # fmt: skip


# -- Sysmon -------------------------------------------------------------------------------

_GUID = "{5770385F-C22A-43E0-BF4C-0%s}"


def _utc(ts: float) -> tuple[str, str]:
    """(SystemTime, UtcTime) of an epoch time, as Sysmon writes them."""
    from datetime import UTC, datetime

    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), dt.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _evtx(eid: int, rid: int, ts: float, computer: str, data: dict[str, object]) -> str:
    system_time, utc = _utc(ts)
    return json.dumps({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon",
                                         "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},
            "EventID": eid, "Version": 5, "Level": 4, "Task": eid, "Opcode": 0,
            "Keywords": "0x8000000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": system_time}},
            "EventRecordID": rid, "Correlation": None,
            "Execution": {"#attributes": {"ProcessID": 3020, "ThreadID": 4044}},
            "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": computer,
            "Security": {"#attributes": {"UserID": "S-1-5-18"}},
        },
        "EventData": {"RuleName": "-", "UtcTime": utc, **data},
    }})  # fmt: skip


def _evtx_process(b: Beacon, guid: str, rid: int) -> list[str]:
    """Sysmon event 1 and one event 3 per connection of ``b`` (evtx_dump layout)."""
    v = b.entry.value
    start = _evtx(1, rid, T0 - 120, v, {
        "ProcessGuid": guid, "ProcessId": 4242, "Image": v, "FileVersion": "1.0",
        "Description": "Updater", "Product": "Updater", "Company": "-",
        "OriginalFileName": "updater.exe", "CommandLine": v,
        "CurrentDirectory": "C:\\Users\\bob\\", "User": v,
        "LogonGuid": "{5770385F-0000-0000-0000-000000000001}", "LogonId": "0x3e7",
        "TerminalSessionId": 1, "IntegrityLevel": "Medium",
        "Hashes": "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C",
        "ParentProcessGuid": _GUID % "6F5698FF000", "ParentProcessId": 5120,
        "ParentImage": v, "ParentCommandLine": v, "ParentUser": "CORP\\bob",
    })  # fmt: skip
    out = [start]
    for n in range(CONNECTIONS):
        ts = T0 + INTERVAL * n + 0.5
        out.append(_evtx(3, rid + 1 + n, ts, v, {
            "ProcessGuid": guid, "ProcessId": 4242, "Image": v, "User": v, "Protocol": "tcp",
            "Initiated": True, "SourceIsIpv6": False, "SourceIp": b.src_ip,
            "SourceHostname": "-", "SourcePort": 50000 + n, "SourcePortName": "-",
            "DestinationIsIpv6": False, "DestinationIp": b.dst_ip, "DestinationHostname": "-",
            "DestinationPort": 443, "DestinationPortName": "https",
        }))  # fmt: skip
    return out


def _beat(eid: int, rid: int, ts: float, computer: str, body: dict[str, object]) -> str:
    stamp = _utc(ts)[0][:23] + "Z"
    return json.dumps({
        "@timestamp": stamp,
        "agent": {"ephemeral_id": "5d4f0b7e-3c1d-4c7a-9a1e-6a0e2d8c7b11",
                  "id": "0f3b4c1e-8d2a-4b6f-9e7c-1a2b3c4d5e6f", "name": "wkstn",
                  "type": "winlogbeat", "version": "8.12.2"},
        "ecs": {"version": "8.0.0"},
        "host": {"name": "wkstn", "hostname": "wkstn", "os": {"family": "windows"}},
        "log": {"level": "information"},
        "winlog": {
            "api": "wineventlog", "channel": "Microsoft-Windows-Sysmon/Operational",
            "computer_name": computer, "event_id": str(eid),
            "process": {"pid": 3016, "thread": {"id": 3880}},
            "provider_guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
            "provider_name": "Microsoft-Windows-Sysmon", "record_id": str(rid),
            "user": {"domain": "NT AUTHORITY", "identifier": "S-1-5-18", "name": "SYSTEM",
                     "type": "Well Known Group"},
            "version": 5,
        },
        **body,
    })  # fmt: skip


def _beat_process(b: Beacon, guid: str, rid: int) -> list[str]:
    """Sysmon event 1 and one event 3 per connection of ``b`` (Winlogbeat layout)."""
    v = b.entry.value
    g = guid.lower()
    start = _beat(1, rid, T0 - 120, v, {
        "event": {"category": ["process"], "code": "1", "kind": "event", "module": "sysmon",
                  "provider": "Microsoft-Windows-Sysmon", "type": ["start"]},
        "message": "Process Create:\nRuleName: -\n...",
        "process": {
            "entity_id": g, "executable": v, "name": "updater.exe", "pid": 4312,
            "args": ["updater.exe"], "command_line": v, "working_directory": "C:\\",
            "parent": {"args": ["explorer.exe"], "command_line": v, "executable": v,
                       "name": "explorer.exe", "pid": 2188,
                       "entity_id": "{8c1a2b3d-1b2c-6071-0000-0010a1b2c300}"},
            "pe": {"company": "-", "description": "Updater",
                   "original_file_name": "updater.exe", "product": "Updater"},
        },
        "user": {"domain": "CORP", "id": "S-1-5-18", "name": v},
    })  # fmt: skip
    out = [start]
    for n in range(CONNECTIONS):
        ts = T0 + INTERVAL * n + 0.5
        out.append(_beat(3, rid + 1 + n, ts, v, {
            "destination": {"domain": "-", "ip": b.dst_ip, "port": 80},
            "event": {"category": ["network"], "code": "3", "kind": "event",
                      "module": "sysmon", "provider": "Microsoft-Windows-Sysmon",
                      "type": ["connection", "start"]},
            "network": {"direction": "egress", "protocol": "http", "transport": "tcp",
                        "type": "ipv4"},
            "process": {"entity_id": g, "executable": v, "name": "updater.exe", "pid": 4312},
            "source": {"domain": "wkstn", "ip": b.src_ip, "port": 51000 + n},
            "user": {"domain": "CORP", "name": v},
        }))  # fmt: skip
    return out


# -- the capture --------------------------------------------------------------------------


def utf8_ok(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8 (a lone surrogate cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def beacons() -> list[Beacon]:
    """Every beacon of the capture: each corpus entry on each route it can take."""
    out = []
    for r, route in enumerate(ROUTES):
        for i, entry in enumerate(CORPUS):
            if route != "tsv" and not utf8_ok(entry.value):
                continue  # in Zeek JSON it stops the run: test_a_lone_surrogate_in_zeek_json_...
            out.append(Beacon(entry, route, f"10.66.{r}.{i + 10}", f"{_NETS[route]}.{i + 10}"))
    return out


def write_capture(root: Path) -> Capture:
    """Write the hostile capture under ``root``; what was written."""
    logs = root / HOSTILE_DIR
    for sub in ("zeek-tsv", "zeek-json", "zeek-dns", "sysmon", "proxy"):
        (logs / sub).mkdir(parents=True)
    cap = Capture(root, logs, root / "intel.csv", root / HOSTILE_CASES, beacons())

    conn_tsv = [_tsv_head("conn")]
    ssl_tsv = [_tsv_head("ssl")]
    dns_conn = [_tsv_head("conn")]
    conn_json: list[str] = []
    http_json: list[str] = []
    dns_json: list[str] = []
    evtx: list[str] = []
    beat: list[str] = []
    for k, b in enumerate(cap.beacons):
        guid = _GUID % f"{k:011X}"
        rid = 10_000 + k * (CONNECTIONS + 1)
        for n in range(CONNECTIONS):
            ts = T0 + INTERVAL * n
            if b.route == "tsv":
                uid = f"CT{k:03d}n{n:03d}"
                conn_tsv.append(_conn_tsv(uid, ts, b, 50000 + n, "ssl"))
                ssl_tsv.append(_ssl_tsv(uid, ts + 0.05, b, 50000 + n))
            elif b.route == "json":
                uid = f"CJ{k:03d}n{n:03d}{b.entry.value}"  # the uid is the sensor's text too
                conn_json.append(_conn_json(uid, ts, b, 51000 + n))
                http_json.append(_http_json(uid, ts + 0.05, b, 51000 + n))
            else:
                dns_json.append(_dns_json(ts - 0.5, b, 40000 + n))
                dns_conn.append(_conn_tsv(f"CD{k:03d}n{n:03d}", ts, b, 50000 + n, "ssl"))
        (beat if b.route == "json" else evtx).extend(
            (_beat_process if b.route == "json" else _evtx_process)(b, guid, rid)
        )
    # a malformed conn line: raw control characters in ``ts``, quoted by the warning
    conn_tsv.insert(9, "\t".join([BAD_TS, *_conn_tsv("CBad", T0, cap.beacons[0], 1, "-")
                                  .split("\t")[1:]]))  # fmt: skip
    _write(logs / "zeek-tsv" / "conn.log", conn_tsv)
    _write(logs / "zeek-tsv" / "ssl.log", ssl_tsv)
    _write(logs / "zeek-json" / "conn.log", conn_json)
    _write(logs / "zeek-json" / "http.log", http_json)
    _write(logs / "zeek-dns" / "conn.log", dns_conn)
    _write(logs / "zeek-dns" / "dns.log", dns_json)
    _write(logs / "sysmon" / "sysmon.jsonl", evtx)
    _write(logs / "sysmon" / "winlogbeat.ndjson", beat)
    _write(logs / "proxy" / "access.log", [  # Squid's native layout; the second line is bad
        "1793692800.412    412 10.1.1.5 TCP_TUNNEL/200 4823 CONNECT c2.example:443 -"
        " HIER_DIRECT/203.0.113.9 -",
        f"{BAD_SQUID_TIME}    118 10.1.1.7 TCP_MISS/200 5120 GET http://www.example.com/ -"
        " HIER_DIRECT/93.184.215.14 text/html",
    ])  # fmt: skip
    intel = ["indicator,type,description"]
    intel += [f'{net}.0/24,cidr,"{INTEL_TEXT}"' for net in _NETS.values()]
    _write(cap.intel, intel)
    return cap


def _write(path: Path, lines: list[str]) -> None:
    with path.open("w", encoding="utf-8", errors="surrogatepass", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


#: Files per folder of :func:`write_named_files`: ``hunt`` shows the first 20 problems.
NAMES_PER_FOLDER = 12


def file_name(i: int, h: Hostile) -> str | None:
    """The file name that carries entry ``h``: ``/`` and NUL cannot be in a name, so they
    become ``_``; cut to fit the 255-byte limit. None for a lone surrogate: a name that is
    not UTF-8 stops the hunt (``test_a_file_name_that_is_not_utf8_is_read``)."""
    value = h.value.replace("/", "_").replace("\x00", "_")[:60]
    return f"{i:02d}-{value}.log" if utf8_ok(value) else None


def write_named_files(root: Path) -> list[Path]:
    """Folders of files named after the corpus entries, each a Zeek conn.log with one good
    and one malformed line, so each gets a warning naming it; the folders."""
    head = _tsv_head("conn")
    good = _conn_tsv("C1", T0, beacons()[0], 1, "-")
    bad = "\t".join(["not-a-time", *good.split("\t")[1:]])
    folders: list[Path] = []
    for i, h in enumerate(CORPUS):
        name = file_name(i, h)
        if name is None:
            continue
        k = i // NAMES_PER_FOLDER
        while k >= len(folders):
            folders.append(root / f"named-{len(folders)}")
            folders[-1].mkdir()
        (folders[k] / name).write_text(f"{head}\n{good}\n{bad}\n", "utf-8")
    return folders
