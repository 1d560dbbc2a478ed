"""Browser-test harness: the system Chromium driven by Playwright, fully offline.

Design
------
* **System Chromium, not Playwright's.** ``playwright install`` downloads its
  browser builds from a CDN that this project's machines (developers' and CI's)
  cannot reach; only PyPI, Debian's archive and npm are reachable. So we drive
  the distribution's browser (Debian's ``chromium`` package, installed by
  ``.ci/run``) through ``executable_path``. Playwright's Python package only
  ships its Node driver, which talks to any recent Chromium over CDP.
  Never run ``playwright install`` here: it would just fail on the network.
* **Finding the browser.** ``$BEACONHUNT_CHROMIUM`` (a path or a command name)
  wins; otherwise the first of ``chromium``, ``chromium-browser``,
  ``google-chrome`` on ``$PATH``.
* **Missing tools skip, except in CI.** Without Playwright or a browser the
  tests are skipped with a reason saying what to install, so a plain
  ``pytest`` still works on a bare machine. When ``CI=true`` they fail instead:
  CI installs both, and a silently skipped browser suite would hide a broken
  install step.
* **No sandbox.** Chromium's setuid/user-namespace sandbox refuses to start
  as root ("Running as root without --no-sandbox is not supported"), and CI and
  the dev containers run as root. We pass ``chromium_sandbox=False`` (which
  makes Playwright add ``--no-sandbox``) and ``--no-sandbox`` again in
  ``args`` so the intent survives a change of Playwright's default. The pages
  under test are our own local files, so the renderer sandbox buys little.
* **Headless.** Playwright adds ``--headless``; since Chromium 132 that *is*
  the "new" headless mode (the old one moved to chrome-headless-shell), so
  ``--headless=new`` is not needed.
* **Offline by construction.** Every context routes ``**/*`` through a guard
  that lets through only ``file:``, ``data:``, ``blob:``, ``about:`` and
  loopback ``http(s)://127.0.0.1|localhost|[::1]`` (for a test server of our
  own); everything else is aborted and its URL recorded in ``.blocked`` so a
  test can assert that nothing tried to reach the network. WebSockets get the
  same treatment, and service workers are blocked (they would bypass routing).
  This guards what *pages* load; the browser's own background traffic is
  switched off by Playwright's default flags (``--disable-background-networking``,
  ``--disable-component-update``, ...).
* **Observability.** Console messages, uncaught page errors and CSP
  violations (``securitypolicyviolation`` events, captured by an init script
  that CSP cannot block because Playwright injects it over CDP) are collected
  per test on the object the ``page`` fixture returns. Nothing fails
  automatically on them: a test asserts what it expects.

Shell-level noise you may see with ``DEBUG=pw:browser``: ``Failed to connect
to the bus`` (no D-Bus in a container) and, from Debian's ``/usr/bin/chromium``
wrapper, ``[: ...: unexpected operator`` when ``/dev/shm`` is mounted twice.
Both are harmless; Playwright passes ``--disable-dev-shm-usage`` anyway.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import pytest

from beaconhunt.web.local import BROWSER_NAMES, find_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, WebSocketRoute

#: Extra Chromium switches. See the module docstring for why.
LAUNCH_ARGS = ["--no-sandbox"]
#: Default Playwright timeout for actions and navigations in these tests (ms):
#: everything is local, so anything slower than this is a hang, not a slow net.
DEFAULT_TIMEOUT_MS = 10_000

LOCAL_SCHEMES = frozenset({"file", "data", "blob", "about"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

CSP_INIT_SCRIPT = """
window.__beaconhuntCsp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__beaconhuntCsp.push({
    violatedDirective: e.violatedDirective,
    effectiveDirective: e.effectiveDirective,
    blockedURI: e.blockedURI,
    disposition: e.disposition,
  });
}, true);
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> NoReturn:
    """Skip (on a developer's machine) or fail loudly (in CI) for a missing tool."""
    if _in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def is_local_url(url: str) -> bool:
    """True for URLs the harness lets a page load: local schemes and loopback HTTP(S)/WS."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    if parts.scheme in {"http", "https", "ws", "wss"}:
        return parts.hostname in LOOPBACK_HOSTS
    return False


@dataclass
class BrowserPage:
    """What the ``page`` fixture hands a test: the page plus everything it observed."""

    page: Page
    context: BrowserContext
    #: Console messages as (type, text), e.g. ("error", "Refused to ...").
    console: list[tuple[str, str]] = field(default_factory=list)
    #: Uncaught exceptions thrown by page scripts (``pageerror``), as messages.
    errors: list[str] = field(default_factory=list)
    #: URLs of requests (and WebSockets) the network guard aborted.
    blocked: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[dict[str, str]]:
        """The ``securitypolicyviolation`` events seen in the current document."""
        result: list[dict[str, str]] = self.page.evaluate("window.__beaconhuntCsp || []")
        return result

    def wait_until(self, condition: Callable[[], Any], timeout: float = 5.0) -> None:
        """Poll ``condition`` while letting Playwright deliver events; fail on timeout.

        Console and CSP events arrive asynchronously, so assert on them through
        this rather than right after an action.
        """
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"condition not met within {timeout}s", pytrace=False)
            self.page.wait_for_timeout(25)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless system Chromium for the whole session (launching takes ~0.3 s)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")

    executable = find_chromium()
    if executable is None:
        where = os.environ.get("BEACONHUNT_CHROMIUM") or " / ".join(BROWSER_NAMES)
        _unavailable(
            f"no Chromium found ({where}); install Debian's: apt-get install chromium, "
            "or point BEACONHUNT_CHROMIUM at a Chromium/Chrome binary"
        )

    pw = sync_playwright().start()
    try:
        try:
            launched = pw.chromium.launch(
                executable_path=executable,
                args=LAUNCH_ARGS,
                chromium_sandbox=False,
                headless=True,
            )
        except PlaywrightError as exc:
            _unavailable(f"could not launch {executable}: {exc}")
        yield launched
        launched.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[BrowserPage]:
    """A fresh, network-guarded context and page per test; see :class:`BrowserPage`."""
    context = browser.new_context(service_workers="block")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(CSP_INIT_SCRIPT)
    pg = context.new_page()
    harness = BrowserPage(page=pg, context=context)

    def guard(route: Route) -> None:
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            harness.blocked.append(url)
            route.abort("blockedbyclient")

    def guard_ws(ws: WebSocketRoute) -> None:
        if is_local_url(ws.url):
            ws.connect_to_server()
        else:
            harness.blocked.append(ws.url)
            ws.close(code=1008, reason="blocked by beaconhunt test harness")

    context.route("**/*", guard)
    context.route_web_socket("**/*", guard_ws)
    pg.on("console", lambda msg: harness.console.append((msg.type, msg.text)))
    pg.on("pageerror", lambda exc: harness.errors.append(str(exc)))
    try:
        yield harness
    finally:
        context.close()
