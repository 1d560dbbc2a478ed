"""beaconhunt: find command-and-control beaconing in the logs you already have."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
