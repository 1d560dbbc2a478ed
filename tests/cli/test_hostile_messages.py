"""Messages on the terminal are data: log text holding Rich markup cannot crash a hunt,
and a file name holding a hyperlink tag cannot put a live link on the terminal
(issue 13, "Log text is printed as Rich markup")."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from beaconhunt.cli import main
from beaconhunt.report.safe import Messages

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Squid's native access.log layout; an internal user chooses the CONNECT target
SQUID = (
    "1762156800.123    150 10.1.1.5 TCP_TUNNEL/200 3500 CONNECT evil.example:[/x] -"
    " HIER_DIRECT/203.0.113.9 -\n"
)


def _hunt(folder: Path) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["hunt", str(folder), "--format", "ndjson"],
                             env={"FORCE_COLOR": "1", "COLUMNS": "200"})  # fmt: skip
    return res.exit_code, res.stderr


def test_markup_in_a_log_line_is_shown_not_parsed(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_text(SQUID, encoding="utf-8")
    (tmp_path / "conn.log").write_bytes((FIXTURES / "zeek" / "basic" / "conn.log").read_bytes())
    code, err = _hunt(tmp_path)
    assert code == 0, err
    assert "[/x]" in err  # the hostile text, literally, in the warning


def test_a_file_name_cannot_become_a_hyperlink(tmp_path: Path) -> None:
    (tmp_path / "[link=https:attacker.example]notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "conn.log").write_bytes((FIXTURES / "zeek" / "basic" / "conn.log").read_bytes())
    code, err = _hunt(tmp_path)
    assert code == 0, err
    assert "\x1b]8" not in err  # no OSC 8 hyperlink
    assert "[link=https:attacker.example]notes.txt" in err


@pytest.mark.parametrize(
    "hostile",
    [
        "[bold red]x[/]",
        "[/x]",
        ":skull:",
        "\x1b[2J\x1b]8;;https://a.example\x07x",
        "a\u202eb",
        "[link=https://a.example]x[/link]",
    ],
)
def test_messages_escape_everything(hostile: str) -> None:
    out = io.StringIO()
    Messages(Console(file=out, force_terminal=True, color_system="truecolor")).say(
        f"value {hostile}", "warning"
    )
    text = out.getvalue()
    assert "\x1b]8" not in text and "\x1b[2J" not in text and "\u202e" not in text
    assert "\U0001f480" not in text  # :skull: stays text
    if hostile.isprintable() and "\u202e" not in hostile:
        assert hostile in text


def test_skipped_stix_indicators_are_said(tmp_path: Path) -> None:
    # a STIX indicator whose pattern cannot be used is counted and reported, not dropped
    # silently (issue 13, "smaller losses")
    (tmp_path / "conn.log").write_bytes((FIXTURES / "zeek" / "basic" / "conn.log").read_bytes())
    intel = FIXTURES / "context" / "intel_stix.json"
    res = CliRunner().invoke(main, ["hunt", str(tmp_path / "conn.log"), "--intel", str(intel),
                                    "--format", "ndjson"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "STIX indicator(s) skipped" in res.stderr
