"""Synthetic traffic: timing models of real implants and benign software, and
the generator that writes a day of telemetry in the formats beaconhunt reads.

``generate(out_dir, Scenario())`` writes Zeek ``conn``/``dns``/``ssl``/``http``
logs with hidden implants, ``labels.csv`` (ground truth) and the context files
(assets, allowlist, whois, intel); with ``sysmon=True`` also ``sysmon.json``,
Sysmon events of the workstations that agree with the Zeek logs (as
``evtx_dump`` JSON lines or Winlogbeat NDJSON). :mod:`beaconhunt.synth.timing`
holds the check-in timing models on their own. ``Scenario(shapes=True)`` adds
C2 that is not a train of short connections (DNS beacons and tunnels, long
interactive sessions, a session NetFlow splits) and its benign look-alikes
(:mod:`beaconhunt.synth.shapes`); ``generate`` then lists those implants after
the mix's in ``GenerationSummary.beacons``.
"""

from beaconhunt.synth.generator import LOGS, SYSMON_FILE, GenerationSummary, generate
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.processes import PRE_SYSMON
from beaconhunt.synth.scenario import DEFAULT_START, FAMILIES, ImplantMix, Scenario
from beaconhunt.synth.sysmon import MAX_SKEW
from beaconhunt.synth.sysmon_writer import SYSMON_FORMATS, SysmonFormat
from beaconhunt.synth.zeek_writer import SCHEMAS, LogFormat

__all__ = [
    "DEFAULT_START",
    "FAMILIES",
    "LOGS",
    "MAX_SKEW",
    "PRE_SYSMON",
    "SCHEMAS",
    "SYSMON_FILE",
    "SYSMON_FORMATS",
    "GenerationSummary",
    "HiddenBeacon",
    "ImplantMix",
    "LogFormat",
    "Scenario",
    "SysmonFormat",
    "generate",
]
