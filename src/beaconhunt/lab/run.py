"""Evaluate a folder: load its ``labels.csv``, hunt it, measure.

The hunt itself is passed in as a :data:`Hunter` (the CLI gives one that reads
the folder's context files and settings the way ``beaconhunt hunt`` does), so
the lab never depends on how a hunt is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from beaconhunt.enrich.context import AssetInventory, load_assets
from beaconhunt.errors import ConfigError
from beaconhunt.lab.labels import Label, load_labels
from beaconhunt.lab.metrics import Evaluation, measure
from beaconhunt.model import Finding

__all__ = ["LABELS_FILE", "HuntOutput", "Hunter", "evaluate_folder", "hosts_of"]

#: The ground-truth file a folder must hold to be evaluated.
LABELS_FILE = "labels.csv"
#: The asset inventory beside it, when there is one.
ASSETS_FILE = "assets.csv"


@dataclass(frozen=True, slots=True)
class HuntOutput:
    """What the lab needs from a hunt: the findings and the days the data covers."""

    findings: Sequence[Finding]
    days: float


#: Hunts a folder (logs and, optionally, context files beside them).
Hunter = Callable[[Path], HuntOutput]


def hosts_of(labels: Sequence[Label], assets: AssetInventory | None = None) -> int:
    """Hosts of the network: distinct source addresses of the labels (every host
    that made a connection), plus the inventory's hosts that made none (a laptop
    asleep all capture is still a host that could have been falsely escalated)."""
    ips = {lab.src_ip for lab in labels}
    if assets is not None:
        ips |= {a.ip for a in assets.assets}
    return len(ips)


def evaluate_folder(folder: Path, hunter: Hunter) -> Evaluation:
    """Hunt ``folder`` and score it against its ``labels.csv``; hosts are
    counted with its ``assets.csv`` when there is one (:func:`hosts_of`).

    Raises :class:`~beaconhunt.errors.ConfigError` when the folder has no
    labels file (what the hunt raises passes through).
    """
    path = folder / LABELS_FILE
    if not path.is_file():
        raise ConfigError(f"{folder}: no {LABELS_FILE} (ground truth) to evaluate against")
    labels = load_labels(path)
    inventory = folder / ASSETS_FILE
    assets = load_assets(inventory) if inventory.is_file() else None
    out = hunter(folder)
    return measure(out.findings, labels, hosts_of(labels, assets), out.days)
