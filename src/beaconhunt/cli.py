"""The command line. The only place errors become exit codes and messages.

Exit codes: 0 success; 1 nothing usable was read; 2 bad option, setting or
context file; 3 the store could not be used; 130 interrupted.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from beaconhunt import __version__
from beaconhunt.config import (
    DecideSettings,
    EvidenceSettings,
    HuntSettings,
    build,
    default_config_text,
    load_config,
)
from beaconhunt.decide import load_policy
from beaconhunt.detect import DnsSettings, LongSessionSettings, ScoreSettings
from beaconhunt.detect.filter import FilterSettings
from beaconhunt.enrich import Allowlist
from beaconhunt.enrich.apps import load_apps
from beaconhunt.enrich.context import load_assets, load_whois
from beaconhunt.enrich.intel import load_intel
from beaconhunt.enrich.investigate import Context
from beaconhunt.errors import BeaconhuntError, ConfigError, NoUsableInput, StoreError
from beaconhunt.ingest.mapped import load_sources
from beaconhunt.pipeline import HuntResult, hunt
from beaconhunt.report import REPORTERS, TableReporter
from beaconhunt.report.safe import Messages
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timing import format_stages

__all__ = ["main"]

_SECTIONS: dict[str, type[Any]] = {
    "hunt": HuntSettings,
    "filter": FilterSettings,
    "score": ScoreSettings,
    "decide": DecideSettings,
    "evidence": EvidenceSettings,
    "long_session": LongSessionSettings,
    "dns": DnsSettings,
}
#: Config sections that are not flat settings: the policy rules and the application inventory.
_DATA_SECTIONS = ("policy", "apps", "sources")


def _err() -> Console:
    """stderr, with markup and emoji codes off: messages are data (see :func:`_say`)."""
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def _say(console: Console, message: object, label: str | None = None) -> None:
    """Every message the commands print goes through here (:class:`Messages`)."""
    Messages(console).say(message, label)


@contextmanager
def _progress(enabled: bool) -> Iterator[tuple[Callable[[str, float], None] | None,
                                               Callable[[str], None] | None]]:  # fmt: skip
    """A Rich progress display on stderr while inputs load and pairs are scored."""
    if not enabled:
        yield None, None
        return
    prog = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(),
        TextColumn("{task.percentage:>3.0f}%", markup=False),
        TimeElapsedColumn(), console=_err(), transient=True,
    )  # fmt: skip
    tasks: dict[str, Any] = {}

    def on_progress(label: str, frac: float) -> None:
        label = terminal_text(label, 50)
        if label not in tasks:
            tasks[label] = prog.add_task(label, total=1.0)
        prog.update(tasks[label], completed=frac)

    def on_file(name: str) -> None:
        on_progress(f"reading {name}", 0.0)

    with prog:
        yield on_progress, on_file


def _print_load_summary(result: HuntResult, console: Console) -> None:
    from beaconhunt.app.run import summary_lines

    read = result.read_summary()
    for p in read.problems:
        _say(console, terminal_text(p, 300), "warning")
    if read.problem_count > len(read.problems):
        _say(console, f"... and {read.problem_count - len(read.problems)} more", "warning")
    for line in summary_lines(read, len(result.findings)):
        _say(console, terminal_text(line, 2000))


def _settings(config: Path | None, overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    data = load_config(config)
    unknown = sorted(set(data) - set(_SECTIONS) - set(_DATA_SECTIONS))
    if unknown:
        raise ConfigError(f"{config}: unknown section(s) {', '.join(unknown)}")
    source = str(config or "options")
    out: dict[str, Any] = {
        "policy": load_policy(data.get("policy"), source),
        "apps": load_apps(data.get("apps"), source),
        "sources": load_sources(data.get("sources"), source),
    }
    for section, cls in _SECTIONS.items():
        values = dict(data.get(section, {}))
        values.update({k: v for k, v in overrides.get(section, {}).items() if v is not None})
        out[section] = build(cls, values, f"{config or 'options'} [{section}]")
    return out


def _run(fn: Callable[[], None]) -> None:
    """Run a command body, turning beaconhunt errors into a one-line message and exit code."""
    try:
        fn()
    except NoUsableInput as exc:
        _say(_err(), f"beaconhunt: {terminal_text(str(exc), 500)}")
        sys.exit(1)
    except ConfigError as exc:
        _say(_err(), f"beaconhunt: {terminal_text(str(exc), 500)}")
        sys.exit(2)
    except StoreError as exc:
        _say(_err(), f"beaconhunt: {terminal_text(str(exc), 500)}")
        sys.exit(3)
    except BeaconhuntError as exc:
        _say(_err(), f"beaconhunt: {terminal_text(str(exc), 500)}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say(_err(), "beaconhunt: interrupted")
        sys.exit(130)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="beaconhunt")
def main() -> None:
    """Find command-and-control beaconing in Zeek logs and explain each verdict."""


def _write(result: HuntResult, fmt: str, output: Path | None, limit: int) -> None:
    reporter = TableReporter(limit=limit) if fmt == "table" else REPORTERS[fmt]()
    if output is None:
        reporter.write(result.findings, sys.stdout)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as fh:
            reporter.write(result.findings, fh)
    except OSError as exc:
        raise ConfigError(f"--output {output}: {exc}") from exc


@dataclass
class _HuntArgs:
    """The options of ``beaconhunt hunt`` (and what ``demo`` passes)."""

    paths: tuple[Path, ...]
    internal: tuple[str, ...] = ()
    allowlist: Path | None = None
    assets: Path | None = None
    whois: Path | None = None
    intel: Path | None = None
    db: Path | None = None
    window: str | None = None
    fmt: str = "table"
    output: Path | None = None
    config: Path | None = None
    min_score: float | None = None
    limit: int | None = None
    cases: Path | None = None
    quiet: bool = False
    html: Path | None = None
    timings: bool = False


def _context(a: _HuntArgs, s: dict[str, Any]) -> Context:
    """Read every context file given; ConfigError names a malformed one."""
    return Context(
        allowlist=Allowlist.from_file(a.allowlist) if a.allowlist else Allowlist(),
        apps=s["apps"],
        assets=load_assets(a.assets) if a.assets else None,
        whois=load_whois(a.whois) if a.whois else None,
        intel=load_intel(a.intel) if a.intel else None,
    )


def _do_hunt(a: _HuntArgs) -> HuntResult:
    """Hunt as ``a`` says. ``--html`` without ``--db`` hunts into a temporary store,
    so the report has the pairs' connections to plot."""
    if a.html is None or a.db is not None:
        return _hunt_once(a)
    with tempfile.TemporaryDirectory(prefix="beaconhunt-") as tmp:
        return _hunt_once(replace(a, db=Path(tmp) / "hunt.duckdb"))


def _hunt_once(a: _HuntArgs) -> HuntResult:
    overrides = {"hunt": {"internal": list(a.internal) or None, "window": a.window,
                          "min_score": a.min_score, "limit": a.limit}}  # fmt: skip
    s = _settings(a.config, overrides)
    ctx = _context(a, s)
    if not a.quiet and ctx.intel is not None and ctx.intel.unsupported_patterns:
        _say(_err(), f"{terminal_text(str(a.intel), 200)}: {ctx.intel.unsupported_patterns}"
             " STIX indicator(s) skipped: revoked, or a pattern beaconhunt cannot match"
             " (file hashes, WITHIN qualifiers, broken syntax)", "warning")  # fmt: skip
    show_progress = not a.quiet and sys.stderr.isatty()
    with _progress(show_progress) as (on_progress, on_file):
        result = hunt(
            list(a.paths), s["hunt"], s["score"], s["decide"], s["filter"], db=a.db,
            progress=on_progress, on_file=on_file, context=ctx, evidence=s["evidence"],
            policy=s["policy"], sources=s["sources"], long_session=s["long_session"],
            dns=s["dns"],
        )  # fmt: skip
    if not a.quiet:
        _print_load_summary(result, _err())
    if a.timings:  # asked for: printed even with --quiet (the benchmark uses both)
        click.echo("seconds per stage:\n" + "\n".join(
            "  " + line for line in format_stages(result.seconds)), err=True)  # fmt: skip
    _write(result, a.fmt, a.output, s["hunt"].limit)
    if a.cases is not None:
        _write_cases(result, a)
    if a.html is not None and a.db is not None:
        from beaconhunt.cli_report import write_report

        write_report(a.db, a.html, result.run_id)
        if not a.quiet:
            _say(_err(), f"wrote the HTML report to {terminal_text(str(a.html), 300)}")
    return result


def _write_cases(result: HuntResult, a: _HuntArgs) -> None:
    """One Markdown case file per escalated finding in ``--cases DIR``."""
    from beaconhunt.cli_cases import write_cases
    from beaconhunt.model import Decision
    from beaconhunt.store.duckdb import DuckDBStore
    from beaconhunt.store.history import History

    escalated = [f for f in result.findings if f.decision is Decision.ESCALATE]
    assert a.cases is not None
    if a.db is None:
        written = write_cases(escalated, a.cases, None)
    else:
        store = DuckDBStore(a.db)
        try:
            written = write_cases(escalated, a.cases, History(store.con))
        finally:
            store.close()
    if not a.quiet:
        _say(_err(), f"wrote {len(written)} case file(s) to {terminal_text(str(a.cases), 200)}")


_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(REPORTERS)),
    default="table",
    show_default=True,
    help="Output format.",
)

_PATHS = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)


@main.command("hunt")
@_PATHS
@click.option("--internal", multiple=True, metavar="CIDR",
              help="Internal network (repeatable). Default: RFC 1918, loopback, link-local,"
                   " CGNAT, IPv6 ULA and link-local.")  # fmt: skip
@click.option(
    "--allowlist",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Approved destinations: one domain (covers subdomains), IP or CIDR per line.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the store in this DuckDB file; later runs add to it.",
)
@click.option(
    "--window",
    metavar="DURATION",
    help="Only analyse the last DURATION of the input (e.g. 24h, 90m).",
)
@_FORMAT
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write findings to FILE instead of standard output.",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML settings file (see `beaconhunt config --default`).",
)
@click.option(
    "--assets",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Asset inventory CSV: hostname, ip, role, owner, criticality.",
)
@click.option(
    "--whois",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Domain registration dates CSV: domain, created (for 'newly registered').",
)
@click.option(
    "--intel",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Threat intel: CSV (indicator, type, description), a plain list, or a STIX 2.1 bundle.",
)
@click.option(
    "--cases",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a Markdown case file for every escalated finding into DIR.",
)
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the self-contained HTML report to FILE (see `beaconhunt report`).",
)
@click.option("--min-score", type=float, help="Report pairs scoring at least this (0-1).")
@click.option("--limit", type=int, help="Rows in the terminal table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress, warnings or summary on stderr.")
@click.option(
    "--timings",
    is_flag=True,
    help="Print the seconds each stage took (load, group, detect...) on stderr.",
)
def hunt_cmd(paths: tuple[Path, ...], internal: tuple[str, ...], allowlist: Path | None,
             db: Path | None, window: str | None, fmt: str, output: Path | None,
             config: Path | None, assets: Path | None, whois: Path | None,
             intel: Path | None, cases: Path | None, html: Path | None,
             min_score: float | None, limit: int | None, quiet: bool,
             timings: bool) -> None:  # fmt: skip
    """Hunt for beacons in network and endpoint logs, investigate each and decide.

    PATHS are files or directories, each file recognised by its content: Zeek
    logs (TSV or JSON, gzip or not), Suricata eve.json, nfdump/flow CSV, Squid
    and W3C proxy logs, PAN-OS, Windows Firewall and netfilter logs, exports
    mapped by [[sources]] in --config, and Sysmon events (EVTX, evtx_dump,
    Winlogbeat or NXLog JSON). Context files are optional.
    """
    args = _HuntArgs(paths, internal, allowlist, assets, whois, intel, db, window, fmt,
                     output, config, min_score, limit, cases, quiet, html, timings)  # fmt: skip

    def body() -> None:
        _do_hunt(args)

    _run(body)


@main.command("config")
@click.option("--default", "show_default", is_flag=True, help="Print the commented default config.")
def config_cmd(show_default: bool) -> None:
    """Show the settings file format: every setting with its default and range, the
    decision policy and an application inventory example."""
    from beaconhunt.decide import default_policy_text

    click.echo(default_config_text(_SECTIONS), nl=False)
    click.echo(_APPS_EXAMPLE)
    click.echo(default_policy_text(), nl=False)


_APPS_EXAMPLE = """
# Application inventory: approved (process, destination) pairs. A finding whose
# process matches 'image' (a glob on the full path, any case, / or \\) and whose
# destination is one of 'destinations' (domains with subdomains, IPs, CIDRs)
# gets the evidence process.approved. Remove the leading '# ' to use it.
# [[apps]]
# name = "CrowdStrike Falcon sensor"
# image = 'C:\\Program Files\\CrowdStrike\\*'
# destinations = ["cloudsink.net"]
"""


@main.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the generated logs here (default: a temporary folder).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@click.option("--hosts", type=int, default=40, show_default=True, help="Internal hosts.")
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the HTML report (default: beaconhunt-demo.html in --out, else here).",
)
@_FORMAT
def demo_cmd(out_dir: Path | None, seed: int, hosts: int, html: Path | None, fmt: str) -> None:
    """Generate a synthetic day of Zeek and Sysmon logs with beacons hidden in it, and hunt it."""
    from beaconhunt.synth import Scenario, generate

    def body() -> None:
        with tempfile.TemporaryDirectory(prefix="beaconhunt-demo-") as tmp:
            target = out_dir or Path(tmp)
            report = html or (out_dir or Path.cwd()) / "beaconhunt-demo.html"
            err = _err()
            _say(err, f"generating a synthetic day for {hosts} hosts in {target} ...")
            summary = generate(target, Scenario(hosts=hosts, seed=seed), sysmon=True)
            _say(err, "hunting it with the asset inventory, allowlist, WHOIS dates and threat"
                      " intel written next to the logs:")  # fmt: skip
            result = _do_hunt(_HuntArgs(
                (target,), allowlist=_exists(target / "allowlist.txt"),
                assets=_exists(target / "assets.csv"), whois=_exists(target / "whois.csv"),
                intel=_exists(target / "intel.csv"), fmt=fmt, db=target / "hunt.duckdb",
                html=report,
            ))  # fmt: skip
            _print_demo_truth(summary, result, err)
            where = terminal_text(str(report.resolve()), 300)
            _say(err, f"\nthe HTML report of this day: {where} (open it in a browser)")
            if out_dir is not None:
                db = terminal_text(str(target / "hunt.duckdb"), 300)
                _say(err, f"triage it in the web UI: beaconhunt serve --db {db}")

    _run(body)


def _exists(path: Path) -> Path | None:
    return path if path.exists() else None


def _print_demo_truth(summary: Any, result: HuntResult, err: Console) -> None:
    """Say what the hunt decided for each hidden beacon and for the benign traffic,
    from the generator's ground truth, so the demo checks itself."""
    from beaconhunt.lab import load_labels, match, outcomes_by_kind

    found = {(f.src_ip, f.dst_domain or f.dst_ip): f for f in result.findings}
    _say(err, "\nbeacons hidden in this synthetic day, and what the hunt decided:")
    for b in summary.beacons:
        for host, ip in zip(b.hosts, b.src_ips, strict=True):
            f = found.get((ip, b.dst))
            state = (
                "not reported"
                if f is None
                else f"{f.decision.value} by rule {f.rule} (score {f.score:.2f})"
            )
            _say(err, f"  {b.family:<14} {host} ({ip}) -> {b.dst}:{b.dst_port}"
                      f" sleep {b.sleep:g}s jitter {b.jitter:.0%}: {state}")  # fmt: skip
    labels = summary.out_dir / "labels.csv"
    if not labels.exists():
        return
    kinds = outcomes_by_kind(match(result.findings, load_labels(labels)))
    _say(err, "\nbenign traffic (ground truth per kind: what the hunt decided):")
    for kind, c in sorted(kinds.items()):
        if kind in _IMPLANT_KINDS:
            continue
        parts = ", ".join(f"{n} {d}" for d, n in sorted(c.items()))
        _say(err, f"  {kind:<18} {parts}")


_IMPLANT_KINDS = frozenset({"cobalt_strike", "sliver", "havoc", "mythic", "meterpreter"})


from beaconhunt.cli_cases import case_cmd, decide_cmd, show_cmd  # noqa: E402
from beaconhunt.cli_report import report_cmd, serve_cmd  # noqa: E402

main.add_command(report_cmd)
main.add_command(serve_cmd)

main.add_command(decide_cmd)
main.add_command(case_cmd)
main.add_command(show_cmd)

from beaconhunt.cli_lab import evaluate_cmd, generate_cmd  # noqa: E402

main.add_command(generate_cmd)
main.add_command(evaluate_cmd)
