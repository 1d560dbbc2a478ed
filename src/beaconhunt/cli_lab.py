"""Detection-lab commands: generate labelled telemetry, measure a hunt against it.

Usage::

    beaconhunt generate lab/ --hosts 200 --days 2 --implants cobalt_strike=3,sliver=1
    beaconhunt evaluate lab/                    # hunt lab/ and score it against lab/labels.csv
    beaconhunt evaluate                         # the demo day (40 hosts, seed 7), generated
    beaconhunt evaluate --grid --out docs/accuracy   # the published detection-rate curves

The commands are registered on :data:`beaconhunt.cli.main` at the end of
``cli.py``; errors go through the same exit-code mapping (``cli._run``).
"""

from __future__ import annotations

import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from beaconhunt.errors import ConfigError
from beaconhunt.lab import (
    FULL_GRID,
    GRID_MIX,
    LABELS_FILE,
    QUICK_GRID,
    GridPoint,
    GridResult,
    Hunter,
    HuntOutput,
    evaluate_folder,
    grid_points,
    point_scenario,
    run_grid,
)
from beaconhunt.lab.render import (
    evaluation_json,
    evaluation_text,
    grid_json,
    grid_markdown,
    grid_text,
    knob_value,
)
from beaconhunt.synth import (
    FAMILIES,
    GenerationSummary,
    ImplantMix,
    LogFormat,
    Scenario,
    generate,
)
from beaconhunt.synth.render import NETWORK_FORMATS

__all__ = ["evaluate_cmd", "folder_hunter", "generate_cmd", "parse_implants"]

#: Context files ``generate`` writes next to the logs, by ``hunt`` option name.
CONTEXT_FILES = {
    "allowlist": "allowlist.txt",
    "assets": "assets.csv",
    "whois": "whois.csv",
    "intel": "intel.csv",
}
_GRID_FILE = "accuracy-grid.md"


def _run_body(body: Callable[[], None]) -> None:
    """Run ``body`` through the CLI's error-to-exit-code mapping (imported late: no cycle)."""
    from beaconhunt.cli import _run

    _run(body)


def parse_implants(text: str) -> ImplantMix:
    """``cobalt_strike=2,sliver=1`` -> an ImplantMix; families not named get 0.

    ``all=N`` sets every family (later items override it) and ``none`` hides no
    implant. Raises :class:`~beaconhunt.errors.ConfigError` on an unknown family
    or a count that is not a whole number >= 0.
    """
    counts = dict.fromkeys(FAMILIES, 0)
    for item in (p.strip() for p in text.split(",")):
        if item in ("", "none"):
            continue
        name, sep, value = item.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or (name not in counts and name != "all"):
            raise ConfigError(
                f"--implants: {item!r} is not FAMILY=N (families: {', '.join(FAMILIES)}, all)"
            )
        try:
            n = int(value)
        except ValueError:
            n = -1
        if n < 0:
            raise ConfigError(f"--implants: {name} needs a whole number >= 0 (got {value!r})")
        for family in FAMILIES if name == "all" else (name,):
            counts[family] = n
    return ImplantMix(**counts)


@dataclass(frozen=True)
class _ScenarioArgs:
    """The generator options shared by ``generate`` and ``evaluate``."""

    hosts: int | None
    days: float | None
    seed: int
    implants: str | None
    sleep: float | None
    jitter: float | None
    loss: float | None
    sysmon: bool
    zoo: bool = False
    shapes: bool = False

    def scenario(self) -> Scenario:
        """The Scenario these options describe (defaults: the demo day)."""
        mix = ImplantMix() if self.implants is None else parse_implants(self.implants)
        return Scenario(
            hosts=40 if self.hosts is None else self.hosts,
            days=1.0 if self.days is None else self.days,
            seed=self.seed,
            implants=mix,
            sleep=self.sleep,
            jitter=None if self.jitter is None else self.jitter / 100.0,
            loss=None if self.loss is None else self.loss / 100.0,
            zoo=self.zoo,
            shapes=self.shapes,
        )


def _scenario_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The generator options, in the order --help lists them."""
    options = [
        click.option("--hosts", type=int, help="Internal hosts, 5 of them servers [default: 40]."),
        click.option("--days", type=float, help="Days of traffic, may be fractional [default: 1]."),
        click.option("--seed", type=int, default=7, show_default=True, help="Random seed."),
        click.option(
            "--implants",
            metavar="FAMILY=N,...",
            help="Implants to hide, e.g. cobalt_strike=2,sliver=1 (families not named: 0;"
            " all=N; none). Families: " + ", ".join(FAMILIES) + "."
            " [default: one of each; --grid: two of each]",
        ),
        click.option(
            "--sleep",
            type=float,
            metavar="SECONDS",
            help="Force every implant's sleep (default: each family's own).",
        ),
        click.option(
            "--jitter",
            type=click.FloatRange(0, 100, max_open=True),
            metavar="PERCENT",
            help="Force every implant's jitter, % of the sleep (Meterpreter has none).",
        ),
        click.option(
            "--loss",
            type=click.FloatRange(0, 100, max_open=True),
            metavar="PERCENT",
            help="Force every implant's share of missed check-ins, %.",
        ),
        click.option(
            "--sysmon/--no-sysmon",
            default=True,
            show_default=True,
            help="Also write Sysmon events of the infected and a few clean workstations.",
        ),
        click.option(
            "--zoo/--no-zoo",
            default=False,
            show_default=True,
            help="Add the benign zoo: 42 kinds of periodic software timed from their"
            " documentation (docs/benign.md), more servers, printers and IoT devices.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@_scenario_options
@click.option(
    "--shapes/--no-shapes",
    default=False,
    show_default=True,
    help="Add C2 that is not a train of short connections (DNS beacons and tunnels, long"
    " interactive sessions, a session NetFlow splits) and their benign look-alikes"
    " (needs 7 more free workstations; see beaconhunt.synth.shapes).",
)
@click.option(
    "--format",
    "log_format",
    type=click.Choice(["tsv", "json"]),
    default="tsv",
    show_default=True,
    help="Zeek log format: TSV (Zeek's default) or JSON lines.",
)
@click.option(
    "--gzip",
    "rotate",
    is_flag=True,
    help="Write Zeek's hourly gzip archives in per-day folders, not one file per log.",
)
@click.option(
    "--network",
    "network_format",
    type=click.Choice(["zeek", *NETWORK_FORMATS]),
    default="zeek",
    show_default=True,
    help="Write the network traffic as this product's logs instead of Zeek's"
    " (the same simulated connections; see docs/formats.md).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into OUT_DIR even if it is not empty (files of the same name are replaced,"
    " others stay and will be hunted too).",
)
def generate_cmd(
    out_dir: Path,
    log_format: str,
    rotate: bool,
    network_format: str,
    force: bool,
    **options: Any,
) -> None:
    """Write a synthetic enterprise capture with hidden implants to OUT_DIR.

    Zeek conn/dns/ssl/http logs (or, with --network, the same traffic as
    Suricata, nfdump, Squid, W3C, PAN-OS, Windows Firewall or netfilter logs),
    Sysmon JSON, the context files (assets.csv, allowlist.txt, whois.csv,
    intel.csv) and labels.csv, the ground truth per source/destination pair
    that `beaconhunt evaluate` scores against.
    """
    args = _ScenarioArgs(**options)

    def body() -> None:
        s = args.scenario()
        click.echo(
            f"generating {s.days:g} day(s) of traffic for {s.hosts} hosts (seed {s.seed})"
            f" in {out_dir} ...",
            err=True,
        )
        fmt: LogFormat = "json" if log_format == "json" else "tsv"
        if not force and out_dir.is_dir() and any(out_dir.iterdir()):
            raise ConfigError(
                f"{out_dir} is not empty: logs left there from another run would be hunted"
                " and scored too; choose a new folder or give --force"
            )
        if network_format != "zeek" and (rotate or log_format != "tsv"):
            raise ConfigError(
                "--format and --gzip describe Zeek logs; leave them out with --network"
            )
        summary = generate(
            out_dir,
            s,
            log_format=fmt,
            rotate=rotate,
            sysmon=args.sysmon,
            network_format=network_format,
        )
        click.echo(_summary_text(summary, network_format), nl=False)

    _run_body(body)


def _summary_text(g: GenerationSummary, network_format: str = "zeek") -> str:
    """What was written and which implants are hidden, for the terminal."""
    logs = ", ".join(f"{k} {v:,}" for k, v in g.counts.items() if k != "labels")
    traffic = (
        f"  Zeek records: {logs}"
        if network_format == "zeek"
        else f"  {network_format} logs of the simulated traffic (as Zeek: {logs})"
    )
    lines = [
        f"wrote {len(g.paths)} files to {g.out_dir} in {g.seconds:.1f} s",
        traffic,
        f"  labels.csv: {g.counts['labels']:,} labelled pairs (ground truth)",
        "  context: " + ", ".join(CONTEXT_FILES.values()),
    ]
    if g.sysmon_path is not None:
        events = ", ".join(f"event {k} {v:,}" for k, v in g.sysmon_counts.items())
        lines.append(f"  {g.sysmon_path.name}: {events} on {len(g.sysmon_hosts)} hosts")
    lines.append(f"hidden implants ({len(g.beacons)}):")
    for b in g.beacons:
        hosts = ", ".join(f"{h} ({ip})" for h, ip in zip(b.hosts, b.src_ips, strict=True))
        lines.append(
            f"  {b.family:<13} {hosts} -> {b.dst}:{b.dst_port} sleep {b.sleep:g}s"
            f" jitter {b.jitter:.0%} loss {b.loss:.0%}, {b.connections:,} connections;"
            f" {'; '.join(b.notes)}"
        )
    return "\n".join(lines) + "\n"


def folder_hunter(config: Path | None = None, context: bool = True) -> Hunter:
    """A :data:`~beaconhunt.lab.Hunter` that hunts a folder as ``beaconhunt hunt DIR``
    would with the folder's context files (when ``context`` and present) and ``config``."""
    from beaconhunt.cli import _context, _HuntArgs, _settings
    from beaconhunt.pipeline import hunt

    settings = _settings(config, {})

    def run(folder: Path) -> HuntOutput:
        files = {k: folder / v for k, v in CONTEXT_FILES.items()} if context else {}
        present = {k: p if p.is_file() else None for k, p in files.items()}
        a = _HuntArgs(
            (folder,),
            allowlist=present.get("allowlist"),
            assets=present.get("assets"),
            whois=present.get("whois"),
            intel=present.get("intel"),
            config=config,
            quiet=True,
        )
        s = settings
        result = hunt(
            list(a.paths),
            s["hunt"],
            s["score"],
            s["decide"],
            s["filter"],
            context=_context(a, s),
            evidence=s["evidence"],
            policy=s["policy"],
            sources=s["sources"],
            long_session=s["long_session"],
            dns=s["dns"],
        )
        start, end = result.span or (0.0, 0.0)
        return HuntOutput(result.findings, (end - start) / 86400.0)

    return run


@click.command("evaluate")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@_scenario_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Output format of the metrics.",
)
@click.option(
    "--grid",
    is_flag=True,
    help="Sweep jitter 0-90%, sleep 1 s-4 h and loss 0-40% over generated captures.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --grid: write the curves (PNG) and accuracy-grid.md into DIR.",
)
@click.option(
    "--seeds",
    type=click.IntRange(1, 100),
    help="With --grid: captures per grid point [default: 4, --quick 2].",
)
@click.option(
    "--quick",
    is_flag=True,
    help="With --grid: 3 values per sweep, 2 seeds (1-2 minutes), for trying it.",
)
@click.option(
    "--context/--no-context",
    default=True,
    show_default=True,
    help="Hunt with the folder's context files (assets, allowlist, WHOIS, intel).",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML settings file to hunt with (measure a change before it lands).",
)
def evaluate_cmd(
    directory: Path | None,
    fmt: str,
    grid: bool,
    out_dir: Path | None,
    seeds: int | None,
    quick: bool,
    context: bool,
    config: Path | None,
    **options: Any,
) -> None:
    """Hunt labelled data and measure recall, false escalations, precision, process
    attribution and ranking, overall and by implant family, jitter, sleep and loss.

    DIRECTORY is a folder with logs and a labels.csv (as `beaconhunt generate`
    writes); without it, a capture is generated first (default: the demo day).
    """
    args = _ScenarioArgs(**options)

    def body() -> None:
        _check_evaluate_options(directory, args, grid, out_dir, seeds, quick)
        hunter = folder_hunter(config, context)
        if grid:
            _evaluate_grid(hunter, args, fmt, out_dir, seeds, quick)
            return
        if directory is not None:
            _print_evaluation(directory, hunter, fmt)
            return
        with tempfile.TemporaryDirectory(prefix="beaconhunt-evaluate-") as tmp:
            s = args.scenario()
            click.echo(
                f"generating {s.days:g} day(s) for {s.hosts} hosts (seed {s.seed}) and"
                " hunting it ...",
                err=True,
            )
            generate(Path(tmp), s, sysmon=args.sysmon)
            _print_evaluation(Path(tmp), hunter, fmt)

    _run_body(body)


def _check_evaluate_options(
    directory: Path | None,
    args: _ScenarioArgs,
    grid: bool,
    out_dir: Path | None,
    seeds: int | None,
    quick: bool,
) -> None:
    """Options that make no sense together are an error (exit 2), not silently ignored."""
    generating = [
        n
        for n in ("hosts", "days", "implants", "sleep", "jitter", "loss")
        if getattr(args, n) is not None
    ]
    if directory is not None and (generating or grid):
        what = "--grid" if grid else f"--{generating[0]}"
        raise ConfigError(f"{what} generates data; it cannot be combined with DIRECTORY")
    if directory is not None and (directory / LABELS_FILE).is_file() is False:
        raise ConfigError(f"{directory}: no {LABELS_FILE} (ground truth) to evaluate against")
    if not grid:
        for name, given in (("--out", out_dir), ("--seeds", seeds), ("--quick", quick or None)):
            if given is not None:
                raise ConfigError(f"{name} goes with --grid")
        return
    for name in ("days", "sleep", "jitter", "loss"):
        if getattr(args, name) is not None:
            raise ConfigError(f"--grid sets --{name} itself at every point; leave it out")


def _print_evaluation(folder: Path, hunter: Hunter, fmt: str) -> None:
    ev = evaluate_folder(folder, hunter)
    if fmt == "json":
        click.echo(evaluation_json(ev), nl=False)
    else:
        click.echo(evaluation_text(ev, markdown=fmt == "markdown"), nl=False)


def _evaluate_grid(
    hunter: Hunter,
    args: _ScenarioArgs,
    fmt: str,
    out_dir: Path | None,
    seeds: int | None,
    quick: bool,
) -> None:
    """Run the grid, print its tables, and with ``--out`` write the plots and Markdown."""
    mix = GRID_MIX if args.implants is None else parse_implants(args.implants)
    n_seeds = seeds if seeds is not None else (2 if quick else 4)
    if out_dir is not None:
        from beaconhunt.lab.plots import require_plotting

        require_plotting()
    grid = QUICK_GRID if quick else FULL_GRID
    hosts = 40 if args.hosts is None else args.hosts
    for p in grid_points(grid):  # a scenario that cannot be built fails now, not midway
        point_scenario(p, args.seed, hosts, mix)
    started = time.perf_counter()
    measured = _measured()  # the code that runs: commit and tree as the grid starts

    def progress(i: int, total: int, p: GridPoint, seed: int) -> None:
        click.echo(
            f"[{i}/{total}] {p.knob} {knob_value(p.knob, p.value)}, seed {seed},"
            f" {p.days:g} day(s) ({time.perf_counter() - started:.0f} s)",
            err=True,
        )

    result = run_grid(
        hunter,
        grid,
        seeds=tuple(range(args.seed, args.seed + n_seeds)),
        hosts=hosts,
        mix=mix,
        sysmon=args.sysmon,
        progress=progress,
    )
    if out_dir is not None:
        _write_grid(result, out_dir, measured)
    if fmt == "json":
        click.echo(grid_json(result), nl=False)
    else:
        click.echo(grid_text(result, markdown=fmt == "markdown"), nl=False)
    click.echo(
        f"grid: {len(result.points)} points x {len(result.seeds)} seed(s) in"
        f" {result.seconds / 60:.1f} min",
        err=True,
    )


def _write_grid(result: GridResult, out_dir: Path, measured: str) -> None:
    """The PNG curves and accuracy-grid.md (with the command, date, machine and commit)."""
    from beaconhunt.lab.plots import plot_name, write_plots

    paths = write_plots(result, out_dir)
    images = {k: plot_name(k) for k in result.knobs}
    text = grid_markdown(result, command=_command_line(), measured=measured, images=images)
    target = out_dir / _GRID_FILE
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from exc
    names = ", ".join(p.name for p in [*paths, target])
    click.echo(f"wrote {names} to {out_dir}", err=True)


def _command_line() -> str:
    """The running command with the options given on the command line, in
    declaration order (``beaconhunt evaluate --grid --out docs/accuracy``)."""
    ctx = click.get_current_context()
    words = ["beaconhunt", ctx.info_name or ctx.command.name or ""]
    for param in ctx.command.params:
        name = param.name or ""
        given = ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
        if not given or name == "fmt":  # the output format changes no number
            continue
        value = ctx.params[name]
        if not isinstance(param, click.Option):
            words.append(str(value))
        elif param.is_flag:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            words += [param.opts[0], str(value)]
    return " ".join(words)


def _measured() -> str:
    """``on 2026-11-03 (UTC), Linux x86_64 with 2 CPUs, Python 3.11, commit abc1234``."""
    import os

    when = datetime.now(UTC).strftime("%Y-%m-%d")
    machine = f"{platform.system()} {platform.machine()} with {os.cpu_count()} CPUs"
    py = ".".join(platform.python_version_tuple()[:2])
    return f"on {when} (UTC), {machine}, Python {py}{_commit()}"


def _commit() -> str:
    """``, commit abc1234`` (``+ local changes`` when the tree differs), or "" outside git."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            check=True,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            check=True,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f", commit {head}" + (" + local changes" if dirty else "") if head else ""
