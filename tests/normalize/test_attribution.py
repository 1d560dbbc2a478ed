"""Joining network connections to the Sysmon events that describe them."""

from __future__ import annotations

from beaconhunt.config import HuntSettings
from beaconhunt.pipeline import hunt
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import ZEEK

T0 = 1793520000.0  # the basic fixture's start
PS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
CHROME = r"C:\Program Files\Google\Chrome\Application\chrome.exe"


def _net(i: int, image: str, guid: str, skew: float, src_port: int | None) -> dict[str, object]:
    # the basic fixture's beacon: 10.1.1.5:50000+i -> 198.51.100.23:443 at T0 + 60 i (+0.4 k)
    return {
        "ts": T0 + i * 60 + (i % 3) * 0.4 + skew, "host": "WS-005.corp.example",
        "process_guid": guid, "pid": 4242 if image == PS else 777, "image": image,
        "user": "CORP\\alice", "proto": "tcp", "initiated": True, "src_ip": "10.1.1.5",
        "src_port": src_port, "src_hostname": None, "dst_ip": "198.51.100.23",
        "dst_port": 443, "dst_hostname": None,
    }  # fmt: skip


def _columns(rows: list[dict[str, object]]) -> dict[str, list[object]]:
    return {k: [r[k] for r in rows] for k in rows[0]}


def _store_with_sysmon(rows: list[dict[str, object]]) -> DuckDBStore:
    store = DuckDBStore()
    store.append_endpoint("net_conn", _columns(rows))
    store.append_endpoint("proc_create", {
        "ts": [T0 - 100], "host": ["WS-005.corp.example"], "process_guid": ["{PS-GUID}"],
        "pid": [4242], "image": [PS], "command_line": [f"{PS} -nop -w hidden -enc SQBFAFgA"],
        "user": ["CORP\\alice"], "parent_image": [r"C:\Program Files\Microsoft Office\WINWORD.EXE"],
    })  # fmt: skip
    return store


def _beacon(store: DuckDBStore, **kw: object) -> object:
    result = hunt([ZEEK / "basic"], HuntSettings(min_score=0.0, **kw), store=store)  # type: ignore[arg-type]
    return next(f for f in result.findings if f.dst_domain == "c2.badsite.example")


def test_beacon_named_with_its_process_despite_clock_skew() -> None:
    # 3 s of skew between sensor and endpoint; source ports match
    rows = [_net(i, PS, "{PS-GUID}", 3.0, 50000 + i) for i in range(30)]
    f = _beacon(_store_with_sysmon(rows))
    assert f.process_image == PS  # type: ignore[attr-defined]
    top = f.process  # type: ignore[attr-defined]
    assert (top.pid, top.user, top.host) == (4242, "CORP\\alice", "WS-005.corp.example")
    assert top.command_line.endswith("-enc SQBFAFgA")
    assert top.parent_image.endswith("WINWORD.EXE")
    assert top.connections == 30 and top.share == 1.0
    codes = {r.code for r in f.reasons}  # type: ignore[attr-defined]
    # the process's own evidence comes with it: encoded, hidden PowerShell started by Word
    assert {"process.attributed", "process.powershell_encoded", "process.powershell_hidden",
            "process.office_child"} <= codes  # fmt: skip


def test_several_processes_are_each_given_their_share() -> None:
    rows = [_net(i, PS if i < 24 else CHROME, "{PS-GUID}" if i < 24 else "{CH-GUID}", -2.0,
                 50000 + i) for i in range(30)]  # fmt: skip
    f = _beacon(_store_with_sysmon(rows))
    shares = [(p.image, p.connections) for p in f.processes]  # type: ignore[attr-defined]
    assert shares == [(PS, 24), (CHROME, 6)]
    multiple = next(r for r in f.reasons if r.code == "process.multiple")  # type: ignore[attr-defined]
    assert "80%" in multiple.text and "20%" in multiple.text


def test_no_match_outside_the_tolerance_or_on_other_ports() -> None:
    far = [_net(i, PS, "{PS-GUID}", 30.0, 50000 + i) for i in range(30)]
    assert _beacon(_store_with_sysmon(far)).processes == ()  # type: ignore[attr-defined]
    wrong_port = [_net(i, PS, "{PS-GUID}", 0.0, 60000 + i) for i in range(30)]
    assert _beacon(_store_with_sysmon(wrong_port)).processes == ()  # type: ignore[attr-defined]
    # a wider tolerance accepts the skewed events
    f = _beacon(_store_with_sysmon(far), attribution_tolerance=45.0)
    assert f.process_image == PS  # type: ignore[attr-defined]


def test_missing_source_port_still_matches_on_time() -> None:
    rows = [_net(i, PS, "{PS-GUID}", 1.0, None) for i in range(30)]
    assert _beacon(_store_with_sysmon(rows)).process_image == PS  # type: ignore[attr-defined]


def test_endpoint_only_host_is_hunted_from_sysmon_events() -> None:
    # a host no Zeek log saw: its event 3 records become the connections
    rows = [dict(_net(i, PS, "{PS-GUID}", 0.0, 50000 + i), src_ip="10.9.9.9") for i in range(30)]
    store = _store_with_sysmon(rows)
    store.append_endpoint("dns_query", {
        "ts": [T0 - 5], "host": ["WS-005.corp.example"], "process_guid": ["{PS-GUID}"],
        "image": [PS], "query_name": ["c2.endpoint-only.example"],
        "query_results": ["type:  5 edge.cdn.example;::ffff:198.51.100.23;"],
    })  # fmt: skip
    result = hunt([ZEEK / "basic"], HuntSettings(min_score=0.0), store=store)
    f = next(f for f in result.findings if f.src_ip == "10.9.9.9")
    assert f.dst_domain == "c2.endpoint-only.example"
    assert f.process_image == PS and f.src_host == "WS-005.corp.example"
    assert f.connections == 30
    assert result.load.rows["conn_from_sysmon"] == 30
    # the host Zeek saw is not counted twice from its Sysmon events
    again = hunt([], HuntSettings(min_score=0.0), store=store)
    assert again.load.rows["conn_from_sysmon"] == 0
