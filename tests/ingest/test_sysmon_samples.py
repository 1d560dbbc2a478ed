"""Real EVTX files from ../shared/samples/evtx-sysmon-samples (skipped when absent).

Counts are the ones its MANIFEST.txt gives (measured there with python-evtx).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.sniff import sniff
from beaconhunt.store.duckdb import DuckDBStore

_JOIN = "FROM net_conn n JOIN proc_create p USING (host, process_guid)"
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


def _load(path: Path) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    return store, load_paths([path], store)


@pytest.fixture
def evtx_dir(samples: Path) -> Path:
    return samples / "evtx-sysmon-samples"


def test_panache_counts_and_joins(evtx_dir: Path) -> None:
    store, report = _load(evtx_dir / "PanacheSysmon_vs_AtomicRedTeam01.evtx")
    # MANIFEST: 565 events, EID1 511, EID3 4, all 4 joined
    assert (report.rows["sysmon_proc_create"], report.rows["sysmon_net_conn"]) == (511, 4)
    total = sum(n for k, n in report.rows.items() if k.startswith("sysmon_"))
    assert total + sum(report.skipped_records.values()) == 565
    joined = store.con.execute(f"SELECT p.image, n.dst_ip, n.dst_port {_JOIN}").fetchall()
    assert sorted(joined) == [
        (PS, "151.101.0.133", 443),
        (PS, "151.101.0.133", 443),
        (PS, "172.217.17.132", 80),
        ("C:\\Windows\\System32\\regsvr32.exe", "151.101.0.133", 443),
    ]
    assert report.problems == []


def test_exec_wmic_connection_joined_to_its_process(evtx_dir: Path) -> None:
    store, _ = _load(evtx_dir / "exec_wmic_xsl_internet_sysmon_3_1_11.evtx")
    rows = store.con.execute(
        f"SELECT n.ts, n.host, n.process_guid, n.pid, n.user, n.proto, n.initiated, n.src_ip,"
        f" n.dst_ip, n.dst_port, n.dst_hostname, p.command_line, p.parent_image {_JOIN}"
        " WHERE n.dst_ip = '45.76.12.27'"
    ).fetchall()
    [(ts, host, guid, pid, user, proto, initiated, src, dst, port, name, cmd, parent)] = rows
    # UtcTime 2019-05-23 16:49:07.834: 1558569600 (that midnight) + 60547.834
    assert ts == pytest.approx(1558630147.834)
    assert (host, guid, pid, user) == ("IEWIN7", "{365ABB72-CF01-5CE6-0000-00105DA50C00}", 3872,
                                       "IEWIN7\\IEUser")  # fmt: skip
    assert (proto, initiated, src, dst, port) == ("tcp", True, "10.0.2.15", "45.76.12.27", 443)
    assert name == "45-76-12-27.static.afterburst.com"
    assert cmd.startswith("wmic ") and "/format:" in cmd
    assert parent == "C:\\Windows\\System32\\cmd.exe"


@pytest.mark.parametrize(
    ("name", "net_conn", "joined"),
    [  # MANIFEST: EID3 and how many have their EID1 in the same file
        ("DE_sysmon-3-rdp-tun.evtx", 42, 3),
        ("PanacheSysmon_vs_AtomicRedTeam01.evtx", 4, 4),
        ("exec_wmic_xsl_internet_sysmon_3_1_11.evtx", 2, 2),
        ("exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx", 3, 3),
        ("LM_sysmon_psexec_smb_meterpreter.evtx", 2, 1),
        ("Sysmon_meterpreter_ReflectivePEInjection_to_notepad_.evtx", 1, 1),
    ],
)
def test_manifest_event3_counts(evtx_dir: Path, name: str, net_conn: int, joined: int) -> None:
    assert sniff(evtx_dir / name).kind == "evtx"
    store, report = _load(evtx_dir / name)
    assert report.rows["sysmon_net_conn"] == net_conn
    assert store.con.execute(f"SELECT count(*) {_JOIN}").fetchall()[0][0] == joined
    assert report.problems == []


def test_de_rdp_tunnel_event_counts(evtx_dir: Path) -> None:
    _, report = _load(evtx_dir / "DE_sysmon-3-rdp-tun.evtx")
    # MANIFEST: 73 events, EID1 13, EID3 42
    assert report.rows["sysmon_proc_create"] == 13
    total = sum(n for k, n in report.rows.items() if k.startswith("sysmon_"))
    assert total + sum(report.skipped_records.values()) == 73


def test_whole_folder_loads_and_skips_the_text_files(evtx_dir: Path) -> None:
    _, report = _load(evtx_dir)
    assert report.rows["sysmon_net_conn"] == 42 + 4 + 2 + 3 + 2 + 1
    assert {p.name for p in report.not_logs} == {"LICENSE.GPL", "MANIFEST.txt"}
    assert report.problems == []
