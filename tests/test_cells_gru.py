"""GRU cell: BPTT against finite differences, itemized gradients against brute force.

The brute force is written here from the textbook equations (Cho et al. 2014 with the reset
gate before the candidate's matmul; ordinary sigmoid, no shared code with the module): it
unrolls the chunk with one *separate copy* of ``W_hh`` / ``W_xh`` / ``b_h`` per step, so
``dL_t / d(copy j)`` is exactly the itemized gradient of loss t through step j. Derivatives of
each loss w.r.t. each entry of each copy are taken by the complex-step method
(``Im f(x + i eps) / eps``), which has no cancellation error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbow_widget import itemize
from rnnbow_widget.cells import PARAM_NAMES, check_params, get_cell, gru, lstm

H, V, N = 3, 5, 5
WRTS = ("W_hh", "W_xh", "b_h")


def make_case(seed: int = 0, H: int = H, V: int = V, n: int = N, scale: float = 0.7):
    """Parameters large enough that every pair carries a clearly non-zero gradient."""
    rng = np.random.default_rng(seed)
    params = {
        "W_xh": rng.normal(0, scale, (3 * H, V)),
        "W_hh": rng.normal(0, scale, (3 * H, H)),
        "W_hy": rng.normal(0, scale, (V, H)),
        "b_h": rng.normal(0, 0.3, 3 * H),
        "b_y": rng.normal(0, 0.3, V),
    }
    inputs = rng.integers(0, V, n)
    targets = rng.integers(0, V, n)
    h0 = rng.normal(0, 0.5, H)
    return params, inputs, targets, h0


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_losses(params, copies, inputs, targets, h0):
    """(n,) losses of a GRU with per-step copies ``copies[name][j]`` of W_hh, W_xh, b_h."""
    n = len(inputs)
    Hh = params["W_hh"].shape[1]
    Vv = params["W_xh"].shape[1]
    h = h0.astype(complex)
    losses = []
    for t in range(n):
        x = np.zeros(Vv)
        x[inputs[t]] = 1.0
        W_x, W_h, b = copies["W_xh"][t], copies["W_hh"][t], copies["b_h"][t]
        r = sigmoid(W_x[:Hh] @ x + W_h[:Hh] @ h + b[:Hh])
        z = sigmoid(W_x[Hh : 2 * Hh] @ x + W_h[Hh : 2 * Hh] @ h + b[Hh : 2 * Hh])
        candidate = np.tanh(W_x[2 * Hh :] @ x + W_h[2 * Hh :] @ (r * h) + b[2 * Hh :])
        h = (1 - z) * candidate + z * h
        logits = params["W_hy"] @ h + params["b_y"]
        logits = logits - logits.real.max()
        losses.append(np.log(np.exp(logits).sum()) - logits[targets[t]])
    return np.array(losses)


def brute_force_itemized(params, inputs, targets, h0, wrt):
    """(n, n, *shape): d L_t / d (copy j of params[wrt]) by complex step, entry by entry."""
    n = len(inputs)
    copies = {name: np.array([params[name]] * n, dtype=complex) for name in WRTS}
    shape = params[wrt].shape
    out = np.zeros((n, n, *shape))
    eps = 1e-30
    for j in range(n):
        for index in np.ndindex(*shape):
            copies[wrt][(j, *index)] += 1j * eps
            losses = reference_losses(params, copies, inputs, targets, h0)
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
    params, inputs, targets, h0 = case
    n = len(inputs)
    copies = {name: np.array([params[name]] * n) for name in WRTS}
    expected = reference_losses(params, copies, inputs, targets, h0).real
    cache = gru.forward(params, inputs, targets, h0)
    np.testing.assert_allclose(cache.losses, expected, rtol=1e-12)
    np.testing.assert_array_equal(cache.final_state, cache.h[-1])
    np.testing.assert_allclose(cache.rh, cache.gates[:, :H] * cache.h[:-1], rtol=1e-15)


def test_bptt_matches_central_finite_differences_for_every_param(case):
    params, inputs, targets, h0 = case
    grads = gru.backward(params, gru.forward(params, inputs, targets, h0))
    eps = 1e-6
    for name in PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for index in np.ndindex(*params[name].shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += eps
            minus[name][index] -= eps
            up = gru.forward(plus, inputs, targets, h0).losses.sum()
            down = gru.forward(minus, inputs, targets, h0).losses.sum()
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("wrt", WRTS)
def test_itemized_sum_equals_bptt_gradient(case, wrt):
    params, inputs, targets, h0 = case
    grads = gru.backward(params, gru.forward(params, inputs, targets, h0))
    result = itemize.itemized_gradients(params, inputs, targets, h0, cell="gru", wrt=wrt, full=True)
    assert relative_error(result.full.sum(axis=(0, 1)), grads[wrt]) < 1e-10
    assert relative_error(result.gradient, grads[wrt]) < 1e-10


@pytest.mark.parametrize("wrt", WRTS)
def test_full_itemized_gradients_equal_brute_force_per_step_copies(case, brute, wrt):
    params, inputs, targets, h0 = case
    result = itemize.itemized_gradients(params, inputs, targets, h0, cell="gru", wrt=wrt, full=True)
    assert result.full.shape == brute[wrt].shape
    np.testing.assert_allclose(result.full, brute[wrt], rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("horizon", [None, 2])
@pytest.mark.parametrize("wrt", WRTS)
def test_unit_shares_are_the_norms_of_each_units_rows_of_the_brute_force(case, brute, wrt, horizon):
    # Unit i owns row i of every gate block: rows i, H + i, ... of the itemized gradient.
    params, inputs, targets, h0 = case
    per_unit = brute[wrt].reshape(N, N, 3, H, -1)
    expected = np.sqrt((per_unit**2).sum(axis=(2, 4)))
    t, j = np.indices((N, N))
    kept = (j <= t) & (t - j < (N if horizon is None else horizon))
    expected[~kept] = 0.0
    cache = gru.forward(params, inputs, targets, h0)
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
    params, inputs, targets, h0 = case
    per_pair = brute[wrt].reshape(N, N, -1)
    if norm == "fro":
        expected = np.linalg.norm(per_pair, axis=2)
    else:
        expected = np.abs(per_pair).mean(axis=2)
    cache = gru.forward(params, inputs, targets, h0)
    got = itemize.magnitudes_from_cache(params, cache, wrt=wrt, norm=norm)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-14)
    assert np.all(got[np.tril_indices(N)] > 0)


def test_candidate_block_of_W_hh_multiplies_reset_hidden_state(case, brute):
    # The candidate rows of the brute-force W_hh gradient are outer(g_n, r_j * h_{j-1}), so
    # they vanish where r_j * h_{j-1} does; the factorised norm must use r * h there, not h.
    params, inputs, targets, h0 = case
    cache = gru.forward(params, inputs, targets, h0)
    candidate_rows = brute["W_hh"][:, :, 2 * H :, :]  # (n, n, H, H)
    rh = cache.rh  # (n, H), row j is r_j * h_{j-1}
    ratio = candidate_rows / rh[None, :, None, :]
    lower = np.tril_indices(N)
    per_pair = ratio[lower]  # (pairs, H, H): every column equal to g_n
    np.testing.assert_allclose(per_pair, per_pair[:, :, :1].repeat(H, axis=2), rtol=1e-8)


@pytest.mark.parametrize("wrt", WRTS)
def test_magnitudes_are_zero_above_the_diagonal(case, wrt):
    params, inputs, targets, h0 = case
    cache = gru.forward(params, inputs, targets, h0)
    m = itemize.magnitudes_from_cache(params, cache, wrt=wrt)
    assert np.all(m[np.triu_indices(N, 1)] == 0)


@pytest.mark.parametrize("k", [1, 2, 4, 5, 9])
def test_truncated_walk_reproduces_the_pairs_within_the_horizon(case, brute, k):
    params, inputs, targets, h0 = case
    cache = gru.forward(params, inputs, targets, h0)
    t, j = np.indices((N, N))
    kept = (t - j < k) & (j <= t)
    whole = itemize.magnitudes_from_cache(params, cache)
    cut = itemize.magnitudes_from_cache(params, cache, horizon=k)
    np.testing.assert_allclose(cut, np.where(kept, whole, 0.0), rtol=1e-14, atol=0)
    result = itemize.itemized_gradients(
        params, inputs, targets, h0, cell="gru", horizon=k, full=True
    )
    expected_sum = (brute["W_hh"] * kept[:, :, None, None]).sum(axis=(0, 1))
    np.testing.assert_allclose(result.gradient, expected_sum, rtol=1e-9, atol=1e-13)
    assert np.all(result.full[~kept] == 0)


def test_message_reaches_earlier_steps_through_the_update_gate_alone(case):
    params, inputs, targets, h0 = case
    params = {**params, "W_hh": np.zeros_like(params["W_hh"])}  # only the z * h_{t-1} path
    cache = gru.forward(params, inputs, targets, h0)
    result = itemize.itemized_gradients(
        params, inputs, targets, h0, cell="gru", wrt="b_h", full=True
    )
    assert np.all(result.magnitudes[np.tril_indices(N, -1)] > 0)
    # d_{t,j-1} = z_j * d_{t,j}: the candidate block at (t, j) = (4, 2) is d_44 z_4 z_3 * to_n.
    z, c = cache.gates[:, H : 2 * H], cache.gates[:, 2 * H :]
    d_local = params["W_hy"].T @ (cache.y[4] - np.eye(V)[targets[4]])  # loss 4's into h_4
    d_2 = d_local * z[4] * z[3]
    expected = d_2 * (1 - z[2]) * (1 - c[2] ** 2)
    np.testing.assert_allclose(result.full[4, 2, 2 * H :], expected, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    hidden=st.integers(1, 6),
    n=st.integers(1, 6),
    wrt=st.sampled_from(WRTS),
)
def test_itemized_sum_equals_bptt_for_random_sizes(seed, hidden, n, wrt):
    params, inputs, targets, h0 = make_case(seed, H=hidden, V=4, n=n)
    grads = gru.backward(params, gru.forward(params, inputs, targets, h0))
    result = itemize.itemized_gradients(params, inputs, targets, h0, cell="gru", wrt=wrt)
    assert relative_error(result.gradient, grads[wrt]) < 1e-10


def test_init_params_shapes_and_zero_biases():
    p = gru.init_params(7, 4, np.random.default_rng(1))
    assert p["W_xh"].shape == (12, 7) and p["W_hh"].shape == (12, 4) and p["W_hy"].shape == (7, 4)
    assert np.all(p["b_h"] == 0) and p["b_h"].shape == (12,)
    assert check_params(p, "gru") == (4, 7)


def test_get_cell_returns_the_gru_module():
    assert get_cell("gru") is gru


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wrt": "W_hy"}, r"wrt must be one of \('W_hh', 'W_xh', 'b_h'\), got 'W_hy'"),
        ({"norm": "max"}, r"norm must be one of \('fro', 'mean_abs'\), got 'max'"),
        ({"horizon": -1}, r"horizon must be >= 1"),
    ],
)
def test_bad_itemize_arguments_raise_value_errors_naming_the_choices(case, kwargs, message):
    params, inputs, targets, h0 = case
    with pytest.raises(ValueError, match=message):
        itemize.itemized_gradients(params, inputs, targets, h0, cell="gru", **kwargs)
    cache = gru.forward(params, inputs, targets, h0)
    with pytest.raises(ValueError, match=message):
        itemize.magnitudes_from_cache(params, cache, **kwargs)


def test_bad_forward_arguments_raise_value_errors(case):
    params, inputs, targets, h0 = case
    with pytest.raises(ValueError, match=r"activation must be one of \('tanh',\), got 'relu'"):
        gru.forward(params, inputs, targets, h0, activation="relu")
    with pytest.raises(ValueError, match=r"state0 must be h0 of shape \(H,\) = \(3,\)"):
        gru.forward(params, inputs, targets, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"targets must have the same length as inputs \(5\)"):
        itemize.itemized_gradients(params, inputs, targets[:3], h0, cell="gru")


def test_bad_itemize_state_and_activation_name_the_gru_cell(case):
    params, inputs, targets, h0 = case
    with pytest.raises(
        ValueError,
        match=r"^state0 must be h0 of shape \(H,\) = \(3,\), got \(2, 3\) \(cell='gru'\)$",
    ):
        itemize.itemized_gradients(params, inputs, targets, np.zeros((2, 3)), cell="gru")
    with pytest.raises(
        ValueError, match=r"^activation must be one of \('tanh',\) for cell 'gru', got 'relu'$"
    ):
        itemize.itemized_gradients(params, inputs, targets, h0, cell="gru", activation="relu")


def test_params_of_another_shape_name_the_cell_they_look_like(case):
    params, inputs, targets, h0 = case
    lstm_shaped = {**params, "W_hh": np.zeros((4 * H, H))}
    with pytest.raises(
        ValueError,
        match=r"^params look like an LSTM's \(W_hh has 4H = 12 rows for H = 3\): pass cell='lstm'$",
    ):
        itemize.itemized_gradients(lstm_shaped, inputs, targets, h0, cell="gru")
    odd = {**params, "W_hh": np.zeros((2 * H, H))}
    with pytest.raises(
        ValueError,
        match=r"params\['W_hh'\] must have shape \(3H, H\) for the gru cell, got \(6, 3\)",
    ):
        itemize.itemized_gradients(odd, inputs, targets, h0, cell="gru")
    # The GRU's own parameters passed as another cell's.
    for other in ("rnn", "lstm"):
        with pytest.raises(
            ValueError,
            match=r"^params look like a GRU's \(W_hh has 3H = 9 rows for H = 3\): pass cell='gru'$",
        ):
            itemize.itemized_gradients(params, inputs, targets, cell=other)


def test_params_that_do_not_fit_the_cell_of_a_cached_chunk_are_rejected(case):
    # The cache says which cell made it (an LSTM's here); the GRU's parameters do not fit it.
    params, inputs, targets, _ = case
    lstm_params = lstm.init_params(V, H, np.random.default_rng(0))
    lstm_cache = lstm.forward(lstm_params, inputs, targets, lstm.initial_state(H))
    with pytest.raises(ValueError, match=r"^params look like a GRU's \(W_hh has 3H = 9 rows"):
        itemize.magnitudes_from_cache(params, lstm_cache)
    with pytest.raises(ValueError, match=r"^params look like an LSTM's \(W_hh has 4H = 12 rows"):
        itemize.itemize_cache(lstm_params, gru.forward(params, inputs, targets, np.zeros(H)))
