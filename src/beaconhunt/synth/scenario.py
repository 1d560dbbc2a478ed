"""What a synthetic day looks like: the :class:`Scenario` settings.

A scenario fixes the size of the enterprise (hosts, days), the clock (start,
time zone, working hours), the seed, and the traffic mix: how many implants of
each family are hidden, whether benign pollers, internal traffic and browsing
are present, and optional overrides of every implant's sleep, jitter and loss
(the knobs the detection lab sweeps). Everything else is derived from the seed,
so the same scenario always produces the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from beaconhunt.errors import ConfigError

__all__ = ["DEFAULT_START", "FAMILIES", "SERVER_COUNT", "SHAPE_HOSTS", "ImplantMix", "Scenario"]

#: Tuesday 2026-11-03 00:00:00 UTC: a working day, so the default demo has office hours.
DEFAULT_START = datetime(2026, 11, 3, tzinfo=UTC).timestamp()

#: Implant families, in the order they are placed on hosts.
FAMILIES = ("cobalt_strike", "sliver", "havoc", "mythic", "meterpreter")

#: Fixed servers of the synthetic enterprise (DC/DNS, file, database, app, web).
SERVER_COUNT = 5
#: Workstations ``Scenario.shapes`` infects besides the implant mix (DNS beacon,
#: dnscat2, iodine, perimeter DNS beacon, two interactive sessions, the NetFlow split).
SHAPE_HOSTS = 7


@dataclass(frozen=True, slots=True)
class ImplantMix:
    """How many implants of each family are hidden (0 leaves a family out).

    The first Mythic implant is the *campaign*: it runs on
    ``Scenario.campaign_hosts`` hosts that all call the same server, so one
    Mythic implant may mean several infected hosts.
    """

    cobalt_strike: int = 1
    sliver: int = 1
    havoc: int = 1
    mythic: int = 1
    meterpreter: int = 1

    @classmethod
    def none(cls) -> ImplantMix:
        """No implants at all (a clean network, for false-positive studies)."""
        return cls(0, 0, 0, 0, 0)

    def counts(self) -> dict[str, int]:
        """Family name -> number of implants, in :data:`FAMILIES` order."""
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    @property
    def total(self) -> int:
        """Number of implants (a campaign counts once)."""
        return sum(self.counts().values())


@dataclass(frozen=True, slots=True)
class Scenario:
    """Settings of one synthetic capture.

    ``hosts`` includes the :data:`SERVER_COUNT` servers; the rest are
    workstations (about 40% of them laptops that sleep at night). ``days`` may be
    fractional for quick tests. ``browsing`` scales browsing sessions (0 turns
    browsing off). ``sleep`` / ``jitter`` / ``loss``, when set, override every
    implant's defaults; ``jitter`` is always a fraction of the sleep (Sliver's
    jitter in seconds is ``jitter * sleep``; Meterpreter has no jitter knob).
    ``sysmon_hosts`` is how many clean workstations carry Sysmon besides the
    infected ones (used when :func:`~beaconhunt.synth.generate` writes Sysmon
    telemetry; capped at the clean workstations there are).
    """

    hosts: int = 40
    days: float = 1.0
    start: float = DEFAULT_START
    seed: int = 7
    implants: ImplantMix = field(default_factory=ImplantMix)
    campaign_hosts: int = 3
    benign_pollers: bool = True
    streaming_users: int = 3
    browsing: float = 1.0
    internal: bool = True
    sleep: float | None = None
    jitter: float | None = None
    loss: float | None = None
    utc_offset_h: float = 0.0
    work_start_h: float = 8.0
    work_end_h: float = 18.0
    sysmon_hosts: int = 3
    #: add the benign zoo (:mod:`beaconhunt.synth.zoo`): 42 kinds of documented
    #: periodic software, more servers and a few printers and IoT devices
    zoo: bool = False
    #: add C2 that is not a train of short connections and its benign look-alikes
    #: (:mod:`beaconhunt.synth.shapes`): DNS beacons and tunnels, long-lived
    #: interactive sessions, a session NetFlow splits; a mail gateway and an admin
    #: workstation join the world and seven more workstations are infected
    shapes: bool = False

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise ConfigError(f"invalid scenario: {problem}")

    @property
    def end(self) -> float:
        """Epoch seconds where the capture stops (exclusive)."""
        return self.start + self.days * 86400.0

    @property
    def workstations(self) -> int:
        """Number of workstations (hosts minus the fixed servers)."""
        return self.hosts - SERVER_COUNT

    @property
    def infected_hosts(self) -> int:
        """Distinct hosts that carry an implant."""
        mix = self.implants
        campaign = self.campaign_hosts - 1 if mix.mythic else 0
        return mix.total + campaign

    @classmethod
    def small(cls, seed: int = 1, hours: float = 6.0) -> Scenario:
        """A quick scenario for tests: 12 hosts over ``hours`` from 06:00, all families."""
        return cls(
            hosts=12,
            days=hours / 24.0,
            start=DEFAULT_START + 6 * 3600.0,
            seed=seed,
            campaign_hosts=2,
            streaming_users=1,
        )


def _problems(s: Scenario) -> list[str]:
    """Every violated constraint of ``s``, as sentences (empty when valid)."""
    out: list[str] = []
    if s.hosts < SERVER_COUNT + 2:
        out.append(f"hosts must be at least {SERVER_COUNT + 2} (got {s.hosts})")
    if not (math.isfinite(s.days) and 0 < s.days <= 31):
        out.append(f"days must be in (0, 31] (got {s.days})")
    if not math.isfinite(s.start) or s.start < 0:
        out.append(f"start must be a non-negative epoch (got {s.start})")
    if any(n < 0 for n in s.implants.counts().values()):
        out.append("implant counts must be >= 0")
    if s.campaign_hosts < 1:
        out.append(f"campaign_hosts must be >= 1 (got {s.campaign_hosts})")
    if s.streaming_users < 0 or s.browsing < 0:
        out.append("streaming_users and browsing must be >= 0")
    if s.sysmon_hosts < 0:
        out.append(f"sysmon_hosts must be >= 0 (got {s.sysmon_hosts})")
    out.extend(_override_problems(s))
    if not 0 <= s.work_start_h < s.work_end_h <= 24:
        out.append("working hours must satisfy 0 <= work_start_h < work_end_h <= 24")
    if not out and s.infected_hosts > s.workstations:
        need = s.infected_hosts
        out.append(f"{need} infected hosts need more than {s.workstations} workstations")
    if not out and s.shapes and s.infected_hosts + SHAPE_HOSTS > s.workstations:
        need = s.infected_hosts + SHAPE_HOSTS
        out.append(
            f"{need} infected hosts (with {SHAPE_HOSTS} for shapes) need more than"
            f" {s.workstations} workstations"
        )
    return out


def _override_problems(s: Scenario) -> list[str]:
    """Range checks of the implant overrides."""
    out: list[str] = []
    if s.sleep is not None and not (math.isfinite(s.sleep) and s.sleep >= 1.0):
        out.append(f"sleep must be >= 1 second (got {s.sleep})")
    if s.jitter is not None and not 0 <= s.jitter < 1:
        out.append(f"jitter must be in [0, 1) (got {s.jitter})")
    if s.loss is not None and not 0 <= s.loss < 1:
        out.append(f"loss must be in [0, 1) (got {s.loss})")
    return out
