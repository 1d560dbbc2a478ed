"""The local web UI (``beaconhunt serve``): list, filter and open findings, record verdicts.

Usage::

    app = create_app(Path("hunt.duckdb"), token="...")   # a Starlette ASGI app
    uvicorn.run(app, host="127.0.0.1", port=8765)

Security, for a tool that shows attacker-controlled strings to the people who
defend against them:

* every request needs the token printed at start (``?token=`` once, then an
  HttpOnly, SameSite=Strict cookie; or ``Authorization: token ...``), compared in
  constant time, as Jupyter does;
* state changes are POST only, with a CSRF token derived from the session token
  and an ``Origin`` check;
* Jinja2 autoescapes every template and values from the logs pass through the
  ``shown`` filter (control and bidi characters made visible);
* the Content-Security-Policy allows the page's own stylesheet and no script at
  all (the UI needs none), no remote loads, no framing, forms to itself only;
* the store is opened per request (read-only to read), so a ``hunt --db`` can
  write it between page loads; while one holds it, pages say so (503).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, PackageLoader
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from beaconhunt.app.store import EFFECTS, Workbench
from beaconhunt.errors import BeaconhuntError, ConfigError, StoreError
from beaconhunt.model import Decision
from beaconhunt.report.case import render_markdown
from beaconhunt.report.html import asset, make_env
from beaconhunt.store.history import UnknownFinding
from beaconhunt.web.index import DECISIONS, Filters, FindingIndex

__all__ = ["COOKIE", "CSP", "create_app"]

COOKIE = "beaconhunt_token"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer, browsers send "Origin: null" on
    # form posts and the Origin check could not tell the UI from another site
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_ENV = make_env(ChoiceLoader([PackageLoader("beaconhunt.web", "templates"),
                              PackageLoader("beaconhunt.report", "templates")]))  # fmt: skip
_MAX_FILTER = 200


def _csrf(token: str) -> str:
    return hmac.new(token.encode(), b"beaconhunt csrf", hashlib.sha256).hexdigest()


class _Auth(BaseHTTPMiddleware):
    """The token check and the security headers of every response."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    def _given(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("token "):
            return auth[6:].strip()
        return request.query_params.get("token") or request.cookies.get(COOKIE)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = self._given(request)
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            response: Response = _page("error.html.j2", status=403, title="Token needed",
                                       message="Open the address beaconhunt serve printed"
                                               " (it ends in ?token=...).")  # fmt: skip
        elif "token" in request.query_params and request.method == "GET":
            # drop the token from the address bar and history; the cookie carries it now
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            url = URL(path=request.url.path, query=urlencode(rest))
            response = RedirectResponse(str(url), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        else:
            response = await call_next(request)
        response.headers.update(_HEADERS)
        return response


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(template).render(**context), status_code=status)


def _number(value: str | None, default: float = 0.0) -> float:
    try:
        return float(value) if value else default
    except ValueError:
        return default


def _when(value: str | None) -> float | None:
    """An ``<input type=datetime-local>`` value (or ISO 8601) as UTC epoch seconds."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _filters(request: Request) -> Filters:
    q = request.query_params

    def text(key: str) -> str:
        return (q.get(key) or "").strip()[:_MAX_FILTER]

    decision = text("decision")
    return Filters(
        decision=decision if decision in DECISIONS else "", kind=text("kind"),
        host=text("host"), destination=text("destination"), process=text("process"),
        min_score=min(max(_number(q.get("min_score")), 0.0), 1.0),
        since=_when(q.get("since")), until=_when(q.get("until")),
        latest_run=q.get("run") == "latest",
    )  # fmt: skip


def create_app(db: Path, token: str, analyst: str | None = None) -> Starlette:
    """The web UI over the store ``db``; ``token`` guards every request; ``analyst``
    is the default name on verdicts."""
    index = FindingIndex(db)
    csrf = _csrf(token)

    def busy(exc: BeaconhuntError) -> HTMLResponse:
        return _page("error.html.j2", status=503, title="Store unavailable",
                     message=f"{exc} (a hunt may be writing it: reload in a moment)")  # fmt: skip

    async def findings(request: Request) -> Response:
        flt = _filters(request)
        try:
            with Workbench(db) as wb:
                index.refresh(wb.store.con)
        except StoreError as exc:
            return busy(exc)
        page = index.page(flt, int(_number(request.query_params.get("page"), 1)))
        q = {k: v for k, v in request.query_params.items() if k not in ("page", "token") and v}

        def link(n: int) -> str:
            return "?" + urlencode({**q, "page": n})

        return _page("list.html.j2", page=page, f=flt, q=q, link=link,
                     since=request.query_params.get("since") or "",
                     until=request.query_params.get("until") or "",
                     db=str(db))  # fmt: skip

    def _view(finding_id: str) -> Any:
        with Workbench(db) as wb:
            fid = wb.resolve(finding_id)
            return wb.finding_view(fid, generated_at=time.time())

    async def finding(request: Request) -> Response:
        try:
            view = _view(request.path_params["fid"])
        except UnknownFinding as exc:
            return _page("error.html.j2", status=404, title="No such finding", message=str(exc))
        except StoreError as exc:
            return busy(exc)
        recorded = request.query_params.get("recorded")
        return _page("finding.html.j2", view=view, csrf=csrf, analyst=analyst or "",
                     decisions=DECISIONS, recorded=recorded, effects=EFFECTS,
                     error=request.query_params.get("error") or "")  # fmt: skip

    async def case_md(request: Request) -> Response:
        try:
            view = _view(request.path_params["fid"])
        except UnknownFinding as exc:
            return _page("error.html.j2", status=404, title="No such finding", message=str(exc))
        except StoreError as exc:
            return busy(exc)
        fid = view.case.finding_id
        return Response(render_markdown(view.case), media_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="case-{fid}.md"'})  # fmt: skip

    async def verdict(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return _page("error.html.j2", status=403, title="Refused",
                         message="a verdict must come from this UI's own page")  # fmt: skip
        form = await request.form()
        given = str(form.get("csrf") or "")
        if not hmac.compare_digest(given.encode(), csrf.encode()):
            return _page("error.html.j2", status=403, title="Refused",
                         message="the form is stale or forged: reload the finding")  # fmt: skip
        fid = request.path_params["fid"]
        decision = str(form.get("decision") or "")
        note = str(form.get("note") or "")
        who = str(form.get("analyst") or "").strip()[:100] or None
        back = request.url_for("finding", fid=fid).path
        if decision not in DECISIONS:
            return RedirectResponse(f"{back}?error=choose+a+decision", status_code=303)
        was_current = index.current()
        try:
            with Workbench(db, read_only=False) as wb:
                fid = wb.resolve(fid)
                wb.record_verdict(fid, Decision(decision), note, who)
        except UnknownFinding as exc:
            return _page("error.html.j2", status=404, title="No such finding", message=str(exc))
        except ConfigError as exc:  # no note
            return RedirectResponse(f"{back}?{urlencode({'error': str(exc)})}", status_code=303)
        except StoreError as exc:
            return busy(exc)
        index.verdict_recorded(fid, decision, was_current)
        return RedirectResponse(f"{back}?recorded={decision}", status_code=303)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name != "report.css":
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(asset(name), media_type="text/css; charset=utf-8")

    routes = [
        Route("/", findings),
        Route("/finding/{fid:str}", finding, name="finding"),
        Route("/finding/{fid:str}/case.md", case_md),
        Route("/finding/{fid:str}/verdict", verdict, methods=["POST"]),
        Route("/static/{name:str}", static),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Auth, token=token)])
