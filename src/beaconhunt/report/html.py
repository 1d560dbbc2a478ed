"""HTML: the self-contained report of a run, and a finding's case as HTML.

Usage::

    html = render_report_html(report, views, generated_at=time.time())
    page = render_case_html(view)

Templates live in ``beaconhunt/report/templates`` and are rendered by Jinja2 with
autoescaping on for everything. Values from the logs reach a template only as
:class:`~beaconhunt.app.case.Span` s or as plain values passed through the ``shown``
filter (control and bidi characters made visible, long values cut, see
:func:`~beaconhunt.util.text.terminal_text`) and then autoescaped. The report
inlines its stylesheet and script and allows exactly those by hash in its
Content-Security-Policy, so the file loads nothing when opened and an injected
script or handler would not run even if one got through.

The web UI (:mod:`beaconhunt.web`) renders the same case template with the same
filters (:data:`ENV`).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from importlib import resources

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from beaconhunt.app.case import PIVOT_TITLES, Line
from beaconhunt.app.run import RunReport, summary_lines
from beaconhunt.app.store import FindingView
from beaconhunt.detect.reasons import duration
from beaconhunt.report.svg import findings_timeline_svg, histogram_svg, series_svg
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timefmt import iso_utc

__all__ = ["ENV", "asset", "line_html", "make_env", "render_case_html", "render_report_html"]

DETAIL_LIMIT = 500
"""Findings the report shows in full (the highest ranked; the rest are listed)."""


def line_html(line: Line) -> Markup:
    """A document line as HTML: beaconhunt's words escaped, values escaped and shown
    (``code`` spans in ``<code>``), line breaks as ``<br>``."""
    out: list[str] = []
    for span in line:
        if span.kind == "plain":
            out.append(str(escape(span.text or "")).replace("\n", "<br>"))
        elif span.text is None:
            out.append("-")
        elif span.kind == "code":
            out.append(f"<code>{escape(terminal_text(span.text, span.limit))}</code>")
        else:
            out.append(str(escape(terminal_text(span.text, span.limit))))
    return Markup("".join(out))


def _shown(value: object, limit: int = 200) -> str:
    """The ``shown`` filter: a value from the logs made visible and cut (then autoescaped)."""
    return terminal_text(value, limit)


def _iso(ts: float | None) -> str:
    return "-" if ts is None else iso_utc(ts)


def _dur(seconds: float | None) -> str:
    return "-" if seconds is None else duration(seconds)


def make_env(loader: BaseLoader | None = None) -> Environment:
    """A Jinja2 environment with autoescaping on and the report's filters (``shown``,
    ``iso``, ``dur``, ``line``) and plots; ``loader`` defaults to the report's templates."""
    env = Environment(
        loader=loader or PackageLoader("beaconhunt.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(shown=_shown, iso=_iso, dur=_dur, line=line_html)
    env.globals.update(
        PIVOT_TITLES=PIVOT_TITLES, histogram_svg=histogram_svg, series_svg=series_svg
    )
    return env


ENV = make_env()


def asset(name: str) -> str:
    """The text of a packaged asset (``report.css``, ``report.js``)."""
    return (resources.files("beaconhunt.report") / "assets" / name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def render_report_html(
    report: RunReport, views: Sequence[FindingView], generated_at: float | None = None,
    title: str = "beaconhunt report",
) -> str:  # fmt: skip
    """The whole report as one HTML document (see the module docstring).

    ``views`` are the findings shown in full, normally the first
    :data:`DETAIL_LIMIT` of ``report.findings``.
    """
    css, js = asset("report.css"), asset("report.js")
    csp = (
        f"default-src 'none'; script-src '{_sha256(js)}'; style-src '{_sha256(css)}';"
        " img-src data:; base-uri 'none'; form-action 'none'"
    )
    detailed = {v.case.finding_id for v in views}
    spans = [(f.decision.value, f.first_seen, f.last_seen) for f in report.findings]
    read = report.read
    return ENV.get_template("report.html.j2").render(
        title=title, css=Markup(css), js=Markup(js), csp=csp, report=report, views=views,
        detailed=detailed, read=read,
        summary=summary_lines(read, len(report.findings)) if read is not None else [],
        timeline=findings_timeline_svg(spans, report.span),
        generated=iso_utc(time.time() if generated_at is None else generated_at),
    )  # fmt: skip


def render_case_html(view: FindingView) -> str:
    """One finding's case as a self-contained HTML page (what ``case --html`` writes)."""
    css = asset("report.css")
    csp = f"default-src 'none'; style-src '{_sha256(css)}'; img-src data:; base-uri 'none'"
    return ENV.get_template("case_page.html.j2").render(css=Markup(css), csp=csp, view=view)
