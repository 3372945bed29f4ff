"""The vanilla cell: forward losses and BPTT gradients against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import engine, model
from rnnbow_widget.cells import base, check_params, rnn

H, V, N = 6, 5, 6


def small_problem(seed: int, scale: float = 0.8):
    """Random parameters large enough that every gradient term matters."""
    rng = np.random.default_rng(seed)
    params = {
        "W_xh": rng.standard_normal((H, V)) * scale,
        "W_hh": rng.standard_normal((H, H)) * scale / np.sqrt(H),
        "W_hy": rng.standard_normal((V, H)) * scale,
        "b_h": rng.standard_normal(H) * 0.3,
        "b_y": rng.standard_normal(V) * 0.3,
    }
    inputs = rng.integers(0, V, N)
    targets = rng.integers(0, V, N)
    h0 = rng.standard_normal(H) * 0.5
    return params, inputs, targets, h0


def direct_losses(params, inputs, targets, h0, activation):
    """Per-step cross-entropy written out step by step, with no shared code with the model."""
    h = h0.copy()
    losses = []
    for x_index, target in zip(inputs, targets, strict=True):
        x = np.zeros(V)
        x[x_index] = 1.0
        z = params["W_xh"] @ x + params["W_hh"] @ h + params["b_h"]
        h = np.tanh(z) if activation == "tanh" else np.where(z > 0, z, 0.0)
        logits = params["W_hy"] @ h + params["b_y"]
        log_normaliser = np.log(np.sum(np.exp(logits)))
        losses.append(log_normaliser - logits[target])
    return np.array(losses)


def smallest_preactivation(params, inputs, h0):
    h = h0
    smallest = np.inf
    for x_index in inputs:
        z = params["W_xh"][:, x_index] + params["W_hh"] @ h + params["b_h"]
        smallest = min(smallest, np.abs(z).min())
        h = np.maximum(z, 0.0)
    return smallest


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_losses_match_direct_computation(activation):
    params, inputs, targets, h0 = small_problem(1)
    cache = model.forward(params, inputs, targets, h0, activation=activation)
    expected = direct_losses(params, inputs, targets, h0, activation)
    np.testing.assert_allclose(cache.losses, expected, rtol=1e-12, atol=0)


def test_forward_cache_holds_carried_state_and_shapes():
    params, inputs, targets, h0 = small_problem(2)
    cache = model.forward(params, inputs, targets, h0)
    assert cache.h.shape == (N + 1, H)
    assert cache.dact.shape == (N, H)
    assert cache.y.shape == (N, V)
    np.testing.assert_array_equal(cache.h[0], h0)
    np.testing.assert_allclose(cache.y.sum(axis=1), np.ones(N), rtol=1e-12)
    # tanh'(z_t) at each step's own pre-activation, recomputed from scratch.
    h, expected_dact = h0, []
    for x_index in inputs:
        z = params["W_xh"][:, x_index] + params["W_hh"] @ h + params["b_h"]
        expected_dact.append(1.0 / np.cosh(z) ** 2)
        h = np.tanh(z)
    np.testing.assert_allclose(cache.dact, np.array(expected_dact), rtol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_bptt_gradients_match_central_finite_differences(activation):
    params, inputs, targets, h0 = small_problem(3)
    if activation == "relu":
        # Finite differences are only meaningful away from the kink at z = 0.
        assert smallest_preactivation(params, inputs, h0) > 1e-3
    grads = model.backward(params, model.forward(params, inputs, targets, h0, activation))
    eps = 1e-6
    for name in model.PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for index in np.ndindex(params[name].shape):
            shifted = {key: value.copy() for key, value in params.items()}
            shifted[name][index] += eps
            plus = direct_losses(shifted, inputs, targets, h0, activation).sum()
            shifted[name][index] -= 2 * eps
            minus = direct_losses(shifted, inputs, targets, h0, activation).sum()
            numeric[index] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_backward_returns_one_gradient_per_parameter_from_the_bptt_recursion():
    params, inputs, targets, h0 = small_problem(4)
    cache = model.forward(params, inputs, targets, h0)
    grads = model.backward(params, cache)
    assert isinstance(grads, dict) and sorted(grads) == sorted(model.PARAM_NAMES)
    for name, value in params.items():
        assert grads[name].shape == value.shape and grads[name].dtype == value.dtype, name
    # The recursion written out: d_t = W_hy^T dy_t + W_hh^T g_{t+1}, g_t = act'(z_t) * d_t.
    # The last step only receives its own loss's message.
    g = np.zeros((N, H))
    later = np.zeros(H)
    for t in range(N - 1, -1, -1):
        dy = cache.y[t] - np.eye(V)[targets[t]]
        g[t] = cache.dact[t] * (params["W_hy"].T @ dy + params["W_hh"].T @ later)
        later = g[t]
    np.testing.assert_allclose(grads["b_h"], g.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(grads["W_hh"], g.T @ cache.h[:-1], rtol=1e-13)


def test_local_messages_are_output_error_through_W_hy():
    params, inputs, targets, h0 = small_problem(5)
    cache = model.forward(params, inputs, targets, h0)
    expected = np.stack([params["W_hy"].T @ (cache.y[t] - np.eye(V)[targets[t]]) for t in range(N)])
    np.testing.assert_allclose(engine.local_messages(params, cache), expected, rtol=1e-13)
    np.testing.assert_allclose(
        base.output_error(cache.y, targets), cache.y - np.eye(V)[targets], rtol=0, atol=1e-15
    )


def test_model_is_the_vanilla_cell():
    assert model.forward is rnn.forward and model.backward is rnn.backward
    assert model.Cache is rnn.Cache and model.ACTIVATIONS == ("tanh", "relu")


def test_init_params_shapes_and_recurrent_scale():
    params = model.init_params(7, 50, np.random.default_rng(0), init_scale=0.5)
    assert check_params(params, "rnn") == (50, 7)
    radius = np.abs(np.linalg.eigvals(params["W_hh"])).max()
    assert 0.3 < radius < 0.7


def test_unknown_activation_message_names_choices():
    params, inputs, targets, h0 = small_problem(6)
    with pytest.raises(
        ValueError, match=r"activation must be one of \('tanh', 'relu'\), got 'gelu'"
    ):
        model.forward(params, inputs, targets, h0, activation="gelu")


def test_check_params_reports_missing_key():
    params, *_ = small_problem(7)
    del params["b_y"]
    with pytest.raises(ValueError, match=r"params is missing \['b_y'\]"):
        check_params(params, "rnn")


def test_check_params_reports_non_square_W_hh():
    params, *_ = small_problem(8)
    params["W_hh"] = np.zeros((H, H + 1))
    with pytest.raises(
        ValueError,
        match=r"params\['W_hh'\] must have shape \(H, H\) for the rnn cell, got \(6, 7\)",
    ):
        check_params(params, "rnn")


def test_check_params_reports_mismatched_output_layer():
    params, *_ = small_problem(9)
    params["W_hy"] = np.zeros((V + 1, H))
    with pytest.raises(
        ValueError, match=r"params\['W_hy'\] must have shape \(5, 6\).*got \(6, 6\)"
    ):
        check_params(params, "rnn")


def test_check_params_rejects_non_mapping():
    with pytest.raises(TypeError, match=r"params must be a dict of numpy arrays.*got list"):
        check_params([1, 2], "rnn")
