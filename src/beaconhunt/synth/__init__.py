"""Synthetic traffic: timing models of real implants and benign software, and
the generator that writes a day of telemetry in the formats beaconhunt reads.

``generate(out_dir, Scenario())`` writes Zeek ``conn``/``dns``/``ssl``/``http``
logs with hidden implants, ``labels.csv`` (ground truth) and the context files
(assets, allowlist, whois, intel). :mod:`beaconhunt.synth.timing` holds the
check-in timing models on their own.
"""

from beaconhunt.synth.generator import LOGS, GenerationSummary, generate
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.scenario import DEFAULT_START, FAMILIES, ImplantMix, Scenario
from beaconhunt.synth.zeek_writer import SCHEMAS, LogFormat

__all__ = [
    "DEFAULT_START",
    "FAMILIES",
    "LOGS",
    "SCHEMAS",
    "GenerationSummary",
    "HiddenBeacon",
    "ImplantMix",
    "LogFormat",
    "Scenario",
    "generate",
]
