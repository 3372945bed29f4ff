"""Itemized gradients against BPTT, a brute-force Jacobian implementation and finite differences.

The brute force below shares no code with ``rnnbow_widget``: it runs its own forward pass,
gives every time step its own copy of the shared weights (``W_hh^(j)``, ``W_xh^(j)``,
``b_h^(j)``), and differentiates each loss L_t separately by multiplying the explicit
``H x H`` Jacobians ``dh_i/dh_{i-1} = diag(act'(z_i)) W_hh``. The itemized gradient of loss t
through step j is then, by definition, ``dL_t / dW^(j)``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbow_widget import itemize, model
from rnnbow_widget.cells import CELLS, get_cell

WRTS = ("W_hh", "W_xh", "b_h")


# ---------------------------------------------------------------------------------------------
# Independent reference implementation


def random_problem(seed, n=5, H=4, V=3, scale=0.9, recurrent_scale=None):
    rng = np.random.default_rng(seed)
    recurrent_scale = scale if recurrent_scale is None else recurrent_scale
    params = {
        "W_xh": rng.standard_normal((H, V)) * scale,
        "W_hh": rng.standard_normal((H, H)) * recurrent_scale / np.sqrt(H),
        "W_hy": rng.standard_normal((V, H)) * scale,
        "b_h": rng.standard_normal(H) * 0.2,
        "b_y": rng.standard_normal(V) * 0.2,
    }
    inputs = rng.integers(0, V, n)
    targets = rng.integers(0, V, n)
    h0 = rng.standard_normal(H) * 0.5
    return params, inputs, targets, h0


def act(z, activation):
    return np.tanh(z) if activation == "tanh" else np.maximum(z, 0.0)


def act_derivative(z, activation):
    return 1.0 / np.cosh(z) ** 2 if activation == "tanh" else (z > 0).astype(float)


def unshared_losses(params, inputs, targets, h0, W_hh_steps, W_xh_steps, b_h_steps, activation):
    """(n,) per-step losses when step j uses its own copies of W_hh, W_xh, b_h."""
    V = params["W_xh"].shape[1]
    h = h0
    losses = []
    for j, (x_index, target) in enumerate(zip(inputs, targets, strict=True)):
        x = np.zeros(V)
        x[x_index] = 1.0
        z = W_xh_steps[j] @ x + W_hh_steps[j] @ h + b_h_steps[j]
        h = act(z, activation)
        logits = params["W_hy"] @ h + params["b_y"]
        top = logits.max()
        losses.append(top + np.log(np.exp(logits - top).sum()) - logits[target])
    return np.array(losses)


def copies(params, n):
    return (
        np.array([params["W_hh"]] * n),
        np.array([params["W_xh"]] * n),
        np.array([params["b_h"]] * n),
    )


def brute_force_itemized(params, inputs, targets, h0, activation="tanh"):
    """dL_t / d(step j's copy) for every t, j, as full tensors keyed by parameter name."""
    W_hh, W_xh, W_hy = params["W_hh"], params["W_xh"], params["W_hy"]
    H, V = W_xh.shape
    n = len(inputs)
    hs, zs, ys, xs = [h0], [], [], []
    for x_index in inputs:
        x = np.eye(V)[x_index]
        z = W_xh @ x + W_hh @ hs[-1] + params["b_h"]
        hs.append(act(z, activation))
        zs.append(z)
        xs.append(x)
        logits = W_hy @ hs[-1] + params["b_y"]
        ys.append(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())
    out = {
        "W_hh": np.zeros((n, n, H, H)),
        "W_xh": np.zeros((n, n, H, V)),
        "b_h": np.zeros((n, n, H)),
    }
    for t in range(n):
        dL_dh_t = W_hy.T @ (ys[t] - np.eye(V)[targets[t]])
        jacobian = np.diag(act_derivative(zs[t], activation))  # dh_t / dz_t
        for j in range(t, -1, -1):
            dL_dz_j = jacobian.T @ dL_dh_t
            out["W_hh"][t, j] = np.outer(dL_dz_j, hs[j])  # hs[j] is h_{j-1} in 1-based terms
            out["W_xh"][t, j] = np.outer(dL_dz_j, xs[j])
            out["b_h"][t, j] = dL_dz_j
            if j > 0:
                # dh_t/dz_{j-1} = dh_t/dz_j  dz_j/dh_{j-1}  dh_{j-1}/dz_{j-1}
                jacobian = jacobian @ W_hh @ np.diag(act_derivative(zs[j - 1], activation))
    return out


def brute_force_magnitudes(tensors, norm):
    n = tensors.shape[0]
    magnitudes = np.zeros((n, n))
    for t in range(n):
        for j in range(t + 1):
            if norm == "fro":
                magnitudes[t, j] = np.linalg.norm(tensors[t, j])
            else:
                magnitudes[t, j] = np.mean(np.abs(tensors[t, j]))
    return magnitudes


# ---------------------------------------------------------------------------------------------
# Exactness: the itemized gradients add up to BPTT


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("wrt", WRTS)
def test_itemized_sum_equals_bptt_gradient(wrt, activation):
    params, inputs, targets, h0 = random_problem(10, n=6, H=5, V=4)
    result = itemize.itemized_gradients(
        params, inputs, targets, h0, wrt=wrt, full=True, activation=activation
    )
    grads = model.backward(params, model.forward(params, inputs, targets, h0, activation))
    scale = np.abs(grads[wrt]).max()
    assert scale > 1e-3
    np.testing.assert_allclose(result.full.sum(axis=(0, 1)), grads[wrt], rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(result.gradient, grads[wrt], rtol=0, atol=1e-10 * scale)


def test_itemized_sum_equals_bptt_at_training_size():
    rng = np.random.default_rng(11)
    params = model.init_params(30, 64, rng, init_scale=1.5)
    inputs, targets = rng.integers(0, 30, 25), rng.integers(0, 30, 25)
    h0 = np.tanh(rng.standard_normal(64))
    grads = model.backward(params, model.forward(params, inputs, targets, h0))
    for wrt in WRTS:
        result = itemize.itemized_gradients(params, inputs, targets, h0, wrt=wrt)
        scale = np.abs(grads[wrt]).max()
        np.testing.assert_allclose(result.gradient, grads[wrt], rtol=0, atol=1e-10 * scale)


# ---------------------------------------------------------------------------------------------
# Each itemized gradient and each magnitude against the brute force


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("wrt", WRTS)
def test_full_itemized_gradients_match_brute_force(wrt, activation):
    params, inputs, targets, h0 = random_problem(20, n=6, H=4, V=3)
    expected = brute_force_itemized(params, inputs, targets, h0, activation)[wrt]
    result = itemize.itemized_gradients(
        params, inputs, targets, h0, wrt=wrt, full=True, activation=activation
    )
    assert result.full.shape == expected.shape
    np.testing.assert_allclose(result.full, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("norm", ["fro", "mean_abs"])
@pytest.mark.parametrize("wrt", WRTS)
def test_every_magnitude_matches_brute_force_norm(wrt, norm):
    params, inputs, targets, h0 = random_problem(21, n=6, H=5, V=4)
    tensors = brute_force_itemized(params, inputs, targets, h0)[wrt]
    expected = brute_force_magnitudes(tensors, norm)
    result = itemize.itemized_gradients(params, inputs, targets, h0, wrt=wrt, norm=norm)
    assert result.magnitudes.dtype == np.float64
    assert (expected[np.tril_indices(6)] > 0).all()
    np.testing.assert_allclose(result.magnitudes, expected, rtol=1e-12, atol=0)
    assert (result.wrt, result.norm, result.horizon) == (wrt, norm, None)


def test_itemized_gradients_match_finite_differences_of_each_loss():
    """dL_t / d(step j's own copy) by central differences, for W_hh, W_xh and b_h."""
    params, inputs, targets, h0 = random_problem(30, n=5, H=4, V=3)
    n = len(inputs)
    W_hh_steps, W_xh_steps, b_h_steps = copies(params, n)
    eps = 1e-6

    def loss_vector():
        return unshared_losses(
            params, inputs, targets, h0, W_hh_steps, W_xh_steps, b_h_steps, "tanh"
        )

    numeric = {name: np.zeros((n, n, *params[name].shape)) for name in WRTS}
    for name, steps in (("W_hh", W_hh_steps), ("W_xh", W_xh_steps), ("b_h", b_h_steps)):
        for j in range(n):
            for index in np.ndindex(params[name].shape):
                steps[j][index] += eps
                plus = loss_vector()
                steps[j][index] -= 2 * eps
                minus = loss_vector()
                steps[j][index] += eps
                numeric[name][(slice(None), j, *index)] = (plus - minus) / (2 * eps)
    for name in WRTS:
        result = itemize.itemized_gradients(params, inputs, targets, h0, wrt=name, full=True)
        # A later step's copy cannot change an earlier loss: the finite differences are 0 there.
        assert np.abs(numeric[name][np.triu_indices(n, 1)]).max() < 1e-12
        np.testing.assert_allclose(result.full, numeric[name], rtol=1e-6, atol=1e-9, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Structure: causality and truncation


def test_magnitudes_are_zero_above_the_diagonal():
    params, inputs, targets, h0 = random_problem(40, n=6)
    for wrt in WRTS:
        magnitudes = itemize.itemized_gradients(params, inputs, targets, h0, wrt=wrt).magnitudes
        assert (magnitudes[np.triu_indices(6, 1)] == 0).all()
        assert (magnitudes[np.tril_indices(6)] > 0).all()


@pytest.mark.parametrize("horizon", [1, 2, 5, 9, 12])
def test_horizon_keeps_exactly_the_full_entries_with_lag_below_it(horizon):
    rng = np.random.default_rng(41)
    params = model.init_params(7, 16, rng, init_scale=1.2)
    inputs, targets = rng.integers(0, 7, 12), rng.integers(0, 7, 12)
    h0 = np.zeros(16)
    t, j = np.indices((12, 12))
    kept = (t - j < horizon) & (j <= t)
    for wrt in WRTS:
        for norm in ("fro", "mean_abs"):
            full = itemize.itemized_gradients(params, inputs, targets, h0, wrt=wrt, norm=norm)
            cut = itemize.itemized_gradients(
                params, inputs, targets, h0, wrt=wrt, norm=norm, horizon=horizon
            )
            np.testing.assert_allclose(
                cut.magnitudes[kept], full.magnitudes[kept], rtol=1e-15, atol=0
            )
            assert (cut.magnitudes[~kept] == 0).all()
            assert cut.horizon == horizon


def test_horizon_gradient_sums_only_the_kept_pairs():
    params, inputs, targets, h0 = random_problem(42, n=6, H=4, V=3)
    tensors = brute_force_itemized(params, inputs, targets, h0)
    t, j = np.indices((6, 6))
    kept = (t - j < 3) & (j <= t)
    for wrt in WRTS:
        result = itemize.itemized_gradients(
            params, inputs, targets, h0, wrt=wrt, horizon=3, full=True
        )
        expected = tensors[wrt][kept].sum(axis=0)
        np.testing.assert_allclose(result.gradient, expected, rtol=1e-12, atol=1e-15)
        assert (result.full[~kept] == 0).all()
        # And it really is a truncation: BPTT's total differs.
        assert not np.allclose(result.gradient, tensors[wrt].sum(axis=(0, 1)), rtol=1e-6)


def test_horizon_longer_than_the_chunk_is_the_full_result():
    params, inputs, targets, h0 = random_problem(43, n=5)
    full = itemize.itemized_gradients(params, inputs, targets, h0)
    long = itemize.itemized_gradients(params, inputs, targets, h0, horizon=50)
    np.testing.assert_array_equal(long.magnitudes, full.magnitudes)


def test_magnitudes_from_cache_agree_with_itemized_gradients():
    params, inputs, targets, h0 = random_problem(44, n=6, H=5, V=4)
    cache = model.forward(params, inputs, targets, h0)
    for wrt in WRTS:
        for norm in ("fro", "mean_abs"):
            expected = brute_force_magnitudes(
                brute_force_itemized(params, inputs, targets, h0)[wrt], norm
            )
            got = itemize.magnitudes_from_cache(params, cache, wrt=wrt, norm=norm)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("horizon", [None, 1, 3, 99])
def test_every_itemize_entry_point_gives_the_same_magnitudes_bit_for_bit(dtype, horizon):
    params, inputs, targets, h0 = random_problem(45, n=6, H=5, V=4)
    params = {name: value.astype(dtype) for name, value in params.items()}
    cache = model.forward(params, inputs, targets, h0.astype(dtype))
    for wrt in WRTS:
        for norm in ("fro", "mean_abs"):
            options = dict(wrt=wrt, norm=norm, horizon=horizon)
            checked = itemize.magnitudes_from_cache(params, cache, **options)
            assert checked.dtype == np.float64
            both = itemize.itemize_cache(params, cache, units=True, **options)
            assert np.array_equal(both.magnitudes, checked)
            assert both.units.shape == (6, 6, 5) and both.units.dtype == np.float64
            if dtype == np.float64:
                direct = itemize.itemized_gradients(params, inputs, targets, h0, **options)
                assert np.array_equal(direct.magnitudes, checked)


# ---------------------------------------------------------------------------------------------
# The vanishing tail


def test_deep_lag_magnitudes_below_1e25_are_nonzero_and_exact():
    params, inputs, targets, h0 = random_problem(50, n=24, H=6, V=4, recurrent_scale=0.03)
    tensors = brute_force_itemized(params, inputs, targets, h0)
    t, j = np.indices((24, 24))
    deep = (t - j >= 20) & (j <= t)
    for wrt in WRTS:
        for norm in ("fro", "mean_abs"):
            expected = brute_force_magnitudes(tensors[wrt], norm)
            assert expected[deep].max() < 1e-25
            got = itemize.itemized_gradients(params, inputs, targets, h0, wrt=wrt, norm=norm)
            assert (got.magnitudes[deep] > 0).all()
            np.testing.assert_allclose(got.magnitudes[deep], expected[deep], rtol=1e-8, atol=0)


def test_float32_inputs_still_resolve_the_deep_tail():
    """A float32 cache must not lose the tail: its squares would underflow float32."""
    params, inputs, targets, h0 = random_problem(51, n=24, H=6, V=4, recurrent_scale=0.03)
    params32 = {name: value.astype(np.float32) for name, value in params.items()}
    cache = model.forward(params32, inputs, targets, h0.astype(np.float32))
    cache32 = cache.astype(np.float32)
    assert {cache32.h.dtype, cache32.dact.dtype, cache32.y.dtype} == {np.dtype(np.float32)}
    got = itemize.magnitudes_from_cache(params32, cache32)
    reference = itemize.magnitudes_from_cache(params, model.forward(params, inputs, targets, h0))
    t, j = np.indices((24, 24))
    deep = (t - j >= 20) & (j <= t)
    assert got.dtype == np.float64
    assert reference[deep].max() < 1e-25
    assert (got[deep] > 0).all()
    np.testing.assert_allclose(got[deep], reference[deep], rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# Property test over small random shapes


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    H=st.integers(1, 5),
    V=st.integers(2, 4),
    horizon=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
    activation=st.sampled_from(["tanh", "relu"]),
)
def test_property_sum_matches_bptt_and_truncation_matches_full(n, H, V, horizon, seed, activation):
    params, inputs, targets, h0 = random_problem(seed, n=n, H=H, V=V, scale=1.0)
    grads = model.backward(params, model.forward(params, inputs, targets, h0, activation))
    t, j = np.indices((n, n))
    kept = (t - j < horizon) & (j <= t)
    for wrt in WRTS:
        full = itemize.itemized_gradients(
            params, inputs, targets, h0, wrt=wrt, full=True, activation=activation
        )
        scale = max(np.abs(grads[wrt]).max(), 1e-300)
        np.testing.assert_allclose(full.gradient, grads[wrt], rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(
            full.full.sum(axis=(0, 1)), grads[wrt], rtol=0, atol=1e-10 * scale
        )
        cut = itemize.itemized_gradients(
            params, inputs, targets, h0, wrt=wrt, horizon=horizon, activation=activation
        )
        np.testing.assert_allclose(cut.magnitudes[kept], full.magnitudes[kept], rtol=1e-15)
        assert (cut.magnitudes[~kept] == 0).all()


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.fixture
def problem():
    return random_problem(60, n=4, H=3, V=3)


def test_unknown_wrt_names_the_choices(problem):
    params, inputs, targets, h0 = problem
    with pytest.raises(
        ValueError, match=r"wrt must be one of \('W_hh', 'W_xh', 'b_h'\), got 'W_hy'"
    ):
        itemize.itemized_gradients(params, inputs, targets, h0, wrt="W_hy")


def test_unknown_norm_names_the_choices(problem):
    params, inputs, targets, h0 = problem
    cache = model.forward(params, inputs, targets, h0)
    with pytest.raises(ValueError, match=r"norm must be one of \('fro', 'mean_abs'\), got 'l1'"):
        itemize.magnitudes_from_cache(params, cache, norm="l1")


@pytest.mark.parametrize("horizon", [0, -3])
def test_horizon_below_one_is_rejected(problem, horizon):
    params, inputs, targets, h0 = problem
    with pytest.raises(ValueError, match=rf"horizon must be >= 1 .* got {horizon}"):
        itemize.itemized_gradients(params, inputs, targets, h0, horizon=horizon)


def test_non_integer_horizon_is_a_type_error(problem):
    params, inputs, targets, h0 = problem
    cache = model.forward(params, inputs, targets, h0)
    with pytest.raises(TypeError, match=r"horizon must be a positive int or None, got 2.5"):
        itemize.magnitudes_from_cache(params, cache, horizon=2.5)


def test_wrong_h0_shape_is_reported(problem):
    params, inputs, targets, _ = problem
    with pytest.raises(
        ValueError,
        match=r"state0 must be h0 of shape \(H,\) = \(3,\), got \(4,\) \(cell='rnn'\)",
    ):
        itemize.itemized_gradients(params, inputs, targets, np.zeros(4))


def test_targets_of_another_length_are_reported(problem):
    params, inputs, targets, h0 = problem
    with pytest.raises(
        ValueError, match=r"targets must have the same length as inputs \(4\), got 3"
    ):
        itemize.itemized_gradients(params, inputs, targets[:3], h0)


def test_inputs_outside_the_vocabulary_are_reported(problem):
    params, _, targets, h0 = problem
    with pytest.raises(ValueError, match=r"inputs must hold indices in \[0, 3\).*got values from"):
        itemize.itemized_gradients(params, np.array([0, 1, 3, 2]), targets, h0)


def test_float_inputs_are_a_type_error(problem):
    params, _, targets, h0 = problem
    with pytest.raises(TypeError, match=r"inputs must hold integer vocabulary indices, got dtype"):
        itemize.itemized_gradients(params, np.array([0.0, 1.0, 2.0, 1.0]), targets, h0)


def test_mismatched_params_are_reported(problem):
    params, inputs, targets, h0 = problem
    params = dict(params, b_h=np.zeros(5))
    with pytest.raises(ValueError, match=r"params\['b_h'\] must have shape \(3,\).*got \(5,\)"):
        itemize.itemized_gradients(params, inputs, targets, h0)


def test_cache_from_another_model_is_reported(problem):
    params, inputs, targets, _ = problem
    other, *_ = random_problem(61, n=4, H=5, V=3)
    cache = model.forward(other, inputs, targets, np.zeros(5))
    with pytest.raises(ValueError, match=r"cache.h must have shape \(5, 3\).*got \(5, 5\)"):
        itemize.magnitudes_from_cache(params, cache)


def test_unknown_activation_is_reported(problem):
    params, inputs, targets, h0 = problem
    with pytest.raises(
        ValueError,
        match=r"^activation must be one of \('tanh', 'relu'\) for cell 'rnn', got 'sigmoid'$",
    ):
        itemize.itemized_gradients(params, inputs, targets, h0, activation="sigmoid")


# ---------------------------------------------------------------------------------------------
# Every cell through the one entry point


def cell_problem(cell, seed, n=6, H=3, V=4, scale=0.8):
    """Random parameters of ``cell`` (gate blocks stacked along the rows) and a chunk."""
    rng = np.random.default_rng(seed)
    G = len(get_cell(cell).GATES)
    params = {
        "W_xh": rng.standard_normal((G * H, V)) * scale,
        "W_hh": rng.standard_normal((G * H, H)) * scale,
        "W_hy": rng.standard_normal((V, H)) * scale,
        "b_h": rng.standard_normal(G * H) * 0.3,
        "b_y": rng.standard_normal(V) * 0.3,
    }
    return params, rng.integers(0, V, n), rng.integers(0, V, n)


LOOKS_LIKE = {
    "rnn": r"params look like a vanilla RNN's \(W_hh has H = 3 rows for H = 3\): pass cell='rnn'",
    "lstm": r"params look like an LSTM's \(W_hh has 4H = 12 rows for H = 3\): pass cell='lstm'",
    "gru": r"params look like a GRU's \(W_hh has 3H = 9 rows for H = 3\): pass cell='gru'",
}


@pytest.mark.parametrize("given", CELLS)
@pytest.mark.parametrize("owner", CELLS)
def test_params_of_another_cell_say_which_cell_they_look_like(owner, given):
    params, inputs, targets = cell_problem(owner, 70, n=4)
    if owner == given:
        itemize.itemized_gradients(params, inputs, targets, cell=given)  # no error
        return
    with pytest.raises(ValueError, match=f"^{LOOKS_LIKE[owner]}$"):
        itemize.itemized_gradients(params, inputs, targets, cell=given)


@pytest.mark.parametrize(
    ("owner", "cache_cell"), [("lstm", "rnn"), ("gru", "lstm"), ("rnn", "gru")]
)
def test_params_that_do_not_fit_a_cached_chunks_cell_say_which_cell_they_look_like(
    owner, cache_cell
):
    params, inputs, targets = cell_problem(owner, 71, n=4)
    module = get_cell(cache_cell)
    other, *_ = cell_problem(cache_cell, 72, n=4)
    cache = module.forward(other, inputs, targets, module.initial_state(3))
    mismatch = f"; but the cache comes from the {cache_cell} cell's forward: pass the params it"
    with pytest.raises(ValueError, match=f"^{LOOKS_LIKE[owner]}{re.escape(mismatch)}"):
        itemize.itemize_cache(params, cache)
    with pytest.raises(ValueError, match=f"^{LOOKS_LIKE[owner]}{re.escape(mismatch)}"):
        itemize.magnitudes_from_cache(params, cache)


@pytest.mark.parametrize("cell", CELLS)
def test_W_hh_of_no_cells_shape_names_the_expected_shape(cell):
    params, inputs, targets = cell_problem(cell, 73, n=4)
    params = dict(params, W_hh=np.zeros((5, 3)))
    rows = {"rnn": "H", "lstm": "4H", "gru": "3H"}[cell]
    message = rf"^params\['W_hh'\] must have shape \({rows}, H\) for the {cell} cell, got \(5, 3\)$"
    with pytest.raises(ValueError, match=message):
        itemize.itemized_gradients(params, inputs, targets, cell=cell)


def test_unknown_cell_names_the_choices(problem):
    params, inputs, targets, h0 = problem
    message = r"^cell must be one of \('rnn', 'lstm', 'gru'\), got 'lstm2'$"
    with pytest.raises(ValueError, match=message):
        itemize.itemized_gradients(params, inputs, targets, h0, cell="lstm2")
    with pytest.raises(ValueError, match=message):
        get_cell("lstm2")


def test_a_cache_that_no_cell_made_is_a_type_error(problem):
    params, *_ = problem
    with pytest.raises(TypeError, match=r"cache must come from a cell's forward .* got dict"):
        itemize.itemize_cache(params, {"h": np.zeros((5, 3))})


@pytest.mark.parametrize("cell", CELLS)
def test_no_state0_is_the_cells_zero_state(cell):
    params, inputs, targets = cell_problem(cell, 74)
    zero = get_cell(cell).initial_state(3)
    assert not zero.any()
    for wrt in WRTS:
        default = itemize.itemized_gradients(
            params, inputs, targets, cell=cell, wrt=wrt, full=True, units=True
        )
        explicit = itemize.itemized_gradients(
            params, inputs, targets, zero, cell=cell, wrt=wrt, full=True, units=True
        )
        # From a zero state W_hh's pairs through step 0 are 0 (they multiply h_{-1} = 0).
        first = 1 if wrt == "W_hh" else 0
        assert (default.magnitudes[first:, first:][np.tril_indices(6 - first)] > 0).all()
        if wrt == "W_hh":
            assert (default.magnitudes[:, 0] == 0).all()
        for name in ("magnitudes", "gradient", "full", "units"):
            assert np.array_equal(getattr(default, name), getattr(explicit, name)), name
    # And it is not just any state: a non-zero one changes the result.
    moved = itemize.itemized_gradients(params, inputs, targets, zero + 0.5, cell=cell)
    assert not np.allclose(moved.magnitudes, default.magnitudes, rtol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("wrt", WRTS)
@pytest.mark.parametrize("horizon", [None, 1, 3])
def test_unit_shares_add_up_to_the_squared_magnitudes(cell, wrt, horizon):
    params, inputs, targets = cell_problem(cell, 75)
    n, H = 6, 3
    module = get_cell(cell)
    state0 = module.initial_state(H) + np.linspace(-0.6, 0.5, H)  # W_hh's step 0 is not 0
    result = itemize.itemized_gradients(
        params, inputs, targets, state0, cell=cell, wrt=wrt, horizon=horizon, full=True, units=True
    )
    units = result.units
    assert units.shape == (n, n, H) and units.dtype == np.float64
    t, j = np.indices((n, n))
    kept = (j <= t) & (t - j < (n if horizon is None else horizon))
    assert (units[~kept] == 0).all()
    assert (units[kept] > 0).all()
    np.testing.assert_allclose((units**2).sum(axis=2), result.magnitudes**2, rtol=1e-12, atol=0)
    # Unit i owns row i of every gate block: rows i, H + i, 2H + i, ... of the itemized gradient.
    G = len(get_cell(cell).GATES)
    per_row = result.full.reshape(n, n, G, H, -1)
    np.testing.assert_allclose(units, np.sqrt((per_row**2).sum(axis=(2, 4))), rtol=1e-12, atol=0)
    # The cached path gives the same shares.
    cache = module.forward(params, inputs, targets, state0)
    cached = itemize.itemize_cache(params, cache, wrt=wrt, horizon=horizon, units=True)
    assert np.array_equal(cached.units, units)
    assert np.array_equal(cached.magnitudes, result.magnitudes)
    assert itemize.itemize_cache(params, cache, wrt=wrt, horizon=horizon).units is None


@pytest.mark.parametrize("wrt", WRTS)
def test_vanilla_unit_shares_are_the_row_norms_of_the_brute_force_gradients(wrt):
    params, inputs, targets, h0 = random_problem(76, n=6, H=4, V=3)
    tensors = brute_force_itemized(params, inputs, targets, h0)[wrt]
    per_row = tensors.reshape(6, 6, 4, -1)
    expected = np.sqrt((per_row**2).sum(axis=3))
    result = itemize.itemized_gradients(params, inputs, targets, h0, wrt=wrt, units=True)
    np.testing.assert_allclose(result.units, expected, rtol=1e-12, atol=0)
