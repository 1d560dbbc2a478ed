"""The lab's metrics: hand-computed cases (arithmetic in the comments) and properties."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lab_helpers import CLO, ESC, MON, finding, label

from beaconhunt.lab import (
    Label,
    attribution_accuracy,
    average_precision,
    false_escalation_rate,
    measure,
    precision,
    rank_groups,
    ratio,
    recall,
)
from beaconhunt.model import Finding


def test_ratios_and_their_empty_cases() -> None:
    assert recall(3, 4) == 0.75
    assert recall(0, 4) == 0.0
    assert math.isnan(recall(0, 0))  # no implant: nothing to recall
    assert precision(2, 8) == 0.25
    assert math.isnan(precision(0, 0))  # nothing escalated: precision not measurable
    assert ratio(1, 2) == 0.5
    assert math.isnan(ratio(0, 0))


@pytest.mark.parametrize(
    ("false", "hosts", "days", "expected"),
    [
        (1, 40, 1.0, 25.0),  # 1 × 1000 / (40 × 1) = 25
        (0, 40, 1.0, 0.0),
        (3, 200, 0.5, 30.0),  # 3 × 1000 / (200 × 0.5) = 30
        (2, 4, 0.25, 2000.0),  # 2 × 1000 / (4 × 0.25) = 2000
    ],
)
def test_false_escalation_rate(false: int, hosts: int, days: float, expected: float) -> None:
    assert false_escalation_rate(false, hosts, days) == pytest.approx(expected)


def test_false_escalation_rate_without_observation_time_is_nan() -> None:
    assert math.isnan(false_escalation_rate(0, 0, 1.0))
    assert math.isnan(false_escalation_rate(1, 10, 0.0))


def test_attribution_compares_case_insensitively_and_skips_unknown() -> None:
    ps = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    pairs = [
        (ps.upper(), ps),  # right, other case
        (r"C:\Windows\System32\rundll32.exe", ps),  # wrong
        (None, ps),  # unknown process: left out
        (ps, ""),  # label does not say: left out
    ]
    assert attribution_accuracy(pairs) == (0.5, 1, 2)
    share, correct, known = attribution_accuracy([(None, ps)])
    assert math.isnan(share) and (correct, known) == (0, 0)


@pytest.mark.parametrize(
    ("groups", "n", "expected"),
    [
        # no ties: R N R, N = 2: (1/1 + 2/3) / 2
        ([(1, 1), (1, 0), (1, 1)], 2, (1 + 2 / 3) / 2),
        # a relevant item never ranked adds 0: R, N = 2: 1/2
        ([(1, 1)], 2, 0.5),
        # non-relevant first: N R, N = 1: 1/2
        ([(1, 0), (1, 1)], 1, 0.5),
        # a tie of 2 holding 1 relevant: the mean of R N (1) and N R (1/2) = 0.75
        ([(2, 1)], 1, 0.75),
        # a tie of 3 holding 2: RRN 1, RNR (1 + 2/3)/2, NRR (1/2 + 2/3)/2; mean 0.8056
        ([(3, 2)], 2, (1 + (1 + 2 / 3) / 2 + (1 / 2 + 2 / 3) / 2) / 3),
        # the tie after an item: N, then (R R tied) -> 1/2 and 2/3 whatever their order
        ([(1, 0), (2, 2)], 2, (1 / 2 + 2 / 3) / 2),
        # no findings at all, 3 implants: 0
        ([], 3, 0.0),
        # everything relevant and ranked first: 1
        ([(1, 1), (1, 1), (5, 0)], 2, 1.0),
    ],
)
def test_average_precision(groups: list[tuple[int, int]], n: int, expected: float) -> None:
    assert average_precision(groups, n) == pytest.approx(expected)


def test_average_precision_edge_cases() -> None:
    assert math.isnan(average_precision([(3, 0)], 0))  # no implant: not measurable
    with pytest.raises(ValueError, match="cannot hold"):
        average_precision([(1, 2)], 2)
    with pytest.raises(ValueError, match="n_relevant"):
        average_precision([(2, 2)], 1)


def test_rank_groups_orders_by_decision_then_score_and_groups_ties() -> None:
    items = [
        (CLO, 0.9, True),
        (ESC, 0.5, False),
        (ESC, 0.8, True),
        (ESC, 0.8, False),  # ties with the one above
        (MON, 0.99, True),
    ]
    # escalate 0.8 (2 items, 1 relevant), escalate 0.5, monitor 0.99, close 0.9
    assert rank_groups(items) == [(2, 1), (1, 0), (1, 1), (1, 1)]
    assert rank_groups([]) == []


def _world() -> tuple[list[Label], list[Finding]]:
    ps = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    labels = [
        label("10.0.0.1", "c2.example", "cobalt_strike", process=ps, sleep=60, jitter=0.4),
        label("10.0.0.2", "192.0.2.9", "sliver", port=8888, process=r"C:\x\a.exe", sleep=60),
        label("10.0.0.3", "c3.example", "havoc", sleep=30, jitter=0.2),
        label("10.0.0.1", "edr.example", "edr_checkin"),
        label("10.0.0.2", "site.example", "browsing"),
    ]
    findings = [
        finding("10.0.0.1", "C2.example", decision=ESC, score=0.95, image=ps.upper()),
        finding("10.0.0.2", "192.0.2.9", 8888, MON, 0.8, r"C:\y\b.exe", by_ip=True),
        finding("10.0.0.1", "edr.example", decision=ESC, score=0.9),
        finding("10.0.0.9", "x.example", decision=ESC, score=0.7),  # matches no label
        finding("10.0.0.2", "site.example", decision=CLO, score=0.3),
    ]
    return labels, findings


def test_measure_by_hand() -> None:
    labels, findings = _world()
    ev = measure(findings, labels, hosts=4, days=0.5)
    m = ev.metrics
    # implants A (escalated), B (monitored), C (not reported)
    assert (m.implant_pairs, m.benign_pairs, m.findings) == (3, 2, 5)
    assert m.recall_escalated == pytest.approx(1 / 3)
    assert m.recall_found == pytest.approx(2 / 3)
    # escalated: A, the EDR pair, the unlabelled pair -> 2 false, precision 1/3
    assert (m.escalated, m.false_escalations) == (3, 2)
    assert m.precision == pytest.approx(1 / 3)
    assert m.false_escalations_per_1000_host_days == pytest.approx(1000.0)  # 2000 / (4 × 0.5)
    assert ev.false_kinds == {"edr_checkin": 1, "unlabelled": 1}
    # A's process is right (other case), B's is wrong
    assert (m.attribution_accuracy, m.attributed_correctly, m.attributed) == (0.5, 1, 2)
    # ranking: A(R) edr x | B(R) | site -> relevant at 1 and 4: (1/1 + 2/4) / 3 = 0.5
    assert m.average_precision == pytest.approx(0.5)
    fam = {g.value: (g.implant_pairs, g.escalated, g.found) for g in ev.breakdowns["family"]}
    assert fam == {"cobalt_strike": (1, 1, 1), "sliver": (1, 0, 1), "havoc": (1, 0, 0)}
    jit = {g.value: g.implant_pairs for g in ev.breakdowns["jitter"]}
    assert jit == {"10-30%": 1, "30-50%": 1, "unknown": 1}


def test_measure_without_implants_or_findings() -> None:
    labels, findings = _world()
    benign = [lab for lab in labels if not lab.implant]
    m = measure(findings, benign, hosts=4, days=1.0).metrics
    assert m.implant_pairs == 0
    assert math.isnan(m.recall_escalated) and math.isnan(m.average_precision)
    assert m.precision == 0.0  # 2 escalated, both false
    m = measure([], labels, hosts=4, days=1.0).metrics
    assert (m.recall_escalated, m.recall_found, m.average_precision) == (0.0, 0.0, 0.0)
    assert math.isnan(m.precision) and m.false_escalations_per_1000_host_days == 0.0
    assert math.isnan(m.attribution_accuracy)


def test_measure_keeps_the_best_ranked_finding_of_a_pair() -> None:
    labels, _ = _world()
    dup = [
        finding("10.0.0.1", "c2.example", decision=CLO, score=0.99),
        finding("10.0.0.1", "c2.example", decision=ESC, score=0.7),
    ]
    m = measure(dup, labels, hosts=4, days=1.0).metrics
    assert (m.findings, m.implants_escalated, m.false_escalations) == (1, 1, 0)


_DECISIONS = st.sampled_from([ESC, MON, CLO])


@given(
    st.lists(st.tuples(_DECISIONS, st.sampled_from([0.3, 0.6, 0.9, 1.0]), st.booleans())),
    st.integers(0, 5),
    st.randoms(use_true_random=False),
)
def test_average_precision_is_a_rate_and_ignores_input_order(
    items: list[tuple[object, float, bool]], extra: int, rnd: random.Random
) -> None:
    n = sum(r for *_, r in items) + extra
    ap = average_precision(rank_groups(items), n)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    if n == 0:
        assert math.isnan(ap)
        return
    assert 0.0 <= ap <= 1.0 + 1e-12
    assert average_precision(rank_groups(shuffled), n) == pytest.approx(ap)


@given(st.randoms(use_true_random=False))
def test_measure_does_not_depend_on_finding_order(rnd: random.Random) -> None:
    labels, findings = _world()
    shuffled = list(findings)
    rnd.shuffle(shuffled)
    a = measure(findings, labels, 4, 0.5).metrics
    b = measure(shuffled, labels, 4, 0.5).metrics
    assert a == b


def test_a_finding_without_a_name_is_matched_by_address() -> None:
    """Firewall and flow logs key findings by address: the label whose dst_ip it is counts it,
    the implant's when several labels share the address (a CDN edge)."""
    cdn = "198.51.100.7"
    labels = [
        Label("10.0.0.5", "news.example", 443, "browsing", "close", addresses=frozenset({cdn})),
        Label(
            "10.0.0.5", "c2.example", 443, "cobalt_strike", "escalate", addresses=frozenset({cdn})
        ),
        Label("10.0.0.6", "news.example", 443, "browsing", "close", addresses=frozenset({cdn})),
    ]
    findings = [
        finding("10.0.0.5", cdn, by_ip=True),  # the implant, seen by address
        finding("10.0.0.6", cdn, decision=MON, score=0.4, by_ip=True),
        finding("10.0.0.5", cdn, port=8443, by_ip=True),  # no label on that port
    ]
    ev = measure(findings, labels, hosts=2, days=1.0)
    decided = {(o.label.src_ip, o.label.dst): o.decided for o in ev.outcomes}
    assert decided == {("10.0.0.5", "news.example"): "not reported",
                       ("10.0.0.5", "c2.example"): "escalate",
                       ("10.0.0.6", "news.example"): "monitor"}  # fmt: skip
    m = ev.metrics
    assert (m.implants_found, m.implants_escalated) == (1, 1)
    assert m.false_escalations == 1 and ev.false_kinds == {"unlabelled": 1}
    # a named finding of the same pair is the same pair: counted once
    named = finding("10.0.0.5", "c2.example")
    assert measure([*findings, named], labels, hosts=2, days=1.0).metrics.findings == 3
