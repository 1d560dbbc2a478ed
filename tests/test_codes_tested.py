"""Every evidence code the policy can name is asserted on by at least one test."""

from __future__ import annotations

from pathlib import Path

from beaconhunt.decide import EVIDENCE_CODES

TESTS = Path(__file__).resolve().parent
#: codes that only this file and the registry mention do not count as tested
_SELF = Path(__file__).resolve()


def test_every_evidence_code_appears_in_a_test() -> None:
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in TESTS.rglob("*.py")
        if p.resolve() != _SELF and "decide" not in p.parts
    )
    missing = sorted(c for c in EVIDENCE_CODES if f'"{c}"' not in text and f"'{c}'" not in text)
    assert not missing, f"evidence codes no test outside tests/decide asserts on: {missing}"
