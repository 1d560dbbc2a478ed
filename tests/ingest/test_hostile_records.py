"""One bad value or file costs its record or file, never the run (issue 13, item 3):
non-finite and out-of-range timestamps, ports and counts, special files and symlink
loops under an input folder, config values of the wrong type."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from beaconhunt.config import HuntSettings, build
from beaconhunt.detect.settings import DnsSettings
from beaconhunt.errors import ConfigError
from beaconhunt.pipeline import hunt

BASIC = Path(__file__).resolve().parents[1] / "fixtures" / "zeek" / "basic" / "conn.log"


def _with_bad_rows(path: Path, edits: list[tuple[int, str]]) -> Path:
    """The basic conn.log with field ``col`` of the first data rows set to ``value``."""
    lines = BASIC.read_text(encoding="utf-8").splitlines()
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    data = [i for i, ln in enumerate(lines) if not ln.startswith("#")]
    for (col, value), i in zip(edits, data, strict=False):
        row = lines[i].split("\t")
        row[fields.index(col) if isinstance(col, str) else col] = value
        lines[i] = "\t".join(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_impossible_values_cost_their_rows_only(tmp_path: Path) -> None:
    good = hunt([BASIC])
    bad = _with_bad_rows(tmp_path / "conn.log", [
        ("ts", "nan"), ("ts", "inf"), ("ts", "-inf"), ("ts", "1e300"), ("ts", "-5"),
        ("id.resp_p", "65536"), ("id.orig_p", "-1"), ("orig_bytes", "-7"),
    ])  # type: ignore[list-item]  # fmt: skip
    res = hunt([bad])
    assert res.connections == good.connections - 8
    # each said with its file and line: the first five, then the count of the rest
    listed = [p for p in res.load.problems if p.file == str(bad) and p.line is not None]
    data_lines = [n for n, ln in enumerate(bad.read_text().splitlines(), 1) if ln[:1] != "#"]
    assert [p.line for p in listed] == data_lines[:5]
    shown = ["nan", "inf", "-inf", "1e+300", "-5"]
    assert [p.message.split(" is ")[0] for p in listed] == [f"timestamp {v}" for v in shown]
    assert sum(p.skipped for p in res.load.problems if p.file == str(bad)) == 8
    assert not [p for p in res.load.problems if p.file == "conn records"]
    assert res.load.rows["conn"] == good.load.rows["conn"] - 8
    assert res.findings  # the rest is hunted


def test_impossible_values_in_zeek_json_and_network_logs_name_their_line(tmp_path: Path) -> None:
    import json

    lines = (BASIC.parents[1] / "json" / "conn.log").read_text().splitlines()
    recs = [json.loads(ln) for ln in lines]
    recs[1]["id.resp_p"], recs[3]["orig_bytes"], recs[4]["duration"] = 70000, -3, -1.5
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "conn.log").write_text(
        "\n".join([lines[0].replace(str(recs[0]["ts"]), "NaN", 1)]
                  + [json.dumps(r) for r in recs[1:]]) + "\n")  # fmt: skip
    res = hunt([tmp_path / "z"])
    said = {p.line: p.message for p in res.load.problems if p.file.endswith("conn.log")}
    assert sorted(said) == [1, 2, 4, 5]
    assert "timestamp nan" in said[1] and "destination port 70000" in said[2]
    assert "count -3 is negative" in said[4] and "duration -1.5" in said[5]
    # a network reader: the sink checks what the reader made, the line comes with it
    eve = Path(__file__).resolve().parents[1] / "fixtures" / "suricata" / "eve.json"
    events = eve.read_text().splitlines()
    n, first = next((i, json.loads(e)) for i, e in enumerate(events)
                    if '"event_type":"flow"' in e)  # fmt: skip
    first["flow"]["start"] = "2150-01-01T00:00:00.000000+0000"  # no reader checks this itself
    events[n] = json.dumps(first)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "eve.json").write_text("\n".join(events) + "\n")
    res = hunt([tmp_path / "s"])
    said = {p.line: p.message for p in res.load.problems if p.file.endswith("eve.json")}
    assert "is not a time" in said[n + 1], said


def test_special_files_and_loops_under_a_folder_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_bytes(BASIC.read_bytes())
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop.log").symlink_to("loop.log")
    (tmp_path / "gone.log").symlink_to(tmp_path / "nowhere")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")  # a folder loop: not followed
    res = hunt([tmp_path])
    said = {Path(p.file).name: p.message for p in res.load.problems}
    assert "FIFO" in said["pipe"]
    assert "symbolic links" in said["loop.log"]
    assert "No such file" in said["gone.log"]
    assert res.connections == hunt([BASIC]).connections


@pytest.mark.parametrize(
    ("cls", "values", "message"),
    [
        (HuntSettings, {"min_score": "high"}, "min_score must be a number, not 'high'"),
        (HuntSettings, {"min_connections": 6.5}, "min_connections must be an integer"),
        (HuntSettings, {"internal": "10.0.0.0/8"}, "internal must be a list"),
        (HuntSettings, {"min_score": True}, "min_score must be a number"),
        (DnsSettings, {"min_unique": "many"}, "min_unique must be an integer"),
    ],
)
def test_config_values_of_the_wrong_type_are_config_errors(
    cls: type, values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^cfg.toml \\[x\\]: {message}"):
        build(cls, values, "cfg.toml [x]")


def test_a_sysmon_event_dated_2150_names_its_line(tmp_path: Path) -> None:
    sysmon = Path(__file__).resolve().parents[1] / "fixtures" / "sysmon_basic" / "sysmon.jsonl"
    lines = sysmon.read_text().splitlines()
    lines[2] = lines[2].replace('"UtcTime": "2026-', '"UtcTime": "2150-', 1)
    lines[2] = lines[2].replace('"SystemTime": "2026-', '"SystemTime": "2150-', 1)
    (tmp_path / "sysmon.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "conn.log").write_bytes(BASIC.read_bytes())
    res = hunt([tmp_path])
    said = [(p.line, p.message) for p in res.load.problems if p.file.endswith("sysmon.jsonl")]
    assert len(said) == 1 and said[0][0] == 3 and "is not a time" in said[0][1]
    assert not [p for p in res.load.problems if p.file.endswith(" records")]
