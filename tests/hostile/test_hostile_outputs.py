"""The hostile-strings corpus through every output (issue 13 item 6).

``tests/hostile/capture.py`` writes every entry of ``tests/hostile/strings.py`` into real
Zeek and Sysmon logs (destination names by TLS SNI, HTTP Host and DNS; URI, User-Agent,
Zeek ``uid``; Sysmon image, command lines, user and host), in a folder with a hostile
name, plus malformed lines that warnings quote and files with hostile names. The real
command line hunts it once per output format, writes case files with ``--cases`` and
``case``; the tests assert that nothing in the corpus acts in any output: no markup
interpreted, no control sequence emitted, no formula left live, no HTML element created.

What reaches the outputs: the destination name (SNI, Host, DNS query), the Sysmon image,
command line, parent image, user and host, the threat-intel description, file and folder
names and the text of malformed lines. The URI, Referer, User-Agent, Zeek ``uid`` and
``ParentCommandLine`` are read (joins, evidence rules) but printed by no output here.
The defects it found (a `#` in a Zeek TSV value, an HTTP Host that names nothing, a lone
surrogate in Zeek JSON, a file name that is not UTF-8, a first record over 64 KiB) are the
tests at the end, each failing before its fix.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from rich.cells import cell_len

from beaconhunt.cli import main
from beaconhunt.util.text import terminal_text
from tests.conftest import FIXTURES, ZEEK
from tests.hostile.capture import (
    BAD_SQUID_TIME,
    BAD_TS,
    HOSTILE_DIR,
    INTEL_TEXT,
    Beacon,
    beacons,
    file_name,
    write_capture,
    write_named_files,
)
from tests.hostile.strings import CORPUS, Hostile

ENV = {"FORCE_COLOR": "1", "COLUMNS": "200"}
#: The only escape sequences allowed on a terminal: Rich's own colours and styles (SGR).
SGR = re.compile(r"\x1b\[[0-9;]*m")
FORMULA = ("=", "+", "-", "@", "\t", "\r")
BEACONS = beacons()


def invoke(args: list[str]) -> tuple[int, str, str]:
    """Run the real command line: exit code, stdout and stderr, decoded strictly (CliRunner's
    ``stdout`` would replace bad bytes and turn CRLF into LF, hiding what we look for)."""
    res = CliRunner().invoke(main, args, env=ENV)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout_bytes.decode("utf-8"), res.stderr_bytes.decode("utf-8")


def acting(ch: str) -> bool:
    """Whether a character acts on a terminal or a reader: C0 (other than LF), DEL, C1,
    format characters (bidi, zero-width), surrogates, private use, unassigned, and the
    Unicode line and paragraph separators."""
    o = ord(ch)
    if ch == "\n":
        return False
    if o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F:
        return True
    return unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def terminal_problems(text: str) -> list[str]:
    """What in ``text`` would act on a terminal: any escape but an SGR, any acting character."""
    plain = SGR.sub("", text)
    return [
        f"{ch!r} at {i}: {plain[max(0, i - 30) : i + 30]!r}"
        for i, ch in enumerate(plain)
        if ch == "\x1b" or acting(ch)
    ][:10]


def plain(text: str) -> str:
    return SGR.sub("", text)


# -- the runs, once per module ---------------------------------------------------------------


@dataclass
class Runs:
    """Every output of the hostile capture."""

    root: Path
    cases_dir: Path
    stdout: dict[str, str] = field(default_factory=dict)
    stderr: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # by src_ip
    case_files: dict[str, str] = field(default_factory=dict)  # finding_id -> --cases file
    case_out: dict[str, str] = field(default_factory=dict)  # finding_id -> `case` stdout
    case_err: list[str] = field(default_factory=list)
    named_err: dict[Path, str] = field(default_factory=dict)  # folder -> hunt stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("hostile")
    cap = write_capture(root)
    db = root / "hunt.duckdb"
    base = ["hunt", str(cap.logs), "--intel", str(cap.intel), "--min-score", "0",
            "--limit", "1000"]  # fmt: skip
    r = Runs(root, cap.cases)
    for fmt, extra in (
        ("ndjson", ["--db", str(db), "--cases", str(cap.cases)]),
        ("csv", []),
        ("table", []),
    ):
        code, out, err = invoke([*base, "--format", fmt, *extra])
        assert code == 0, err
        r.stdout[fmt], r.stderr[fmt] = out, err
    for line in r.stdout["ndjson"].splitlines():
        rec = json.loads(line)
        r.records[rec["src_ip"]] = rec
    for path in sorted(cap.cases.iterdir()):
        r.case_files[path.stem] = path.read_text(encoding="utf-8")
    for fid in r.case_files:
        code, out, err = invoke(["case", fid, "--db", str(db)])
        assert code == 0, err
        r.case_out[fid] = out
        r.case_err.append(err)
    for folder in write_named_files(root):
        code, _, err = invoke(["hunt", str(folder), "--format", "ndjson"])
        assert code == 0, err
        r.named_err[folder] = err
    return r


def record(runs: Runs, b: Beacon) -> dict[str, Any]:
    rec = runs.records.get(b.src_ip)
    assert rec is not None, f"no finding for {b.route} {b.entry.name}"
    return rec


def _id(b: Beacon) -> str:
    return f"{b.route}-{b.entry.name}"


# -- the terminal: table, warnings, summaries, `case` ----------------------------------------

STREAMS = ["table", "stderr:ndjson", "stderr:csv", "stderr:table", "case"]


def _stream(runs: Runs, name: str) -> str:
    if name == "table":
        return runs.stdout["table"]
    if name == "case":
        return "".join(runs.case_out.values())
    return runs.stderr[name.split(":")[1]]


@pytest.mark.parametrize("name", STREAMS)
def test_terminal_output_holds_no_control_sequence(runs: Runs, name: str) -> None:
    text = _stream(runs, name)
    assert text.strip()
    assert terminal_problems(text) == []


def test_case_says_nothing_on_stderr(runs: Runs) -> None:
    assert runs.case_err == [""] * len(runs.case_files)


def test_the_table_is_styled(runs: Runs) -> None:
    # FORCE_COLOR is on: Rich's SGR sequences are there, so the test above is not vacuous
    assert SGR.search(runs.stdout["table"]) and "\x1b[1;31mescalate" in runs.stdout["table"]


@pytest.mark.parametrize(
    "shown",
    ["[bold red]x[/]", "[/x]", ":skull: :warning:", "\\x1b[31mred", "\\x9b2J", "\\x07",
     "<script>", "?a?b?c?d", "pay\\u200bpal", "a\\u2028b\\u2029c"],
)  # fmt: skip
def test_the_table_shows_hostile_text_literally(runs: Runs, shown: str) -> None:
    assert shown in plain(runs.stdout["table"])


def test_the_table_shows_no_emoji_or_link(runs: Runs) -> None:
    text = runs.stdout["table"]
    assert "\U0001f480" not in text and "\u26a0" not in text  # :skull: :warning: stay text
    assert "\x1b]" not in text  # no OSC 8 link, no title


def test_no_table_row_is_injected(runs: Runs) -> None:
    # title, header, rule, then two lines per finding (its columns, its why), the footer
    lines = plain(runs.stdout["table"]).rstrip("\n").split("\n")
    assert lines[0].startswith("beaconhunt findings: ") and lines[1].startswith("id ")
    assert set(lines[2]) == {"-"}
    body, footer = lines[3:-1], lines[-1]
    assert footer.startswith("beaconhunt show ID")
    rows, whys = body[0::2], body[1::2]
    assert all(re.match(r"[0-9a-f]{8} (escalate|monitor|close)", ln) for ln in rows), rows
    assert all(ln.startswith(" " * 9 + "why: ") for ln in whys), whys
    ids = {rec["finding_id"][:8] for rec in runs.records.values()}
    assert [ln[:8] for ln in rows] and {ln[:8] for ln in rows} == ids
    assert all(cell_len(ln) <= 100 for ln in lines), max(lines, key=cell_len)


def test_show_prints_every_reason_inert(runs: Runs) -> None:
    for fid in runs.case_out:
        code, out, err = invoke(["show", fid[:6], "--db", str(runs.root / "hunt.duckdb")])
        assert code == 0 and err == "", err
        assert terminal_problems(out) == []
        assert f"Case {fid}" in out and "Suggested next steps" in out


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "table"])
def test_no_message_line_is_injected(runs: Runs, fmt: str) -> None:
    lines = plain(runs.stderr[fmt]).rstrip("\n").split("\n")
    allowed = ("warning: ", "read ", "wrote ")
    assert all(ln.startswith(allowed) for ln in lines), [
        ln for ln in lines if not ln.startswith(allowed)
    ]


def test_warnings_quote_hostile_text_inert(runs: Runs) -> None:
    err = plain(runs.stderr["ndjson"])
    # a Zeek TSV line with raw ESC, BEL, C1 and RLO in ``ts``: quoted, escaped, markup as text
    assert terminal_text(BAD_TS, 1000) in err
    # a Squid line with a hyperlink tag for its time: Rich markup shown, not parsed
    assert "unreadable time '[link=https://attacker.example]evil[/lin" in err
    assert BAD_SQUID_TIME not in err
    # the folders: every warning names the capture folder, the summary the case folder
    assert terminal_text(HOSTILE_DIR) in err
    assert f"to {terminal_text(str(runs.cases_dir), 200)}" in err


# -- NDJSON ---------------------------------------------------------------------------------


def test_ndjson_is_ascii_json_lines(runs: Runs) -> None:
    out = runs.stdout["ndjson"]
    assert all(ch == "\n" or " " <= ch <= "~" for ch in out)  # every other character escaped
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(BEACONS)
    assert all(isinstance(json.loads(ln), dict) for ln in lines[:-1])
    assert {b.src_ip for b in BEACONS} == set(runs.records)


@pytest.mark.parametrize("b", BEACONS, ids=_id)
def test_ndjson_keeps_endpoint_values(runs: Runs, b: Beacon) -> None:
    # the machine-readable contract keeps the values as read (Sysmon text: lone surrogates
    # become U+FFFD, fields over 32 KiB are cut and marked), escaped by JSON only
    rec = record(runs, b)
    got = {k: rec[k] for k in ("src_host", "process_image", "process_command_line",
                               "parent_image", "process_user")}  # fmt: skip
    assert got == {"src_host": b.kept, "process_image": b.kept, "process_command_line": b.kept,
                   "parent_image": b.kept, "process_user": b.user}  # fmt: skip
    assert rec["processes"][0]["command_line"] == b.kept


@pytest.mark.parametrize("b", [pytest.param(b, id=_id(b)) for b in BEACONS])
def test_ndjson_names_the_destination(runs: Runs, b: Beacon) -> None:
    # names are lower-cased, an HTTP Host loses its port; unknown is null, never ""
    assert record(runs, b)["dst_domain"] == (b.domain or None)


# -- CSV ------------------------------------------------------------------------------------


def _csv_rows(runs: Runs) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(runs.stdout["csv"], newline="")))


def test_csv_cells_are_inert(runs: Runs) -> None:
    text = runs.stdout["csv"]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(BEACONS) + 1
    assert len(text.splitlines()) == len(rows)  # no line break in any cell, of any kind
    width = len(rows[0])
    for row in rows:
        assert len(row) == width
        for cell in row:
            assert not cell.startswith(FORMULA), cell[:80]
            assert not any(acting(ch) or ch == "\n" for ch in cell), cell[:80]


def _csv_form(value: str | None) -> str:
    t = "" if value is None else terminal_text(value, 32_000)
    return "'" + t if t.startswith(FORMULA) else t


@pytest.mark.parametrize("b", BEACONS, ids=_id)
def test_csv_shows_the_values(runs: Runs, b: Beacon) -> None:
    row = next(r for r in _csv_rows(runs) if r["src_ip"] == b.src_ip)
    rec = record(runs, b)
    for col in ("src_host", "dst_domain", "process_image", "process_user",
                "process_command_line", "parent_image"):  # fmt: skip
        assert row[col] == _csv_form(rec[col]), col


@pytest.mark.parametrize(
    ("name", "shown"),
    [("csv-hyperlink", "'=HYPERLINK("), ("csv-dde", "'+cmd|"), ("csv-minus", "'-2+3"),
     ("csv-at", "'@SUM(1)"), ("csv-tab", "\\x09=1+1"), ("csv-cr", "\\x0d=1+1")],
)  # fmt: skip
def test_csv_formulas_are_text(runs: Runs, name: str, shown: str) -> None:
    # a formula gets a quote; a leading tab or CR is shown as an escape, which starts no
    # formula either
    ips = {b.src_ip for b in BEACONS if b.entry.name == name}
    rows = [r for r in _csv_rows(runs) if r["src_ip"] in ips]
    assert len(rows) == 3
    for col in ("src_host", "process_image", "process_user", "process_command_line",
                "parent_image"):  # fmt: skip
        assert all(r[col].startswith(shown) or r[col].startswith("CORP") for r in rows), col


# -- Markdown case files (--cases) and `case` --------------------------------------------------

_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
#: Every element the case template itself makes (headings, tables, lists, code, the
#: two-space line breaks of the header); anything else came from a string.
TAGS = {"h1", "h2", "h3", "p", "strong", "em", "code", "pre", "table", "thead", "tbody",
        "tr", "th", "td", "ul", "ol", "li", "hr", "br"}  # fmt: skip
ATTRS = {("style", "text-align:right"), ("style", "text-align:left"), ("class", "language-text")}
SECTIONS = ["Alert summary", "Hypothesis", "Evidence", "Timing", "Decision and rationale",
            "Suggested next steps"]  # fmt: skip


class _Html(HTMLParser):
    """Elements, attributes, comments, headings and text of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: set[tuple[str, str | None]] = set()
        self.other: list[str] = []  # comments, declarations, processing instructions
        self.text: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.cells: list[str] = []  # of the first table (the alert summary)
        self.tables = 0
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.update(attrs)
        self.tables += tag == "table"
        if tag == "td" and self.tables == 1:
            self._in.append(tag)
            self.cells.append("")
        elif tag in ("h1", "h2", "h3"):
            self._in.append(tag)
            self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in and self._in[-1] == "td":
            self.cells[-1] += data
        elif self._in:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.other.append(decl)

    def handle_pi(self, data: str) -> None:
        self.other.append(data)

    def unknown_decl(self, data: str) -> None:
        self.other.append(data)


def _render(md: str) -> tuple[str, _Html]:
    html = _MD.render(md)
    p = _Html()
    p.feed(html)
    p.close()
    return html, p


def _case_cases() -> Iterator[Any]:
    for source in ("--cases", "case"):
        for b in BEACONS:
            yield pytest.param(source, b, id=f"{source.lstrip('-')}-{_id(b)}")


@pytest.mark.parametrize(("source", "b"), list(_case_cases()))
def test_case_file_renders_inert(runs: Runs, source: str, b: Beacon) -> None:
    rec = record(runs, b)
    md = (runs.case_files if source == "--cases" else runs.case_out)[rec["finding_id"]]
    assert not any(acting(ch) for ch in md)
    html, p = _render(md)
    # no element, attribute, comment or link that came from the corpus
    assert set(p.tags) <= TAGS, set(p.tags) - TAGS
    assert p.attrs <= ATTRS, p.attrs - ATTRS
    assert p.other == []
    for raw in ("<script", "<img", "<svg", "<a ", "<!--"):  # as text they are &lt;...
        assert raw not in html
    # the layout is the template's: a hostile newline, '#' or '---' adds no heading or rule
    assert [h for h in p.headings if h[0] == "h1"] == [
        ("h1", f"Case {rec['finding_id']}: suspicious outbound beaconing")
    ]
    assert [t for tag, t in p.headings if tag == "h2"] == SECTIONS
    assert all(re.fullmatch(r"\d\. [A-Z][a-z ]+", t) for tag, t in p.headings if tag == "h3")
    assert p.tags.count("hr") == 6
    # the hostile text is there, as text, whole in its summary cell
    text = "".join(p.text)
    assert terminal_text(b.kept, 10**6)[:60] in text
    cells = dict(zip(p.cells[0::2], p.cells[1::2], strict=True))
    assert cells["Command line"] == terminal_text(b.kept, 300)
    assert cells["Parent process"] == terminal_text(b.kept, 200)
    assert cells["Source host / IP"] == f"{terminal_text(b.kept, 80)} ({b.src_ip})"


def test_case_files_are_named_by_finding_id(runs: Runs) -> None:
    # no string reaches a path: one file per escalated finding, named by its id
    written = sorted(p.relative_to(runs.cases_dir) for p in runs.cases_dir.rglob("*"))
    assert [str(p) for p in written] == sorted(
        f"{r['finding_id']}.md" for r in runs.records.values()
    )
    assert all(r["decision"] == "escalate" for r in runs.records.values())


def test_intel_text_is_shown_inert(runs: Runs) -> None:
    # a feed's description reaches the table, the reasons and the case files as text
    shown = terminal_text(INTEL_TEXT, 1000)
    assert any(shown in r["text"] for rec in runs.records.values() for r in rec["reasons"])
    md = next(iter(runs.case_files.values()))
    _, p = _render(md)
    assert shown in "".join(p.text)


# -- file names -----------------------------------------------------------------------------

_NAMED = [pytest.param(i, h, id=h.name) for i, h in enumerate(CORPUS) if file_name(i, h)]


@pytest.mark.parametrize(("i", "h"), _NAMED)
def test_a_hostile_file_name_is_shown_inert(runs: Runs, i: int, h: Hostile) -> None:
    name = file_name(i, h)
    assert name is not None
    folder, err = next((f, e) for f, e in runs.named_err.items() if (f / name).exists())
    assert terminal_problems(err) == []
    line = next(ln for ln in plain(err).split("\n") if f"{i:02d}-" in ln)
    assert line.startswith(f"warning: {terminal_text(str(folder / name), 300)}:10: ")


# -- defects the corpus found, each fixed with its test ------------------------------------


def _zeek_json(folder: Path, host: str) -> None:
    conn, http = [], []
    for n in range(30):
        ts, uid = 1_793_520_000.0 + 60 * n, f"CSur{n:03d}"
        conn.append({"_path": "conn", "ts": ts, "uid": uid, "id.orig_h": "10.7.7.7",
                     "id.orig_p": 41000 + n, "id.resp_h": "198.51.100.99", "id.resp_p": 80,
                     "proto": "tcp", "service": "http", "duration": 0.2, "orig_bytes": 300,
                     "resp_bytes": 900, "conn_state": "SF"})  # fmt: skip
        http.append({"_path": "http", "ts": ts + 0.05, "uid": uid, "id.orig_h": "10.7.7.7",
                     "id.orig_p": 41000 + n, "id.resp_h": "198.51.100.99", "id.resp_p": 80,
                     "trans_depth": 1, "method": "GET", "host": host, "uri": "/",
                     "user_agent": host})  # fmt: skip
    (folder / "conn.log").write_text("".join(json.dumps(c) + "\n" for c in conn), "utf-8")
    (folder / "http.log").write_text("".join(json.dumps(h) + "\n" for h in http), "utf-8")


def test_a_lone_surrogate_in_zeek_json_costs_only_its_value(tmp_path: Path) -> None:
    _zeek_json(tmp_path, "a\ud800b.example")  # json.dumps writes it as the escape \ud800
    code, out, err = invoke(["hunt", str(tmp_path), "--format", "ndjson", "--min-score", "0"])
    assert code == 0, err
    assert [json.loads(ln)["src_ip"] for ln in out.splitlines()] == ["10.7.7.7"]


def test_a_file_name_that_is_not_utf8_is_read(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    raw = os.fsencode(tmp_path / "logs") + b"/caf\xe9-conn.log"
    Path(os.fsdecode(raw)).write_bytes((ZEEK / "basic" / "conn.log").read_bytes())
    code, out, err = invoke(["hunt", str(tmp_path / "logs"), "--format", "ndjson"])
    assert code == 0, err
    assert terminal_problems(err) == []
    assert out.strip()  # the file's beacon is found
    db = str(tmp_path / "hunt.duckdb")
    for _ in range(2):  # recorded in the store's inputs, and known again the second time
        code, _, err = invoke(["hunt", str(tmp_path / "logs"), "--db", db, "--format", "ndjson"])
        assert code == 0, err
    assert "already in the store" in plain(err)


def test_a_long_first_event_does_not_hide_the_file(tmp_path: Path) -> None:
    lines = (FIXTURES / "sysmon_basic" / "sysmon.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    data = first["Event"]["EventData"]
    data["CommandLine"] = "powershell.exe -c " + "A" * 32_740
    data["ParentCommandLine"] = "powershell.exe -c " + "B" * 32_740
    (tmp_path / "sysmon.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    code, out, err = invoke(["hunt", str(tmp_path), "--format", "ndjson", "--min-score", "0"])
    assert code == 0, err
    assert "c2.badsite.example" in {json.loads(ln)["dst_domain"] for ln in out.splitlines()}


def test_a_hash_sign_in_a_zeek_tsv_field_keeps_the_record(tmp_path: Path) -> None:
    lines = (ZEEK / "basic" / "ssl.log").read_text().splitlines()
    lines = [ln.replace("C2.BadSite.example", "c2#x.example") for ln in lines]
    (tmp_path / "ssl.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "conn.log").write_bytes((ZEEK / "basic" / "conn.log").read_bytes())
    code, out, err = invoke(["hunt", str(tmp_path), "--format", "ndjson", "--min-score", "0"])
    assert code == 0, err
    assert "malformed" not in err
    assert "c2#x.example" in {json.loads(ln)["dst_domain"] for ln in out.splitlines()}
