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

__all__ = [
    "DecideSettings",
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

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class DecideSettings:
    """How a score becomes a decision until context rules refine it (section ``[decide]``)."""

    escalate_at: float = setting(0.85, "Score from which a pair is escalated.", min=0.0, max=1.0)
    monitor_at: float = setting(0.7, "Score from which a pair is monitored.", min=0.0, max=1.0)

    def __post_init__(self) -> None:
        validate(self)
        if self.monitor_at > self.escalate_at:
            raise ConfigError(
                f"monitor_at ({self.monitor_at}) must not exceed escalate_at ({self.escalate_at})"
            )


def load_config(path: Path | None) -> dict[str, dict[str, Any]]:
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
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: '{section}' must be a [section]")
    return data


def build(cls: type[Any], values: dict[str, Any], source: str) -> Any:
    """Instantiate settings ``cls`` from a dict, rejecting unknown names."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


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
