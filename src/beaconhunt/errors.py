"""The one exception tree of beaconhunt.

Only :mod:`beaconhunt.cli` turns these into exit codes and messages; everything
else raises them (or, for per-line problems, records them as
:class:`InputProblem` and carries on).

::

    BeaconhuntError
    ├── ConfigError           bad option, setting or context file
    ├── InputError            an input path cannot be used at all
    │   ├── ParseError        one line or record is malformed (carries file:line)
    │   └── NoUsableInput     nothing usable was read from any input
    └── StoreError            the DuckDB store cannot be opened or written
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BeaconhuntError",
    "ConfigError",
    "InputError",
    "InputProblem",
    "NoUsableInput",
    "ParseError",
    "StoreError",
]


class BeaconhuntError(Exception):
    """Root of every error beaconhunt raises on purpose."""


class ConfigError(BeaconhuntError):
    """A setting, option or context file (allowlist, CIDR...) is invalid."""


class InputError(BeaconhuntError):
    """An input path cannot be read at all (missing, unreadable, unknown format)."""


class ParseError(InputError):
    """One record is malformed; ``file`` and ``line`` say where (line is 1-based)."""

    def __init__(self, message: str, file: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class NoUsableInput(InputError):
    """Every input was empty, broken or of an unknown kind."""


class StoreError(BeaconhuntError):
    """The DuckDB store could not be opened, created or written."""


@dataclass(frozen=True, slots=True)
class InputProblem:
    """A problem found while reading input that did not stop the run.

    ``line`` is 1-based, or ``None`` when the problem concerns the whole file.
    ``skipped`` counts the lines (records) this problem made the reader skip.
    """

    file: str
    line: int | None
    message: str
    skipped: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        extra = f" ({self.skipped} line(s) skipped)" if self.skipped else ""
        return f"{where}: {self.message}{extra}"
