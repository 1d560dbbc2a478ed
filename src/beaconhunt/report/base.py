"""Reporters turn findings into output; they only read findings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import IO

from beaconhunt.model import Finding

__all__ = ["Reporter"]


class Reporter(ABC):
    """Writes findings to a text stream."""

    @abstractmethod
    def write(self, findings: list[Finding], out: IO[str]) -> None:
        """Write every finding in ``findings`` (already sorted) to ``out``."""
