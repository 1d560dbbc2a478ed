"""The detection lab: measure how well a hunt finds the implants of labelled data.

* :mod:`~beaconhunt.lab.labels` reads ``labels.csv`` (ground truth per pair)
  and matches findings to it;
* :mod:`~beaconhunt.lab.metrics` the metrics, each a pure function (recall
  escalated and found, false escalations per 1,000 host-days, precision,
  process attribution, average precision) and :func:`measure`;
* :mod:`~beaconhunt.lab.breakdown` recall by family, jitter, sleep and loss;
* :mod:`~beaconhunt.lab.run` evaluates a folder with a given hunt;
* :mod:`~beaconhunt.lab.grid` sweeps jitter, sleep and loss over generated
  captures; :mod:`~beaconhunt.lab.plots` draws the curves (matplotlib, optional)
  and :mod:`~beaconhunt.lab.render` prints tables (text, Markdown, JSON).

``beaconhunt evaluate`` (:mod:`beaconhunt.cli_lab`) puts them together; the
published numbers are in ``docs/accuracy.md``.
"""

from beaconhunt.lab.breakdown import BREAKDOWNS, FAMILY_ORDER, Bins, Group, breakdown, breakdowns
from beaconhunt.lab.grid import (
    BASE,
    FULL_GRID,
    GRID_MIX,
    QUICK_GRID,
    GridPoint,
    GridResult,
    PointResult,
    Sweep,
    capture_days,
    grid_points,
    point_scenario,
    run_grid,
)
from beaconhunt.lab.labels import (
    IMPLANT_KINDS,
    REQUIRED_COLUMNS,
    Label,
    LabelIndex,
    Outcome,
    finding_key,
    load_labels,
    match,
    outcomes_by_kind,
)
from beaconhunt.lab.metrics import (
    Evaluation,
    Metrics,
    attribution_accuracy,
    average_precision,
    false_escalation_rate,
    measure,
    precision,
    rank_groups,
    ratio,
    recall,
)
from beaconhunt.lab.run import LABELS_FILE, Hunter, HuntOutput, evaluate_folder, hosts_of

__all__ = [
    "BASE",
    "BREAKDOWNS",
    "FAMILY_ORDER",
    "FULL_GRID",
    "GRID_MIX",
    "IMPLANT_KINDS",
    "LABELS_FILE",
    "QUICK_GRID",
    "REQUIRED_COLUMNS",
    "Bins",
    "Evaluation",
    "GridPoint",
    "GridResult",
    "Group",
    "HuntOutput",
    "Hunter",
    "Label",
    "LabelIndex",
    "Metrics",
    "Outcome",
    "PointResult",
    "Sweep",
    "attribution_accuracy",
    "average_precision",
    "breakdown",
    "breakdowns",
    "capture_days",
    "evaluate_folder",
    "false_escalation_rate",
    "finding_key",
    "grid_points",
    "hosts_of",
    "load_labels",
    "match",
    "measure",
    "outcomes_by_kind",
    "point_scenario",
    "precision",
    "rank_groups",
    "ratio",
    "recall",
    "run_grid",
]
