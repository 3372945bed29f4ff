"""LSTM cell: BPTT against finite differences, itemized gradients against brute force.

The brute force is written here from the textbook equations (ordinary sigmoid, no shared
code with the module): it unrolls the chunk with one *separate copy* of ``W_hh`` / ``W_xh`` /
``b_h`` per step, so ``dL_t / d(copy j)`` is exactly the itemized gradient of loss t through
step j. Derivatives of each loss w.r.t. each entry of each copy are taken by the complex-step
method (``Im f(x + i eps) / eps``), which has no cancellation error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbow_widget import itemize
from rnnbow_widget.cells import PARAM_NAMES, check_params, get_cell, lstm

H, V, N = 3, 5, 5
WRTS = ("W_hh", "W_xh", "b_h")


def make_case(seed: int = 0, H: int = H, V: int = V, n: int = N, scale: float = 0.7):
    """Parameters large enough that every pair carries a clearly non-zero gradient."""
    rng = np.random.default_rng(seed)
    params = {
        "W_xh": rng.normal(0, scale, (4 * H, V)),
        "W_hh": rng.normal(0, scale, (4 * H, H)),
        "W_hy": rng.normal(0, scale, (V, H)),
        "b_h": rng.normal(0, 0.3, 4 * H),
        "b_y": rng.normal(0, 0.3, V),
    }
    inputs = rng.integers(0, V, n)
    targets = rng.integers(0, V, n)
    state0 = rng.normal(0, 0.5, (2, H))
    return params, inputs, targets, state0


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_losses(params, copies, inputs, targets, state0):
    """(n,) losses of an LSTM with per-step copies ``copies[name][j]`` of W_hh, W_xh, b_h."""
    n = len(inputs)
    Hh = params["W_hh"].shape[1]
    Vv = params["W_xh"].shape[1]
    h = state0[0].astype(complex)
    c = state0[1].astype(complex)
    losses = []
    for t in range(n):
        x = np.zeros(Vv)
        x[inputs[t]] = 1.0
        a = copies["W_xh"][t] @ x + copies["W_hh"][t] @ h + copies["b_h"][t]
        i = sigmoid(a[:Hh])
        f = sigmoid(a[Hh : 2 * Hh])
        g = np.tanh(a[2 * Hh : 3 * Hh])
        o = sigmoid(a[3 * Hh :])
        c = f * c + i * g
        h = o * np.tanh(c)
        logits = params["W_hy"] @ h + params["b_y"]
        logits = logits - logits.real.max()
        losses.append(np.log(np.exp(logits).sum()) - logits[targets[t]])
    return np.array(losses)


def brute_force_itemized(params, inputs, targets, state0, wrt):
    """(n, n, *shape): d L_t / d (copy j of params[wrt]) by complex step, entry by entry."""
    n = len(inputs)
    copies = {name: np.array([params[name]] * n, dtype=complex) for name in WRTS}
    shape = params[wrt].shape
    out = np.zeros((n, n, *shape))
    eps = 1e-30
    for j in range(n):
        for index in np.ndindex(*shape):
            copies[wrt][(j, *index)] += 1j * eps
            losses = reference_losses(params, copies, inputs, targets, state0)
            copies[wrt][(j, *index)] -= 1j * eps
            out[(slice(None), j, *index)] = losses.imag / eps
    return out


@pytest.fixture(scope="module")
def case():
    return make_case(0)


@pytest.fixture(scope="module")
def brute(case):
    return {wrt: brute_force_itemized(*case, wrt) for wrt in WRTS}


def relative_error(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_forward_matches_textbook_equations(case):
    params, inputs, targets, state0 = case
    n = len(inputs)
    copies = {name: np.array([params[name]] * n) for name in WRTS}
    expected = reference_losses(params, copies, inputs, targets, state0).real
    cache = lstm.forward(params, inputs, targets, state0)
    np.testing.assert_allclose(cache.losses, expected, rtol=1e-12)
    assert cache.final_state.shape == (2, H)
    np.testing.assert_allclose(cache.final_state[1], cache.c[-1])


def test_state0_as_tuple_equals_state0_as_stacked_array(case):
    params, inputs, targets, state0 = case
    a = lstm.forward(params, inputs, targets, state0)
    b = lstm.forward(params, inputs, targets, (state0[0], state0[1]))
    np.testing.assert_array_equal(a.losses, b.losses)
    stacked = itemize.itemized_gradients(params, inputs, targets, state0, cell="lstm", full=True)
    pair = itemize.itemized_gradients(
        params, inputs, targets, (state0[0], state0[1]), cell="lstm", full=True
    )
    np.testing.assert_array_equal(pair.full, stacked.full)
    np.testing.assert_array_equal(pair.magnitudes, stacked.magnitudes)


def test_bptt_matches_central_finite_differences_for_every_param(case):
    params, inputs, targets, state0 = case
    grads = lstm.backward(params, lstm.forward(params, inputs, targets, state0))
    eps = 1e-6
    for name in PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for index in np.ndindex(*params[name].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += eps
            minus[name][index] -= eps
            up = lstm.forward(plus, inputs, targets, state0).losses.sum()
            down = lstm.forward(minus, inputs, targets, state0).losses.sum()
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("wrt", WRTS)
def test_itemized_sum_equals_bptt_gradient(case, wrt):
    params, inputs, targets, state0 = case
    grads = lstm.backward(params, lstm.forward(params, inputs, targets, state0))
    result = itemize.itemized_gradients(
        params, inputs, targets, state0, cell="lstm", wrt=wrt, full=True
    )
    assert relative_error(result.full.sum(axis=(0, 1)), grads[wrt]) < 1e-10
    assert relative_error(result.gradient, grads[wrt]) < 1e-10


@pytest.mark.parametrize("wrt", WRTS)
def test_full_itemized_gradients_equal_brute_force_per_step_copies(case, brute, wrt):
    params, inputs, targets, state0 = case
    result = itemize.itemized_gradients(
        params, inputs, targets, state0, cell="lstm", wrt=wrt, full=True
    )
    assert result.full.shape == brute[wrt].shape
    np.testing.assert_allclose(result.full, brute[wrt], rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("horizon", [None, 2])
@pytest.mark.parametrize("wrt", WRTS)
def test_unit_shares_are_the_norms_of_each_units_rows_of_the_brute_force(case, brute, wrt, horizon):
    # Unit i owns row i of every gate block: rows i, H + i, ... of the itemized gradient.
    params, inputs, targets, state0 = case
    per_unit = brute[wrt].reshape(N, N, 4, H, -1)
    expected = np.sqrt((per_unit**2).sum(axis=(2, 4)))
    t, j = np.indices((N, N))
    kept = (j <= t) & (t - j < (N if horizon is None else horizon))
    expected[~kept] = 0.0
    cache = lstm.forward(params, inputs, targets, state0)
    result = itemize.itemize_cache(params, cache, wrt=wrt, horizon=horizon, units=True)
    assert result.units.shape == (N, N, H)
    assert np.all(result.units[kept] > 0)
    np.testing.assert_allclose(result.units, expected, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(
        (result.units**2).sum(axis=2), result.magnitudes**2, rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("norm", ["fro", "mean_abs"])
@pytest.mark.parametrize("wrt", WRTS)
def test_magnitudes_equal_brute_force_norms(case, brute, wrt, norm):
    params, inputs, targets, state0 = case
    per_pair = brute[wrt].reshape(N, N, -1)
    if norm == "fro":
        expected = np.linalg.norm(per_pair, axis=2)
    else:
        expected = np.abs(per_pair).mean(axis=2)
    cache = lstm.forward(params, inputs, targets, state0)
    got = itemize.magnitudes_from_cache(params, cache, wrt=wrt, norm=norm)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-14)
    lower = np.tril_indices(N)
    assert np.all(got[lower] > 0)


@pytest.mark.parametrize("wrt", WRTS)
def test_magnitudes_are_zero_above_the_diagonal(case, wrt):
    params, inputs, targets, state0 = case
    cache = lstm.forward(params, inputs, targets, state0)
    m = itemize.magnitudes_from_cache(params, cache, wrt=wrt)
    assert np.all(m[np.triu_indices(N, 1)] == 0)


@pytest.mark.parametrize("k", [1, 2, 4, 5, 9])
def test_truncated_walk_reproduces_the_pairs_within_the_horizon(case, brute, k):
    params, inputs, targets, state0 = case
    cache = lstm.forward(params, inputs, targets, state0)
    t, j = np.indices((N, N))
    kept = (t - j < k) & (j <= t)
    whole = itemize.magnitudes_from_cache(params, cache, norm="mean_abs")
    cut = itemize.magnitudes_from_cache(params, cache, norm="mean_abs", horizon=k)
    np.testing.assert_allclose(cut, np.where(kept, whole, 0.0), rtol=1e-14, atol=0)
    result = itemize.itemized_gradients(
        params, inputs, targets, state0, cell="lstm", horizon=k, full=True
    )
    expected_sum = (brute["W_hh"] * kept[:, :, None, None]).sum(axis=(0, 1))
    np.testing.assert_allclose(result.gradient, expected_sum, rtol=1e-9, atol=1e-13)
    assert np.all(result.full[~kept] == 0)


def test_message_reaches_earlier_steps_through_the_cell_state_alone(case):
    params, inputs, targets, state0 = case
    params = {**params, "W_hh": np.zeros_like(params["W_hh"])}  # no path through h
    cache = lstm.forward(params, inputs, targets, state0)
    m = itemize.magnitudes_from_cache(params, cache, wrt="b_h")
    assert np.all(m[np.tril_indices(N, -1)] > 0)
    f = cache.gates[:, H : 2 * H]
    # Pure cell-state path: dL_t/dc_j = f_{j+1} ... f_t * dL_t/dc_t, so the forget-gate block
    # of the itemized b_h gradient for (t, j) is its (t, t) local part pushed back by f's.
    result = itemize.itemized_gradients(
        params, inputs, targets, state0, cell="lstm", wrt="b_h", full=True
    )
    d_local = params["W_hy"].T @ (cache.y[4] - np.eye(V)[targets[4]])  # loss 4's into h_4
    o, tanh_c = cache.gates[:, 3 * H :], np.tanh(cache.c[1:])
    e_t = d_local * o[4] * (1 - tanh_c[4] ** 2)
    e_2 = e_t * f[4] * f[3]
    expected_f_block = e_2 * cache.c[2] * f[2] * (1 - f[2])  # c[2] is c_{j-1} for j = 2
    np.testing.assert_allclose(result.full[4, 2, H : 2 * H], expected_f_block, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    hidden=st.integers(1, 6),
    n=st.integers(1, 6),
    wrt=st.sampled_from(WRTS),
)
def test_itemized_sum_equals_bptt_for_random_sizes(seed, hidden, n, wrt):
    params, inputs, targets, state0 = make_case(seed, H=hidden, V=4, n=n)
    grads = lstm.backward(params, lstm.forward(params, inputs, targets, state0))
    result = itemize.itemized_gradients(params, inputs, targets, state0, cell="lstm", wrt=wrt)
    assert relative_error(result.gradient, grads[wrt]) < 1e-10


def test_init_params_shapes_and_forget_bias():
    p = lstm.init_params(7, 4, np.random.default_rng(1), forget_bias=2.0)
    assert p["W_xh"].shape == (16, 7) and p["W_hh"].shape == (16, 4) and p["W_hy"].shape == (7, 4)
    np.testing.assert_array_equal(p["b_h"], np.r_[np.zeros(4), np.full(4, 2.0), np.zeros(8)])
    assert check_params(p, "lstm") == (4, 7)


def test_get_cell_returns_the_lstm_module_and_rejects_unknown_names():
    assert get_cell("lstm") is lstm
    with pytest.raises(
        ValueError, match=r"cell must be one of \('rnn', 'lstm', 'gru'\), got 'rnn2'"
    ):
        get_cell("rnn2")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wrt": "W_hy"}, r"wrt must be one of \('W_hh', 'W_xh', 'b_h'\), got 'W_hy'"),
        ({"norm": "l2"}, r"norm must be one of \('fro', 'mean_abs'\), got 'l2'"),
        ({"horizon": 0}, r"horizon must be >= 1"),
    ],
)
def test_bad_itemize_arguments_raise_value_errors_naming_the_choices(case, kwargs, message):
    params, inputs, targets, state0 = case
    with pytest.raises(ValueError, match=message):
        itemize.itemized_gradients(params, inputs, targets, state0, cell="lstm", **kwargs)
    cache = lstm.forward(params, inputs, targets, state0)
    with pytest.raises(ValueError, match=message):
        itemize.magnitudes_from_cache(params, cache, **kwargs)


def test_non_integer_horizon_raises_type_error(case):
    params, inputs, targets, state0 = case
    with pytest.raises(TypeError, match="horizon must be a positive int or None"):
        itemize.itemized_gradients(params, inputs, targets, state0, cell="lstm", horizon=2.5)


def test_bad_forward_arguments_raise_value_errors(case):
    params, inputs, targets, state0 = case
    with pytest.raises(ValueError, match=r"activation must be one of \('tanh',\), got 'relu'"):
        lstm.forward(params, inputs, targets, state0, activation="relu")
    with pytest.raises(ValueError, match=r"state0 must be \(h0, c0\) or a \(2, H\) = \(2, 3\)"):
        lstm.forward(params, inputs, targets, np.zeros(3))
    with pytest.raises(ValueError, match=r"inputs must hold indices in \[0, 5\)"):
        itemize.itemized_gradients(params, inputs + 5, targets, state0, cell="lstm")


def test_bad_itemize_state_and_activation_name_the_lstm_cell(case):
    params, inputs, targets, state0 = case
    with pytest.raises(
        ValueError,
        match=r"^state0 must be \(h0, c0\) or a \(2, H\) = \(2, 3\) array \[h0; c0\], "
        r"got \(3,\) \(cell='lstm'\)$",
    ):
        itemize.itemized_gradients(params, inputs, targets, np.zeros(3), cell="lstm")
    with pytest.raises(ValueError, match=r"state0 must be \(h0, c0\).*got \(2, 4\)"):
        itemize.itemized_gradients(params, inputs, targets, np.zeros((2, 4)), cell="lstm")
    with pytest.raises(
        ValueError, match=r"^activation must be one of \('tanh',\) for cell 'lstm', got 'relu'$"
    ):
        itemize.itemized_gradients(params, inputs, targets, state0, cell="lstm", activation="relu")


def test_params_of_another_shape_name_the_cell_they_look_like(case):
    params, inputs, targets, state0 = case
    vanilla_shaped = {**params, "W_hh": np.zeros((H, H))}
    with pytest.raises(
        ValueError,
        match=r"^params look like a vanilla RNN's \(W_hh has H = 3 rows for H = 3\): "
        r"pass cell='rnn'$",
    ):
        itemize.itemized_gradients(vanilla_shaped, inputs, targets, state0, cell="lstm")
    odd = {**params, "W_hh": np.zeros((5, H))}
    with pytest.raises(
        ValueError, match=r"params\['W_hh'\] must have shape \(4H, H\) for the lstm cell, got"
    ):
        itemize.itemized_gradients(odd, inputs, targets, state0, cell="lstm")
    # The LSTM's own parameters passed as another cell's.
    for other in ("rnn", "gru"):
        with pytest.raises(
            ValueError,
            match=r"^params look like an LSTM's \(W_hh has 4H = 12 rows for H = 3\): "
            r"pass cell='lstm'$",
        ):
            itemize.itemized_gradients(params, inputs, targets, cell=other)
