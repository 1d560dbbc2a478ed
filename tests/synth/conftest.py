"""Fixtures for the synthetic-traffic tests: small captures generated once per session."""

from __future__ import annotations

import pytest
from synth_helpers import ZeekTsv, read_log

from beaconhunt.synth import GenerationSummary, Scenario, generate


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    return Scenario.small(seed=3)


@pytest.fixture(scope="session")
def small_tsv(
    tmp_path_factory: pytest.TempPathFactory, small_scenario: Scenario
) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("tsv"), small_scenario)


@pytest.fixture(scope="session")
def small_logs(small_tsv: GenerationSummary) -> dict[str, ZeekTsv]:
    return {
        name: read_log(small_tsv.out_dir / f"{name}.log")
        for name in small_tsv.counts
        if name != "labels"
    }


@pytest.fixture(scope="session")
def small_rotated(
    tmp_path_factory: pytest.TempPathFactory, small_scenario: Scenario
) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("rotated"), small_scenario, rotate=True)


@pytest.fixture(scope="session")
def small_json(
    tmp_path_factory: pytest.TempPathFactory, small_scenario: Scenario
) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("json"), small_scenario, log_format="json")
