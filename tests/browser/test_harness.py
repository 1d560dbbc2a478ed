"""Tests of the browser harness itself (tests/browser/conftest.py).

They pin down what later HTML-report / web-UI tests rely on: local pages run
their scripts, nothing reaches the network, and CSP is enforced and observable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import BrowserPage, is_local_url


def write_page(tmp_path: Path, body: str, head: str = "") -> str:
    """Write a small UTF-8 HTML page and return its file:// URL."""
    path = tmp_path / "page.html"
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{head}</head><body>{body}</body></html>',
        encoding="utf-8",
    )
    return path.as_uri()


def test_inline_script_sets_dom_value(page: BrowserPage, tmp_path: Path) -> None:
    url = write_page(
        tmp_path,
        '<p id="out">pending</p>'
        "<script>document.getElementById('out').textContent = 'beacon ' + (6 * 7);</script>",
    )
    page.page.goto(url)
    assert page.page.text_content("#out") == "beacon 42"
    assert page.page.evaluate("document.getElementById('out').textContent") == "beacon 42"
    assert page.errors == []
    assert page.blocked == []


def test_remote_script_is_blocked_and_recorded(page: BrowserPage, tmp_path: Path) -> None:
    url = write_page(
        tmp_path,
        '<p id="out">pending</p>'
        "<script>window.remoteState = 'not tried';</script>"
        '<script src="https://example.com/x.js"'
        " onerror=\"window.remoteState = 'failed'\""
        " onload=\"window.remoteState = 'loaded'\"></script>",
    )
    page.page.goto(url)
    assert page.blocked == ["https://example.com/x.js"]
    assert page.page.evaluate("window.remoteState") == "failed"


def test_csp_blocks_inline_handler_and_reports_it(page: BrowserPage, tmp_path: Path) -> None:
    url = write_page(
        tmp_path,
        '<button id="go" onclick="document.body.dataset.clicked = \'yes\'">go</button>',
        head='<meta http-equiv="Content-Security-Policy" content="script-src \'self\'">',
    )
    page.page.goto(url)
    page.page.click("#go")
    page.wait_until(lambda: page.csp_violations())
    page.wait_until(lambda: any("Content Security Policy" in text for _, text in page.console))

    assert page.page.evaluate("document.body.dataset.clicked ?? null") is None
    [violation] = page.csp_violations()
    assert violation["effectiveDirective"] == "script-src-attr"
    assert violation["blockedURI"] == "inline"
    assert violation["disposition"] == "enforce"
    assert page.errors == []
    assert page.blocked == []


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("file:///tmp/report.html", True),
        ("data:text/html,hi", True),
        ("http://127.0.0.1:8765/app.js", True),
        ("http://localhost/", True),
        ("http://[::1]:8000/", True),
        ("https://example.com/x.js", False),
        ("http://localhost.example.com/", False),
        ("http://127.0.0.2/", False),
        ("ws://10.0.0.1/socket", False),
    ],
)
def test_network_guard_policy(url: str, local: bool) -> None:
    assert is_local_url(url) is local
