"""Settings, declared once: name, default, help text and allowed range.

Every setting lives in a frozen dataclass whose fields carry their help text
and range in ``metadata``; a TOML file (``--config``) may override any of
them, section by section, and the command line overrides the file. The
commented default file (``beaconhunt config --default``) is generated from the
same declarations, so documentation and code cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from beaconhunt.enrich.network import DEFAULT_INTERNAL
from beaconhunt.errors import ConfigError
from beaconhunt.workhours import WorkHours

__all__ = [
    "DecideSettings",
    "EvidenceSettings",
    "HuntSettings",
    "default_config_text",
    "load_config",
    "setting",
    "validate",
]


def setting(default: Any, help: str, min: float | None = None, max: float | None = None) -> Any:
    """A dataclass field with its help text and range, for declaring settings."""
    meta = {"help": help, "min": min, "max": max}
    if isinstance(default, list | tuple | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def validate(obj: object) -> None:
    """Check every numeric field of a settings dataclass against its declared range."""
    assert dataclasses.is_dataclass(obj)
    for f in fields(obj):
        v = getattr(obj, f.name)
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if isinstance(v, int | float) and not isinstance(v, bool):
            if lo is not None and v < lo:
                raise ConfigError(f"{f.name} = {v} is below its minimum {lo}")
            if hi is not None and v > hi:
                raise ConfigError(f"{f.name} = {v} is above its maximum {hi}")


@dataclass(frozen=True)
class HuntSettings:
    """What to read and which connections count (section ``[hunt]``)."""

    internal: list[str] = setting(  # noqa: RUF009 - returns a field(), like dataclasses.field
        list(DEFAULT_INTERNAL),
        "Internal networks (CIDR). Sources must be internal and destinations external;"
        " internal-to-internal traffic is skipped.",
    )
    min_connections: int = setting(
        6, "Fewest connections a pair needs to be scored at all.", min=3, max=1_000_000
    )
    min_score: float = setting(
        0.5, "Pairs scoring below this are not reported (table, ndjson, csv).", min=0.0, max=1.0
    )
    window: str = setting(
        "", "Only analyse the last DURATION of the input, e.g. '24h', '90m' (empty: all)."
    )
    limit: int = setting(25, "Rows shown in the terminal table.", min=1, max=100_000)
    attribution_tolerance: float = setting(
        10.0,
        "Seconds a Sysmon network event may differ from the network log's connection"
        " start and still describe it (clock skew between sensor and endpoint).",
        min=0.0,
        max=3600.0,
    )
    max_line_bytes: int = setting(
        1 << 20,
        "Longest input line read, in bytes (characters): a longer one is skipped and"
        " reported with its file and line, in every format, without being held in memory.",
        min=1 << 16,
        max=1 << 30,
    )

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class DecideSettings:
    """Beacon-score bands the decision policy reads (section ``[decide]``)."""

    regular_at: float = setting(
        0.7,
        "Score from which a pair counts as a regular beacon (evidence beacon.regular;"
        " below it: beacon.weak).",
        min=0.0,
        max=1.0,
    )
    strong_at: float = setting(
        0.85, "Score from which a pair is a strong beacon (evidence beacon.strong).", 0.0, 1.0
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.regular_at > self.strong_at:
            raise ConfigError(
                f"regular_at ({self.regular_at}) must not exceed strong_at ({self.strong_at})"
            )


@dataclass(frozen=True)
class EvidenceSettings:
    """Thresholds of the investigation pivots (section ``[evidence]``)."""

    prevalence_min_hosts: int = setting(
        10,
        "Internal hosts the input must show before a destination is judged rare or common"
        " (a capture of one host makes everything rare).",
        1,
        1_000_000,
    )
    rare_max_hosts: int = setting(
        3, "A destination contacted by at most this many internal hosts is rare.", 1, 1_000_000
    )
    rare_max_share: float = setting(
        0.01,
        "... or by at most this share of the internal hosts seen (whichever is larger).",
        0.0,
        1.0,
    )
    common_min_hosts: int = setting(
        5, "A destination needs at least this many hosts to be common.", 1, 1_000_000
    )
    common_min_share: float = setting(
        0.2, "... and at least this share of the internal hosts seen.", 0.0, 1.0
    )
    young_domain_days: float = setting(
        30.0,
        "A registered domain younger than this (WHOIS, at the time of the traffic) is young.",
        0.0,
        36_500.0,
    )
    established_domain_days: float = setting(
        365.0, "A registered domain at least this old is established.", 0.0, 36_500.0
    )
    baseline_days: float = setting(
        2.0,
        "History (--db) without a destination needed before it counts as newly observed.",
        0.0,
        3650.0,
    )
    known_days: float = setting(
        7.0,
        "History (--db) a destination must span, present from its start, to count as known.",
        0.0,
        3650.0,
    )
    low_volume_bytes: int = setting(
        65_536, "Median bytes per connection (out + in) up to which volume is low.", 0, 10**12
    )
    work_hours: str = setting("08:00-18:00", "Working hours, local time (HH:MM-HH:MM).")
    work_days: str = setting("mon-fri", "Working days: a range ('mon-fri') or a list ('mon,tue').")
    timezone: str = setting(
        "UTC", "Time zone of the working hours (IANA name, e.g. Europe/Berlin)."
    )
    off_hours_share: float = setting(
        0.5,
        "Share of a workstation's check-ins outside working hours from which they are reported.",
        0.0,
        1.0,
    )
    lateral_interval_tolerance: float = setting(
        0.1,
        "Relative difference of median intervals within which two hosts' beacons of the"
        " same process image count as the same implant.",
        0.0,
        1.0,
    )

    def __post_init__(self) -> None:
        validate(self)
        self.hours()

    def hours(self) -> WorkHours:
        """The parsed working hours (ConfigError when malformed)."""
        return WorkHours.parse(self.work_hours, self.work_days, self.timezone)


def load_config(path: Path | None) -> dict[str, Any]:
    """Read a TOML settings file into ``{section: {name: value}}`` (empty without a path)."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    for section, values in data.items():
        if section in ("apps", "sources"):
            if not isinstance(values, list):
                raise ConfigError(f"{path}: '{section}' must be an array of tables ([[{section}]])")
        elif not isinstance(values, dict):
            raise ConfigError(f"{path}: '{section}' must be a [section]")
    return data


def build(cls: type[Any], values: dict[str, Any], source: str) -> Any:
    """Instantiate settings ``cls`` from a dict, rejecting unknown names."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    for f in fields(cls):
        if f.name in values:
            _check_type(f.name, values[f.name], _default_of(f), source)
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    except ConfigError as exc:
        if str(exc).startswith(source):
            raise
        raise ConfigError(f"{source}: {exc}") from exc


def _default_of(f: Any) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _check_type(name: str, value: Any, default: Any, source: str) -> None:
    """A setting must have its default's type (an integer is a fine float; a bool is
    neither): a config error naming file, section and key, never a traceback later."""
    if default is None:
        return
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        want = "a number"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, list | tuple):
        ok, want = isinstance(value, list), "a list"
    else:
        return
    if not ok:
        raise ConfigError(f"{source}: {name} must be {want}, not {value!r}")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def default_config_text(sections: dict[str, type[Any]]) -> str:
    """The commented default TOML file for the given ``{section: settings class}``."""
    lines = ["# beaconhunt settings. Every value shown is the default.", ""]
    for section, cls in sections.items():
        lines.append(f"[{section}]")
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"# {doc}")
        inst = cls()
        for f in fields(cls):
            help_text = f.metadata.get("help", "")
            rng = ""
            if f.metadata.get("min") is not None or f.metadata.get("max") is not None:
                rng = f" Range: {f.metadata.get('min')} .. {f.metadata.get('max')}."
            lines.append(f"# {help_text}{rng}")
            lines.append(f"{f.name} = {_toml_value(getattr(inst, f.name))}")
        lines.append("")
    return "\n".join(lines)
