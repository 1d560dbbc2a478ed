"""``beaconhunt report``: the self-contained HTML report of a run in a ``--db`` store.

Usage::

    beaconhunt hunt logs/ --db hunt.duckdb
    beaconhunt report --db hunt.duckdb -o report.html     # the latest run
    beaconhunt report --db hunt.duckdb --run 3 -o run3.html
    beaconhunt report --db hunt.duckdb --all -o all.html  # every finding stored
    beaconhunt hunt logs/ --html report.html              # hunt and write it in one go

The file needs nothing to open: styles, the filter script and the plots are inline,
and its Content-Security-Policy forbids any other load.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from beaconhunt.app.store import Workbench
from beaconhunt.errors import ConfigError

__all__ = ["report_cmd", "serve_cmd", "write_report"]


def write_report(
    db: Path, output: Path, run_id: int | None = None, every: bool = False,
    detail: int | None = None,
) -> int:  # fmt: skip
    """Write the HTML report of run ``run_id`` (latest) of store ``db`` to ``output``;
    return the number of findings in it."""
    from beaconhunt.report.html import DETAIL_LIMIT, render_report_html

    limit = DETAIL_LIMIT if detail is None else detail
    now = time.time()
    with Workbench(db) as wb:
        report = wb.run_report(run_id, every)
        views = wb.finding_views(list(report.findings[:limit]), generated_at=now)
    html = render_report_html(report, views, generated_at=now)
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {output}: {exc}") from exc
    return len(report.findings)


@click.command("report")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The DuckDB store earlier hunts wrote (hunt --db FILE).")  # fmt: skip
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write.")  # fmt: skip
@click.option("--run", "run_id", type=int, help="Report this run (default: the latest).")
@click.option("--all", "every", is_flag=True, help="Every finding in the store, whichever run.")
@click.option("--detail", type=click.IntRange(min=0),
              help="Findings shown in full, highest ranked first (default 500).")  # fmt: skip
def report_cmd(db: Path, output: Path, run_id: int | None, every: bool,
               detail: int | None) -> None:  # fmt: skip
    """Write the HTML report of a hunt kept in --db: overview, filterable findings and
    each finding's case with its plots. One file, nothing loaded when opened."""
    from beaconhunt.cli import _err, _run, _say
    from beaconhunt.util.text import terminal_text

    def body() -> None:
        n = write_report(db, output, run_id, every, detail)
        _say(_err(), f"wrote the report of {n:,} finding(s) to {terminal_text(str(output), 300)}")

    _run(body)


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("serve")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The DuckDB store earlier hunts wrote (hunt --db FILE).")  # fmt: skip
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback exposes the UI to the network.",
)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option(
    "--token",
    envvar="BEACONHUNT_TOKEN",
    help="The access token (default: a new random one; env BEACONHUNT_TOKEN).",
)
@click.option("--analyst", envvar="USER", help="Name put on verdicts by default (env USER).")
def serve_cmd(db: Path, host: str, port: int, token: str | None, analyst: str | None) -> None:
    """Browse, filter and open the findings of --db in a local web UI, and record
    verdicts. Every request needs the token printed at start."""
    import secrets
    import socket

    from beaconhunt.cli import _err, _run, _say
    from beaconhunt.util.text import terminal_text

    def body() -> None:
        try:
            import uvicorn

            from beaconhunt.web.app import create_app
        except ImportError as exc:
            raise ConfigError(
                f"beaconhunt serve needs the web extra: pip install 'beaconhunt[web]' ({exc})"
            ) from exc
        secret = token or secrets.token_urlsafe(24)
        if len(secret) < 16:
            raise ConfigError("--token: use at least 16 characters")
        with Workbench(db):  # fail now, with a clear message, if it is no store
            pass
        err = _err()
        if host not in _LOOPBACK:
            _say(err, f"listening on {terminal_text(host, 100)}: anyone who can reach this"
                      " address and has the token can read the findings and record verdicts;"
                      " prefer the default 127.0.0.1 and an SSH tunnel", "warning")  # fmt: skip
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(128)  # connections wait in the backlog until the server accepts
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        _say(err, f"beaconhunt UI for {terminal_text(str(db), 300)} at"
                  f" http://{shown}:{bound}/?token={secret}  (Ctrl-C to stop)")  # fmt: skip
        app = create_app(db, secret, analyst)
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[sock])

    _run(body)
