"""Per-chunk gradient metrics, checked against answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rnnbow_widget import metrics

# A 3-step chunk. Rows are source losses t, columns time steps j.
#   t=0: local 4
#   t=1: 2 at j=0, local 8
#   t=2: 0.01 at j=0, 1 at j=1, local 10
HAND = np.array(
    [
        [4.0, 0.0, 0.0],
        [2.0, 8.0, 0.0],
        [0.01, 1.0, 10.0],
    ]
)


def test_step_totals_sum_each_column_over_sources_at_or_after_the_step():
    # j=0: 4 + 2 + 0.01; j=1: 8 + 1; j=2: 10
    np.testing.assert_allclose(metrics.step_totals(HAND), [6.01, 9.0, 10.0])


def test_step_totals_ignore_entries_above_the_diagonal():
    polluted = HAND.copy()
    polluted[0, 2] = 100.0  # j > t: no gradient flows backward to the future
    np.testing.assert_allclose(metrics.step_totals(polluted), [6.01, 9.0, 10.0])


def test_max_and_mean_gradient_are_the_tallest_and_average_bar():
    assert metrics.max_gradient(HAND) == pytest.approx(10.0)
    assert metrics.mean_gradient(HAND) == pytest.approx((6.01 + 9.0 + 10.0) / 3)


def test_effective_horizon_weights_each_distance_by_its_mass():
    # distance 1: 2 (t=1,j=0) + 1 (t=2,j=1); distance 2: 0.01 (t=2,j=0); total 25.01
    expected = (2.0 * 1 + 1.0 * 1 + 0.01 * 2) / 25.01
    assert metrics.effective_horizon(HAND) == pytest.approx(expected)


def test_effective_horizon_is_zero_for_purely_local_or_empty_gradients():
    assert metrics.effective_horizon(np.diag([1.0, 2.0, 3.0])) == 0.0
    assert metrics.effective_horizon(np.zeros((4, 4))) == 0.0


def test_reach_is_the_mean_of_the_farthest_distance_above_one_percent_of_local():
    # t=0: 0. t=1: 2 >= 0.08 -> 1. t=2: threshold 0.1: j=0 has 0.01 (no), j=1 has 1 -> 1.
    assert metrics.reach(HAND) == pytest.approx((0 + 1 + 1) / 3)


def test_reach_counts_the_farthest_strong_step_even_past_a_weak_gap():
    m = np.zeros((3, 3))
    m[2] = [0.5, 0.0, 1.0]  # nothing at distance 1, but 50% at distance 2
    m[0, 0] = m[1, 1] = 1.0
    assert metrics.reach(m) == pytest.approx((0 + 0 + 2) / 3)


def test_reach_fraction_sets_the_threshold():
    # With a 20% threshold, t=1 (2 >= 1.6) still reaches 1, t=2 (1 < 2) reaches 0.
    assert metrics.reach(HAND, fraction=0.2) == pytest.approx((0 + 1 + 0) / 3)


def test_reach_skips_sources_without_a_local_gradient():
    m = np.array([[0.0, 0.0], [5.0, 0.0]])  # no source has a local term
    assert metrics.reach(m) == 0.0
    m[0, 0] = 1.0  # only source 0 counts, and it reaches 0
    assert metrics.reach(m) == 0.0
    m[1, 1] = 1.0  # now source 1 counts too, reaching 1
    assert metrics.reach(m) == pytest.approx(0.5)


def test_summarize_matches_the_single_metric_functions():
    summary = metrics.summarize(HAND)
    assert summary == {
        "max_gradient": pytest.approx(10.0),
        "mean_gradient": pytest.approx(25.01 / 3),
        "effective_horizon": pytest.approx(3.02 / 25.01),
        "reach": pytest.approx(2 / 3),
    }


def test_metrics_accept_float32_and_nested_lists():
    assert metrics.max_gradient(HAND.astype(np.float32)) == pytest.approx(10.0)
    assert metrics.reach(HAND.tolist()) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.ones(3), r"square \(n, n\) array, got shape \(3,\)"),
        (np.ones((2, 3)), r"square \(n, n\) array, got shape \(2, 3\)"),
        (np.ones((0, 0)), r"non-empty"),
        (np.array([[1.0, 0.0], [-1.0, 1.0]]), r"must be >= 0.*minimum of -1"),
    ],
)
def test_bad_magnitudes_raise_value_error_naming_the_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        metrics.summarize(bad)


def test_non_numeric_magnitudes_raise_type_error():
    with pytest.raises(TypeError, match="magnitudes must hold real numbers, got dtype <U1"):
        metrics.step_totals(np.array([["a"]]))


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_reach_rejects_a_fraction_outside_zero_to_one(fraction):
    with pytest.raises(ValueError, match=rf"fraction must be in \(0, 1\], got {fraction}"):
        metrics.reach(HAND, fraction=fraction)


def test_reach_rejects_a_non_number_fraction():
    with pytest.raises(TypeError, match="fraction must be a number in \\(0, 1\\], got str"):
        metrics.reach(HAND, fraction="1%")


def _geometric(n: int, ratio: float) -> np.ndarray:
    t = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    return np.where(j <= t, ratio ** (t - j).astype(float), 0.0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 30), ratio=st.floats(0.05, 0.95))
def test_reach_of_a_geometric_decay_is_log_threshold_over_log_ratio_capped_by_t(n, ratio):
    exact = math.log(0.01) / math.log(ratio)
    assume(abs(exact - round(exact)) > 1e-6)  # stay clear of ties at the threshold
    farthest = math.floor(exact)
    expected = sum(min(t, farthest) for t in range(n)) / n
    assert metrics.reach(_geometric(n, ratio)) == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), scale=st.floats(1e-30, 1e30))
def test_effective_horizon_and_reach_do_not_depend_on_the_overall_scale(n, scale):
    m = _geometric(n, 0.5)
    assert metrics.effective_horizon(m * scale) == pytest.approx(metrics.effective_horizon(m))
    assert metrics.reach(m * scale) == pytest.approx(metrics.reach(m))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_effective_horizon_lies_between_zero_and_the_longest_distance(n, seed):
    m = np.tril(np.random.default_rng(seed).random((n, n)))
    horizon = metrics.effective_horizon(m)
    assert 0.0 <= horizon <= n - 1
    assert 0.0 <= metrics.reach(m) <= n - 1
    np.testing.assert_allclose(metrics.step_totals(m).sum(), m.sum())


def _reach_by_hand(m: np.ndarray, fraction: float) -> float:
    """The definition, one source at a time, on the lower triangle only."""
    reaches = []
    for t in range(len(m)):
        if m[t, t] > 0:
            strong = [d for d in range(t + 1) if m[t, t - d] >= fraction * m[t, t]]
            reaches.append(max(strong))
    return sum(reaches) / len(reaches) if reaches else 0.0


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1), fraction=st.floats(1e-3, 1.0))
def test_reach_matches_its_definition_whatever_lies_above_the_diagonal(n, seed, fraction):
    rng = np.random.default_rng(seed)
    m = rng.lognormal(0, 30, (n, n)) * (rng.random((n, n)) < 0.7)  # zeros, tiny and huge
    m[np.diag_indices(n)] *= rng.random(n) < 0.8  # some sources without a local term
    assert metrics.reach(m, fraction) == _reach_by_hand(m, fraction)
    assert metrics.summarize(m, fraction)["reach"] == _reach_by_hand(m, fraction)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 6), n=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_summarize_many_gives_each_chunk_its_own_numbers_whatever_it_is_stacked_with(k, n, seed):
    rng = np.random.default_rng(seed)
    m = rng.lognormal(0, 10, (k, n, n)) * (rng.random((k, n, n)) < 0.7)
    many = metrics.summarize_many(m)
    for i in range(k):
        alone = metrics.summarize_many(m[i : i + 1])
        for name, values in many.items():
            assert values[i] == alone[name][0], name  # bit for bit: a row of its own
        single = metrics.summarize(m[i])
        assert single["reach"] == _reach_by_hand(m[i], 0.01)
        lower = np.tril(m[i])
        assert single["max_gradient"] == pytest.approx(lower.sum(axis=0).max(), rel=1e-12)
        assert single["mean_gradient"] == pytest.approx(lower.sum() / n, rel=1e-12)
        distances = np.subtract.outer(np.arange(n), np.arange(n))
        expected = (lower * distances).sum() / lower.sum() if lower.sum() else 0.0
        assert single["effective_horizon"] == pytest.approx(expected, rel=1e-12)
