"""docs/policy.md is tested: its evidence-code table is generated from EVIDENCE_CODES,
its example configs load, and it explains every default rule.

Regenerate the table after adding a code: ``python tests/decide/test_policy_docs.py``.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from beaconhunt.decide import EVIDENCE_CODES, Policy, class_of, load_policy
from beaconhunt.errors import ConfigError
from beaconhunt.model import PIVOTS, pivot_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
START, END = "<!-- evidence-codes:start -->", "<!-- evidence-codes:end -->"


def codes_table() -> str:
    """The Markdown table of every evidence code, grouped by pivot in investigation order."""
    rows = ["| code | pivot | class | meaning |", "|---|---|---|---|"]
    for pivot in PIVOTS:
        for code, meaning in EVIDENCE_CODES.items():
            if pivot_of(code) == pivot:
                cell = meaning.replace("|", "\\|")
                rows.append(f"| `{code}` | {pivot} | {class_of(code)} | {cell} |")
    return "\n".join(rows)


def _with_table(doc: str) -> str:
    head, rest = doc.split(START, 1)
    return f"{head}{START}\n{codes_table()}\n{END}{rest.split(END, 1)[1]}"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_code_table_is_generated_from_the_registry(doc: str) -> None:
    assert doc == _with_table(doc), "run: python tests/decide/test_policy_docs.py"


@pytest.mark.parametrize("code", list(EVIDENCE_CODES))
def test_every_code_is_documented(doc: str, code: str) -> None:
    assert f"| `{code}` | {pivot_of(code)} | {class_of(code)} |" in doc


@pytest.mark.parametrize("name", [r.name for r in Policy.default().rules])
def test_every_default_rule_is_explained(doc: str, name: str) -> None:
    assert re.search(rf"^### \d+\. `{re.escape(name)}`", doc, re.M), name


def test_example_configs_load(doc: str) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        data = tomllib.loads(block)
        if "policy" in data:
            assert load_policy(data["policy"], "docs/policy.md").rules


def test_error_example_is_the_real_message(doc: str) -> None:
    rules = [{"name": n, "decision": "close", "reason": "x"} for n in ("a", "b")]
    rules.append({"name": "edr-on-servers", "decision": "close", "reason": "x",
                  "when": ["dest.yung_domain"]})  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_policy({"rules": rules}, "cfg.toml")
    assert f"\n{info.value}\n" in doc


if __name__ == "__main__":
    DOC.write_text(_with_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
