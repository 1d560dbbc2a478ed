"""labels.csv: reading, merging the lines of one pair, errors with file:line, the old import."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab_helpers import finding

from beaconhunt.errors import ConfigError
from beaconhunt.lab import Label, load_labels, match, outcomes_by_kind

HEADER = "src_ip,src_host,dst,dst_ip,dst_port,kind,decision,process,sleep,jitter,loss,connections\n"


def _write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_reads_every_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "10.20.1.5,ws-005,C2.Example.com,192.0.2.45,443,cobalt_strike,escalate,"
        "C:\\Windows\\powershell.exe,60,0.4,0.02,880\n"
        "10.20.1.5,ws-005,www.google.com,198.18.1.1,443,browsing,close,,,,,12\n",
    )
    cs, web = load_labels(path)
    assert cs == Label("10.20.1.5", "c2.example.com", 443, "cobalt_strike", "escalate",
                       "C:\\Windows\\powershell.exe", "ws-005", "192.0.2.45", 60.0, 0.4, 0.02,
                       880, frozenset({"192.0.2.45"}))  # fmt: skip
    assert cs.implant and cs.key == ("10.20.1.5", "c2.example.com", 443)
    assert not web.implant and web.sleep is None and web.connections == 12


def test_lines_of_one_pair_are_merged(tmp_path: Path) -> None:
    # a name with two addresses is two lines; the pair is one label
    path = _write(
        tmp_path,
        "10.0.0.1,h,cdn.example,198.18.0.1,443,browsing,close,,,,,3\n"
        "10.0.0.1,h,cdn.example,198.18.0.2,443,browsing,close,,,,,4\n"
        "10.0.0.2,g,edge.example,198.18.0.9,443,browsing,close,,,,,1\n"
        "10.0.0.2,g,edge.example,198.18.0.9,443,mythic,escalate,x.exe,45,0.25,0,9\n",
    )
    web, mixed = load_labels(path)
    assert web.connections == 7 and web.dst_ip == "198.18.0.1"
    assert mixed.kind == "mythic" and mixed.connections == 10  # an implant line wins


def test_only_required_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "10.0.0.1,a.example,443,sliver,escalate\n",
                  "src_ip,dst,dst_port,kind,decision\n")  # fmt: skip
    [lab] = load_labels(path)
    assert (lab.process, lab.sleep, lab.connections) == ("", None, 0)


def test_header_only_is_no_label(tmp_path: Path) -> None:
    assert load_labels(_write(tmp_path, "")) == []


@pytest.mark.parametrize(
    ("header", "body", "message"),
    [
        ("src_ip,dst,kind,decision\n", "", r"labels.csv:1: labels.csv lacks column\(s\) dst_port"),
        ("", "", r"labels.csv:1: labels.csv lacks column\(s\) src_ip, dst, dst_port"),
        (HEADER, "10.0.0.1,h,a.example,1.2.3.4,https,sliver,escalate,,,,,1\n",
         r"labels.csv:2: dst_port must be a whole number \(got 'https'\)"),
        (HEADER, "10.0.0.1,h,a.example,1.2.3.4,443,sliver,escalate,,1m,,,1\n",
         r"labels.csv:2: sleep must be a number \(got '1m'\)"),
        (HEADER, "10.0.0.1,h,a.example,1.2.3.4,443,sliver,escalate,,60,-0.1,,1\n",
         r"labels.csv:2: jitter must be a finite number >= 0"),
        (HEADER, "10.0.0.1,h,a.example,1.2.3.4,443,sliver,escalate,,60,0.1,,\n"
                 "10.0.0.1,h,,1.2.3.4,443,sliver,escalate,,60,0.1,,\n",
         r"labels.csv:3: empty dst"),
        (HEADER, "10.0.0.1,h,a.example,1.2.3.4,443,sliver,escalate,,60,0.1,,many\n",
         r"labels.csv:2: connections must be a whole number"),
    ],
)  # fmt: skip
def test_errors_name_the_line(tmp_path: Path, header: str, body: str, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(header + body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_labels(path)


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read labels"):
        load_labels(tmp_path / "labels.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read labels"):
        load_labels(tmp_path / "bin.csv")


def test_match_and_outcomes_by_kind(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "10.0.0.1,h,c2.example,192.0.2.1,443,sliver,escalate,,,,,9\n"
        "10.0.0.1,h,203.0.113.7,203.0.113.7,8080,meterpreter,escalate,,,,,9\n"
        "10.0.0.2,h,www.example,198.18.0.1,443,browsing,close,,,,,9\n",
    )
    labels = load_labels(path)
    found = [finding("10.0.0.1", "C2.EXAMPLE"), finding("10.0.0.2", "www.example", score=0.1)]
    outcomes = match(found, labels)
    assert [o.decided for o in outcomes] == ["escalate", "not reported", "escalate"]
    assert outcomes_by_kind(outcomes) == {"sliver": {"escalate": 1},
                                          "meterpreter": {"not reported": 1},
                                          "browsing": {"escalate": 1}}  # fmt: skip
