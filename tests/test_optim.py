"""Optimizers update in place by their textbook formulas; clipping bounds and reports."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnnbow_widget.optim import (
    SGD,
    Adagrad,
    Adam,
    ClipReport,
    clip_gradients,
    global_norm,
    make_optimizer,
)


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}


def _grad_sequence(rng: np.random.Generator, steps: int) -> list[dict[str, np.ndarray]]:
    return [_params(rng) for _ in range(steps)]


def test_adagrad_follows_min_char_rnn_update_over_several_steps():
    rng = np.random.default_rng(0)
    params = _params(rng)
    grads_seq = _grad_sequence(rng, 4)
    expected = {k: v.copy() for k, v in params.items()}
    memory = {k: np.zeros_like(v) for k, v in params.items()}
    for grads in grads_seq:  # min-char-rnn: mem += d*d; p += -lr * d / sqrt(mem + 1e-8)
        for k in expected:
            memory[k] += grads[k] * grads[k]
            expected[k] += -0.1 * grads[k] / np.sqrt(memory[k] + 1e-8)
    opt = Adagrad(params, learning_rate=0.1)
    for grads in grads_seq:
        opt.update(params, grads)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12, atol=1e-14)
    assert opt.updates == 4


def test_sgd_subtracts_learning_rate_times_gradient():
    params = {"w": np.array([1.0, -2.0, 0.5])}
    SGD(params, learning_rate=0.25).update(params, {"w": np.array([4.0, 4.0, -2.0])})
    np.testing.assert_array_equal(params["w"], [0.0, -3.0, 1.0])


def test_sgd_momentum_accumulates_velocity():
    params = {"w": np.array([0.0])}
    opt = SGD(params, learning_rate=1.0, momentum=0.5)
    opt.update(params, {"w": np.array([2.0])})  # v = 2, w = -2
    opt.update(params, {"w": np.array([2.0])})  # v = 0.5 * 2 + 2 = 3, w = -5
    np.testing.assert_array_equal(params["w"], [-5.0])


def test_adam_matches_bias_corrected_textbook_formula():
    rng = np.random.default_rng(1)
    params = _params(rng)
    grads_seq = _grad_sequence(rng, 5)
    expected = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(val) for k, val in params.items()}
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t, grads in enumerate(grads_seq, start=1):
        for k in expected:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            expected[k] -= lr * m_hat / (np.sqrt(v_hat) + eps)
    opt = Adam(params, learning_rate=lr)
    for grads in grads_seq:
        opt.update(params, grads)
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["adagrad", "sgd", "adam"])
def test_update_is_in_place_and_leaves_gradients_alone(name):
    rng = np.random.default_rng(2)
    params = _params(rng)
    arrays_before = {k: id(v) for k, v in params.items()}
    values_before = {k: v.copy() for k, v in params.items()}
    grads = _params(rng)
    grads_before = {k: v.copy() for k, v in grads.items()}
    make_optimizer(name, 0.1, params).update(params, grads)
    assert {k: id(v) for k, v in params.items()} == arrays_before
    for k in params:
        assert not np.array_equal(params[k], values_before[k])
        np.testing.assert_array_equal(grads[k], grads_before[k])


@pytest.mark.parametrize(("name", "cls"), [("adagrad", Adagrad), ("sgd", SGD), ("adam", Adam)])
def test_make_optimizer_builds_the_named_class(name, cls):
    opt = make_optimizer(name, 0.05, {"w": np.zeros(2)})
    assert type(opt) is cls
    assert opt.learning_rate == 0.05


def test_make_optimizer_rejects_unknown_name_listing_choices():
    with pytest.raises(
        ValueError, match=r"optimizer must be one of \('adagrad', 'sgd', 'adam'\), got 'rmsprop'"
    ):
        make_optimizer("rmsprop", 0.1, {"w": np.zeros(2)})


def test_make_optimizer_rejects_non_string_name():
    with pytest.raises(TypeError, match=r"optimizer must be a str.*got 3"):
        make_optimizer(3, 0.1, {"w": np.zeros(2)})


@pytest.mark.parametrize("bad", [0, -0.1, math.nan, math.inf])
def test_learning_rate_must_be_finite_and_positive(bad):
    with pytest.raises(ValueError, match=f"learning_rate must be a finite number > 0, got {bad!r}"):
        make_optimizer("adagrad", bad, {"w": np.zeros(2)})


def test_learning_rate_must_be_a_number():
    with pytest.raises(
        TypeError, match=re.escape("learning_rate must be a positive number, got '0.1'")
    ):
        Adagrad({"w": np.zeros(2)}, learning_rate="0.1")


def test_global_norm_is_the_norm_of_all_entries_together():
    grads = {"a": np.array([[3.0, 0.0]]), "b": np.array([0.0, 4.0]), "c": np.array([12.0])}
    assert global_norm(grads) == 13.0


def test_global_norm_of_a_long_vector_sums_every_block():
    values = np.arange(1, 30_001, dtype=np.float64)  # longer than one block of 10,000
    expected = math.sqrt(30_000 * 30_001 * 60_001 / 6)  # sum of squares 1..N
    assert global_norm({"theta": values}) == pytest.approx(expected, rel=1e-14)


def test_elementwise_clipping_bounds_entries_and_reports_norm_before():
    grads = {"a": np.array([6.0, -8.0]), "b": np.array([1.0])}
    report = clip_gradients(grads, clip=5.0)
    np.testing.assert_array_equal(grads["a"], [5.0, -5.0])
    np.testing.assert_array_equal(grads["b"], [1.0])
    assert report == ClipReport(grad_norm=math.sqrt(101.0), clipped=True)


def test_clipping_that_changes_nothing_reports_not_clipped():
    # Norm 10 exceeds clip 5, yet every entry is within [-5, 5]: nothing to clip.
    grads = {"a": np.full(100, -1.0)}
    report = clip_gradients(grads, clip=5.0)
    assert report == ClipReport(grad_norm=10.0, clipped=False)
    np.testing.assert_array_equal(grads["a"], np.full(100, -1.0))


def test_clip_none_disables_elementwise_clipping():
    grads = {"a": np.array([60.0, -80.0])}
    report = clip_gradients(grads, clip=None)
    assert report == ClipReport(grad_norm=100.0, clipped=False)
    np.testing.assert_array_equal(grads["a"], [60.0, -80.0])


def test_norm_clipping_rescales_to_the_bound_keeping_direction():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([-4.0])}
    report = clip_gradients(grads, clip=None, clip_norm=1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [-0.8])
    assert report == ClipReport(grad_norm=5.0, clipped=True)


def test_norm_clipping_applies_after_elementwise_clipping():
    grads = {"a": np.array([30.0, 40.0])}
    report = clip_gradients(grads, clip=3.0, clip_norm=3.0)
    # element-wise -> [3, 3] (norm 4.243), then scaled to norm 3 -> [2.1213, 2.1213]
    np.testing.assert_allclose(grads["a"], [3 / math.sqrt(2)] * 2)
    assert report.grad_norm == 50.0
    assert report.clipped


@pytest.mark.parametrize("name", ["clip", "clip_norm"])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_clip_bounds_must_be_positive(name, bad):
    with pytest.raises(ValueError, match=f"{name} must be a finite number > 0, got {bad!r}"):
        clip_gradients({"a": np.ones(2)}, **{name: bad})


def test_clip_bound_must_be_a_number_or_none():
    with pytest.raises(TypeError, match="clip must be a positive number or None, got '5'"):
        clip_gradients({"a": np.ones(2)}, clip="5")


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e6, 1e6)),
    clip=st.floats(0.01, 100.0),
    clip_norm=st.floats(0.01, 100.0),
)
def test_clipping_always_respects_both_bounds(values, clip, clip_norm):
    grads = {"a": values.copy()}
    report = clip_gradients(grads, clip=clip, clip_norm=clip_norm)
    assert np.abs(grads["a"]).max() <= clip * (1 + 1e-12)
    assert global_norm(grads) <= clip_norm * (1 + 1e-9)
    assert report.grad_norm == pytest.approx(float(np.linalg.norm(values)), rel=1e-12)
    assert report.clipped == (not np.array_equal(grads["a"], values))


# ------------------------------------------------------------------ step sizes
@settings(max_examples=80, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    memory=st.lists(st.floats(0.0, 1e30), min_size=6, max_size=6),
    grads=st.lists(
        st.floats(-1e15, 1e15, allow_subnormal=True).filter(lambda g: g == g),
        min_size=6,
        max_size=6,
    ),
    learning_rate=st.floats(1e-6, 1e6),
)
def test_adagrad_steps_never_exceed_the_learning_rate(dtype, memory, grads, learning_rate):
    # The new memory holds g * g, so |g| / sqrt(m + g * g + eps) <= 1 up to a few roundings:
    # no entry of an Adagrad step is larger than the learning rate.
    params = {"w": np.zeros(6, dtype=dtype)}
    optimizer = Adagrad(params, learning_rate=learning_rate)
    optimizer.memory["w"][:] = np.array(memory, dtype=dtype)
    g = np.array(grads, dtype=dtype)
    delta = optimizer.propose({"w": g})["w"]
    assert np.all(np.isfinite(delta))
    assert np.all(np.abs(delta) <= optimizer.step_bound(float(np.linalg.norm(g))))
    assert optimizer.step_bound(1.0) == 1.001 * learning_rate


def test_plain_sgd_step_is_bounded_by_learning_rate_times_gradient_norm():
    g = np.array([3.0, -4.0])
    optimizer = SGD({"w": np.zeros(2)}, learning_rate=0.5)
    delta = optimizer.propose({"w": g})["w"]
    np.testing.assert_array_equal(delta, 0.5 * g)
    assert np.abs(delta).max() <= optimizer.step_bound(5.0)


def test_optimizers_that_remember_past_gradients_give_no_step_bound():
    params = {"w": np.zeros(3)}
    assert SGD(params, learning_rate=0.1, momentum=0.9).step_bound(1.0) is None
    assert Adam(params, learning_rate=0.1).step_bound(1.0) is None
