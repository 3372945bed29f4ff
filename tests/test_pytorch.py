"""The PyTorch backend against a brute-force oracle, autograd, and the numpy engine.

The oracle shares no code with ``rnnbow_widget``: it runs the model one step at a time with
PyTorch's own cell functions (``torch.rnn_tanh_cell``, ``torch.lstm_cell``, ``torch.gru_cell``;
an LSTM with a projection by its documented equations), gives every step its own copy of every
layer's weights, checks that its outputs are ``nn.RNN``'s, and differentiates each step's batch
loss separately: ``G[t, j]`` is then, by definition, the gradient of loss t w.r.t. step j's copy.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from functools import cache

import numpy as np
import pytest
import torch  # the dev extra pins it: without it this file fails, it does not skip
from torch import nn

from rnnbow_widget import itemize
from rnnbow_widget.cells import lstm as np_lstm
from rnnbow_widget.pytorch import (
    WRT_CHOICES,
    full_gradients,
    itemized_magnitudes,
    magnitudes_and_units,
)

NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru")
V = 5  # classes


# ---------------------------------------------------------------------------------------------
# Models and the oracle


def make_model(cell: str, num_layers: int, batch_first: bool, seed: int = 0, bias: bool = True):
    """A float64 RNN (weights large enough for gradients to reach far back) and a head."""
    torch.manual_seed(seed)
    kwargs = dict(num_layers=num_layers, batch_first=batch_first, bias=bias, dtype=torch.float64)
    input_size, H = 3, 4
    if cell.startswith("rnn"):
        rnn = nn.RNN(input_size, H, nonlinearity=cell[4:], **kwargs)
    elif cell.startswith("lstm"):
        rnn = nn.LSTM(input_size, H, proj_size=2 if cell == "lstm_proj" else 0, **kwargs)
    else:
        rnn = nn.GRU(input_size, H, **kwargs)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.randn_like(p) * (0.8 if "weight" in name else 0.3))
    head = nn.Linear(rnn.proj_size or H, V, dtype=torch.float64)
    return rnn, head


def make_chunk(rnn, n: int, B: int, seed: int = 1):
    """Time-major x (n, B, I), y (n, B), and a random initial state in PyTorch's format."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, B, rnn.input_size, generator=g, dtype=torch.float64)
    y = torch.randint(0, V, (n, B), generator=g)
    shape = (rnn.num_layers, B, rnn.proj_size or rnn.hidden_size)
    h0 = torch.randn(*shape, generator=g, dtype=torch.float64) * 0.5
    if rnn.mode == "LSTM":
        c0 = torch.randn(rnn.num_layers, B, rnn.hidden_size, generator=g, dtype=torch.float64)
        return x, y, (h0, c0 * 0.5)
    return x, y, h0


def as_layout(rnn, x, y):
    """x, y in the layout ``rnn`` takes (batch first or not)."""
    return (x.transpose(0, 1), y.transpose(0, 1)) if rnn.batch_first else (x, y)


def oracle_step(rnn, x, state, w):
    """One step of one layer by PyTorch's cell functions; ``w``: that step's weight copies."""
    args = (w["W_ih"], w["W_hh"], w.get("b_ih"), w.get("b_hh"))
    if rnn.mode == "LSTM":
        h, c = state
        if not rnn.proj_size:
            return torch.lstm_cell(x, (h, c), *args)
        # documented: the gates use h_{t-1} (proj_size); h_t = W_hr (o * tanh(c_t))
        gates = x @ args[0].T + h @ args[1].T
        if rnn.bias:
            gates = gates + args[2] + args[3]
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c)) @ w["W_hr"].T, c
    step = {"GRU": torch.gru_cell, "RNN_TANH": torch.rnn_tanh_cell, "RNN_RELU": torch.rnn_relu_cell}
    return (step[rnn.mode](x, state[0], *args),)


def oracle(rnn, head, x, y, state0, reduction="sum", example=None):
    """``G[(layer, wrt)]`` (n, n, *weight.shape) by unshared copies, one backward per loss:
    the batch loss at each step, or with ``example=b`` sequence b's own loss at each step."""
    n, B = y.shape
    L = rnn.num_layers
    wrts = list(NAMES) if rnn.bias else ["W_ih", "W_hh"]
    copies = {
        (k, wrt): [getattr(rnn, f"{NAMES[wrt]}_l{k}").detach().clone().requires_grad_() for _ in x]
        for k in range(L)
        for wrt in wrts
    }
    states = (
        [tuple(part[k] for part in state0) for k in range(L)]
        if isinstance(state0, tuple)
        else [(state0[k],) for k in range(L)]
    )
    outputs = []
    for j in range(n):
        inp = x[j]
        for k in range(L):
            w = {wrt: copies[k, wrt][j] for wrt in wrts}
            if rnn.proj_size:
                w["W_hr"] = getattr(rnn, f"weight_hr_l{k}").detach()
            states[k] = oracle_step(rnn, inp, states[k], w)
            inp = states[k][0]
        outputs.append(inp)
    out = torch.stack(outputs)
    real, _ = rnn(*as_layout(rnn, x, y)[:1], state0)
    real = real.transpose(0, 1) if rnn.batch_first else real
    torch.testing.assert_close(out, real.detach(), rtol=1e-12, atol=1e-12)  # the same model
    losses = nn.functional.cross_entropy(
        head(out).reshape(n * B, V), y.reshape(-1), reduction="none"
    )
    batch_losses = losses.reshape(n, B).sum(1) / (B if reduction == "mean" else 1)
    if example is not None:
        batch_losses = losses.reshape(n, B)[:, example]  # its own loss, whatever the reduction
    keys = list(copies)
    leaves = [leaf for key in keys for leaf in copies[key]]
    G = {key: np.zeros((n, n, *copies[key][0].shape)) for key in keys}
    for t in range(n):
        grads = torch.autograd.grad(batch_losses[t], leaves, retain_graph=True, allow_unused=True)
        for index, grad in enumerate(grads):
            key, j = keys[index // n], index % n
            if grad is not None:
                G[key][t, j] = grad.numpy()
    return G


def norms(G, norm: str, horizon: int | None):
    axes = tuple(range(2, G.ndim))
    sizes = np.sqrt((G**2).sum(axis=axes)) if norm == "fro" else np.abs(G).mean(axis=axes)
    if horizon is not None:
        t, j = np.indices(sizes.shape)
        sizes[t - j >= horizon] = 0.0
    return sizes


CASES = [
    (cell, layers, B, batch_first)
    for cell in CELLS
    for layers in (1, 2)
    for B in (1, 4)
    for batch_first in (False, True)
]


@cache
def case(
    cell: str, num_layers: int, B: int, batch_first: bool, reduction: str = "sum", example=None
):
    rnn, head = make_model(cell, num_layers, batch_first)
    x, y, state0 = make_chunk(rnn, n=6, B=B)
    return rnn, head, x, y, state0, oracle(rnn, head, x, y, state0, reduction, example)


# ---------------------------------------------------------------------------------------------
# Against the oracle


@pytest.mark.parametrize(("cell", "num_layers", "B", "batch_first"), CASES)
def test_magnitudes_equal_the_brute_force_oracle(cell, num_layers, B, batch_first) -> None:
    rnn, head, x, y, state0, G = case(cell, num_layers, B, batch_first)
    inputs, targets = as_layout(rnn, x, y)
    for layer in range(num_layers):
        for wrt in WRT_CHOICES:
            for norm in ("fro", "mean_abs"):
                for horizon in (None, 3):
                    got = itemized_magnitudes(
                        rnn, head, inputs, targets, state0,
                        layer=layer, wrt=wrt, norm=norm, horizon=horizon,
                    )  # fmt: skip
                    want = norms(G[layer, wrt], norm, horizon)
                    np.testing.assert_allclose(
                        got, want, rtol=1e-8, atol=0, err_msg=f"{layer=} {wrt=} {norm=} {horizon=}"
                    )
                    assert np.count_nonzero(want) == (21 if horizon is None else 15)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [False, True])
def test_one_sequences_own_magnitudes_equal_the_oracle(cell, num_layers, batch_first) -> None:
    """Sequence 1 of 4: the gradient of its own loss at step t on the copy used at step j."""
    rnn, head, x, y, state0, own = case(cell, num_layers, 4, batch_first, example=1)
    batch = case(cell, num_layers, 4, batch_first)[-1]
    inputs, targets = as_layout(rnn, x, y)
    for layer in range(num_layers):
        for wrt in WRT_CHOICES:
            for norm in ("fro", "mean_abs"):
                for horizon in (None, 3):
                    got, mine = itemized_magnitudes(
                        rnn, head, inputs, targets, state0,
                        layer=layer, wrt=wrt, norm=norm, horizon=horizon, example=1,
                    )  # fmt: skip
                    message = f"{layer=} {wrt=} {norm=} {horizon=}"
                    want = norms(own[layer, wrt], norm, horizon)
                    np.testing.assert_allclose(mine, want, rtol=1e-8, atol=0, err_msg=message)
                    assert np.count_nonzero(want) == (21 if horizon is None else 15)
                    batch_want = norms(batch[layer, wrt], norm, horizon)
                    np.testing.assert_allclose(got, batch_want, rtol=1e-8, err_msg=message)
                    assert not np.allclose(mine, got)  # one sequence is not the batch


def test_a_sequences_own_magnitudes_do_not_depend_on_the_reduction() -> None:
    """With reduction="mean" the batch's are divided by the batch size; the sequence's own
    loss is its own loss, unscaled."""
    rnn, head, x, y, state0, own = case("lstm", 2, 4, False, example=3)
    summed, mine = itemized_magnitudes(rnn, head, x, y, state0, layer=0, example=3)
    mean, mine_mean = itemized_magnitudes(
        rnn, head, x, y, state0, layer=0, example=3, reduction="mean"
    )
    np.testing.assert_allclose(mine, norms(own[0, "W_hh"], "fro", None), rtol=1e-8)
    np.testing.assert_array_equal(mine_mean, mine)
    np.testing.assert_allclose(mean * 4, summed, rtol=1e-12)


def test_a_batch_of_one_is_its_own_example() -> None:
    rnn, head, x, y, state0, _ = case("gru", 2, 1, True)
    inputs, targets = as_layout(rnn, x, y)
    for norm in ("fro", "mean_abs"):
        got, mine = itemized_magnitudes(rnn, head, inputs, targets, state0, norm=norm, example=0)
        np.testing.assert_allclose(mine, got, rtol=1e-12)
        got, mine = itemized_magnitudes(
            rnn, head, x[:, 0], y[:, 0], state0[:, 0], norm=norm, example=0
        )
        np.testing.assert_allclose(mine, got, rtol=1e-12)  # unbatched: the one sequence


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_full_gradients_equal_the_oracle_and_sum_to_autograds(cell, num_layers) -> None:
    rnn, head, x, y, state0, G = case(cell, num_layers, 4, False)
    total = nn.functional.cross_entropy(
        head(rnn(x, state0)[0]).reshape(-1, V), y.reshape(-1), reduction="sum"
    )
    for layer in range(num_layers):
        weights = [getattr(rnn, f"{NAMES[wrt]}_l{layer}") for wrt in WRT_CHOICES]
        autograd = torch.autograd.grad(total, weights, retain_graph=True)
        for wrt, want in zip(WRT_CHOICES, autograd, strict=True):
            got = full_gradients(rnn, head, x, y, state0, layer=layer, wrt=wrt)
            np.testing.assert_allclose(got, G[layer, wrt], rtol=1e-8, atol=1e-14)
            np.testing.assert_allclose(got.sum(axis=(0, 1)), want.numpy(), rtol=1e-9, atol=1e-13)
            assert np.all(got[np.triu_indices(6, 1)] == 0)  # nothing flows forward in time


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_mean_reduction_divides_each_steps_loss_by_the_batch(cell) -> None:
    rnn, head, x, y, state0, _ = case(cell, 2, 4, False)
    G = case(cell, 2, 4, False, reduction="mean")[-1]
    got = itemized_magnitudes(rnn, head, x, y, state0, layer=0, reduction="mean")
    np.testing.assert_allclose(got, norms(G[0, "W_hh"], "fro", None), rtol=1e-8)
    summed = itemized_magnitudes(rnn, head, x, y, state0, layer=0)
    np.testing.assert_allclose(got * 4, summed, rtol=1e-10)


def test_units_are_the_row_norms_of_each_hidden_unit() -> None:
    for cell in ("rnn_tanh", "lstm_proj", "gru"):
        rnn, head, x, y, state0, G = case(cell, 2, 4, False)
        for wrt in WRT_CHOICES:
            m, units = magnitudes_and_units(rnn, head, x, y, state0, layer=0, wrt=wrt, horizon=4)
            full = G[0, wrt]
            full = full if full.ndim == 4 else full[..., None]
            rows = np.sqrt((full**2).sum(axis=3))  # (n, n, G H): the norm of each row
            want = np.sqrt((rows.reshape(6, 6, -1, 4) ** 2).sum(axis=2))  # unit i: rows i, H+i..
            want[np.subtract.outer(np.arange(6), np.arange(6)) >= 4] = 0
            np.testing.assert_allclose(units, want, rtol=1e-8, atol=1e-15)
            np.testing.assert_allclose((units**2).sum(axis=2), m**2, rtol=1e-10, atol=1e-30)


def test_unbatched_inputs_are_one_example() -> None:
    rnn, head, x, y, state0, _ = case("gru", 2, 1, False)
    batched = itemized_magnitudes(rnn, head, x, y, state0, layer=0)
    unbatched = itemized_magnitudes(rnn, head, x[:, 0], y[:, 0], state0[:, 0], layer=0)
    np.testing.assert_array_equal(unbatched, batched)


def test_ignored_targets_give_what_the_shorter_sequence_gives() -> None:
    # padding: example 1 ends after 4 steps; its targets from step 4 on are -100
    rnn, head, x, y, (h0, c0), _ = case("lstm", 1, 4, False)
    padded = y.clone()
    padded[4:, 1] = -100
    got = itemized_magnitudes(rnn, head, x, padded, (h0, c0), norm="mean_abs")
    # the same, summed by hand: examples 0, 2, 3 whole, example 1 on its 4 steps only
    others = [0, 2, 3]
    rest = full_gradients(rnn, head, x[:, others], y[:, others], (h0[:, others], c0[:, others]))
    short = full_gradients(rnn, head, x[:4, [1]], y[:4, [1]], (h0[:, [1]], c0[:, [1]]))
    rest[:4, :4] += short
    np.testing.assert_allclose(got, np.abs(rest).mean(axis=(2, 3)), rtol=1e-10)


def test_a_callable_loss_is_used_per_example() -> None:
    rnn, head, x, y, state0, _ = case("rnn_tanh", 2, 4, False)

    def cross_entropy(logits, targets):  # (n, B, V), (n, B) -> (n, B)
        return -torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]

    got = itemized_magnitudes(rnn, head, x, y, state0, loss=cross_entropy, reduction="mean")
    want = itemized_magnitudes(rnn, head, x, y, state0, reduction="mean")
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_no_bias_layers_are_itemized() -> None:
    for cell in ("rnn_relu", "lstm", "gru"):
        rnn, head = make_model(cell, 2, False, bias=False)
        x, y, state0 = make_chunk(rnn, n=5, B=2)
        G = oracle(rnn, head, x, y, state0)
        for wrt in ("W_ih", "W_hh"):
            got = itemized_magnitudes(rnn, head, x, y, state0, layer=0, wrt=wrt)
            np.testing.assert_allclose(got, norms(G[0, wrt], "fro", None), rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# Against the numpy engine


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm"])
def test_one_layer_rnn_and_lstm_equal_the_numpy_engine(cell) -> None:
    """Our cells for the same weights: one-hot inputs, ``W_xh = W_ih``, ``b_h = b_ih + b_hh``,
    the gate order i, f, g, o of both, ``W_hy, b_y`` the head's."""
    torch.manual_seed(3)
    Vocab, H, n = 6, 5, 9
    rnn = (
        nn.RNN(Vocab, H, nonlinearity=cell[4:], dtype=torch.float64)
        if cell != "lstm"
        else nn.LSTM(Vocab, H, dtype=torch.float64)
    )
    head = nn.Linear(H, Vocab, dtype=torch.float64)
    params = {
        "W_xh": rnn.weight_ih_l0.detach().numpy(),
        "W_hh": rnn.weight_hh_l0.detach().numpy(),
        "b_h": (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy(),
        "W_hy": head.weight.detach().numpy(),
        "b_y": head.bias.detach().numpy(),
    }
    rng = np.random.default_rng(0)
    inputs, targets = rng.integers(0, Vocab, n), rng.integers(0, Vocab, n)
    h0 = rng.standard_normal((2, H)) * 0.5
    x = nn.functional.one_hot(torch.from_numpy(inputs), Vocab).to(torch.float64)
    y = torch.from_numpy(targets)
    state0 = (
        (torch.from_numpy(h0[:1]), torch.from_numpy(h0[1:]))
        if cell == "lstm"
        else torch.from_numpy(h0[:1])
    )
    np_cell = "lstm" if cell == "lstm" else "rnn"
    activation = "relu" if cell == "rnn_relu" else "tanh"
    np_state = h0 if cell == "lstm" else h0[0]
    for ours, theirs in [("W_hh", "W_hh"), ("W_ih", "W_xh"), ("b_ih", "b_h"), ("b_hh", "b_h")]:
        for norm in ("fro", "mean_abs"):
            for horizon in (None, 4):
                want = itemize.itemized_gradients(
                    params, inputs, targets, np_state, cell=np_cell, wrt=theirs, norm=norm,
                    horizon=horizon, activation=activation, units=True,
                )  # fmt: skip
                got, units = magnitudes_and_units(
                    rnn, head, x, y, state0, wrt=ours, norm=norm, horizon=horizon
                )
                np.testing.assert_allclose(got, want.magnitudes, rtol=1e-10, atol=0)
                np.testing.assert_allclose(units, want.units, rtol=1e-10, atol=1e-300)
    assert np_lstm.GATES == ("i", "f", "g", "o")  # PyTorch's order: no reordering above


# ---------------------------------------------------------------------------------------------
# Leaving the user's training alone; dtype and device


def test_the_model_its_gradients_rng_and_mode_are_left_as_they_were() -> None:
    rnn, head = make_model("lstm", 2, True)
    rnn.dropout = 0.5  # would draw random masks if the RNN's own forward ran in train mode
    head = nn.Sequential(nn.Dropout(0.3), head)  # draws: its random state must be restored
    x, y, state0 = make_chunk(rnn, n=5, B=3)
    inputs, targets = as_layout(rnn, x, y)
    rnn.train()
    head.eval()
    head[0].train()
    for p in rnn.parameters():
        p.grad = torch.randn_like(p)
    rnn.weight_hh_l1.grad = None
    before = {name: p.detach().clone() for name, p in rnn.named_parameters()}
    grads = {name: p.grad.clone() for name, p in rnn.named_parameters() if p.grad is not None}
    rng = torch.get_rng_state()
    itemized_magnitudes(rnn, head, inputs, targets, state0, layer=0, dtype=torch.float32)
    magnitudes_and_units(rnn, head, inputs, targets, state0, wrt="b_ih")
    assert torch.equal(torch.get_rng_state(), rng)
    for name, p in rnn.named_parameters():
        assert torch.equal(p.detach(), before[name]), name
        assert (p.grad is None) == (name not in grads), name
        assert p.grad is None or torch.equal(p.grad, grads[name]), name
    assert rnn.training and not head.training and head[0].training
    assert all(p.grad is None for p in head.parameters())


def test_it_runs_under_no_grad_inference_mode_and_autocast() -> None:
    rnn, head, x, y, state0, _ = case("gru", 2, 4, False)
    want = itemized_magnitudes(rnn, head, x, y, state0, layer=0)
    with torch.no_grad():
        assert np.array_equal(itemized_magnitudes(rnn, head, x, y, state0, layer=0), want)
    with torch.inference_mode():
        xi, yi = x.clone(), y.clone()  # inference tensors
        assert np.array_equal(itemized_magnitudes(rnn, head, xi, yi, state0, layer=0), want)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert np.array_equal(itemized_magnitudes(rnn, head, x, y, state0, layer=0), want)


def test_a_float32_model_runs_in_float32_or_in_float64_on_request() -> None:
    rnn64, head64, x, y, state0, G = case("lstm", 2, 4, False)
    rnn, head = make_model("lstm", 2, False)
    rnn.float()
    head.float()
    state32 = tuple(part.float() for part in state0)
    want = norms(G[0, "W_hh"], "fro", None)
    got32 = itemized_magnitudes(rnn, head, x.float(), y, state32, layer=0)
    np.testing.assert_allclose(got32, want, rtol=1e-4)
    assert not np.array_equal(got32, itemized_magnitudes(rnn64, head64, x, y, state0, layer=0))
    got64 = itemized_magnitudes(rnn, head, x.float(), y, state32, layer=0, dtype=torch.float64)
    want64 = itemized_magnitudes(
        rnn.double(), head.double(), x.float().double(), y, tuple(s.double() for s in state32),
        layer=0,
    )  # fmt: skip
    np.testing.assert_allclose(got64, want64, rtol=1e-12)
    assert rnn.weight_hh_l0.dtype == torch.float64  # rnn.double() above, not the call


def test_float32_tails_at_lag_20_and_beyond_do_not_underflow() -> None:
    """Small recurrent weights: at lag >= 20 the gradients are ~1e-27, whose squares (1e-54)
    are zero in float32; summed as float64 they keep their size."""
    torch.manual_seed(5)
    n = 30
    rnn, head = nn.RNN(4, 8), nn.Linear(8, V)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(0.1)
    x, y, h0 = torch.randn(n, 2, 4), torch.randint(0, V, (n, 2)), torch.randn(1, 2, 8)
    exact = itemized_magnitudes(rnn, head, x, y, h0, dtype=torch.float64)
    lags = np.subtract.outer(np.arange(n), np.arange(n))
    tail = exact[lags >= 20]
    assert tail.max() < 1e-20 and np.float32(tail.max()) ** 2 == 0  # would underflow in float32
    for norm in ("fro", "mean_abs"):
        got = itemized_magnitudes(rnn, head, x, y, h0, norm=norm)  # float32, the model's dtype
        want = itemized_magnitudes(rnn, head, x, y, h0, norm=norm, dtype=torch.float64)
        assert np.all(got[lags >= 20] > 0)
        np.testing.assert_allclose(got[lags >= 0], want[lags >= 0], rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# Arguments


@pytest.fixture
def small():
    rnn, head, x, y, state0, _ = case("lstm", 2, 4, False)
    return rnn, head, x, y, state0


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (dict(wrt="W_xh"), ValueError, r"wrt must be one of \('W_hh', 'W_ih', 'b_ih', 'b_hh'\)"),
        (dict(norm="max"), ValueError, "norm must be one of"),
        (dict(reduction="none"), ValueError, "reduction must be one of"),
        (dict(layer=2), ValueError, r"layer must be an int in \[-2, 1\], got 2"),
        (dict(horizon=0), ValueError, "horizon must be >= 1"),
        (dict(loss="mse"), ValueError, "loss must be 'cross_entropy' or a callable"),
        (dict(dtype=torch.int64), TypeError, "dtype must be a torch floating dtype"),
        (dict(example=4), ValueError, r"example=4 is out of range for a batch of 4 sequences"),
        (dict(example=-1), ValueError, r"example must be an int >= 0, got -1"),
        (dict(example=1.5), TypeError, r"example must be an int >= 0, got 1.5"),
        (dict(head="linear"), TypeError, "head must map the RNN's output to logits"),
        (dict(head=lambda out: out.sum(0)), ValueError, r"head must map .* \(n, B, V\)"),
        (dict(inputs=torch.zeros(6, 4, 7, dtype=torch.float64)), ValueError, "input_size = 3"),
        (dict(inputs=torch.zeros(6, 4, 3, dtype=torch.long)), TypeError, "inputs must be a float"),
        (dict(targets=torch.zeros(4, 6).long()), ValueError, r"targets must have shape \(n, B\)"),
        (dict(targets=torch.full((6, 4), 5)), ValueError, r"class indices in \[0, 5\)"),
        (dict(targets=torch.zeros(6, 4)), TypeError, "targets must hold integer class indices"),
        (dict(state0=torch.zeros(2, 4, 2)), TypeError, r"state0 must be the pair \(h0, c0\)"),
        (dict(state0=(torch.zeros(2, 4, 4), torch.zeros(2, 4, 2))), ValueError,
         r"state0's c0 must have shape \(num_layers, B, H\) = \(2, 4, 4\)"),
    ],
)  # fmt: skip
def test_bad_arguments_get_errors_that_name_them(small, change, error, message) -> None:
    rnn, head, x, y, state0 = small
    args = dict(rnn=rnn, head=head, inputs=x, targets=y, state0=state0) | change
    with pytest.raises(error, match=message):
        itemized_magnitudes(**args)


def test_bidirectional_rnns_are_refused_with_the_reason() -> None:
    rnn = nn.GRU(3, 4, bidirectional=True)
    with pytest.raises(ValueError, match="rnn must not be bidirectional: itemizing over time"):
        itemized_magnitudes(rnn, nn.Linear(8, V), torch.randn(5, 1, 3), torch.zeros(5, 1).long())


def test_other_modules_packed_sequences_and_missing_biases_are_refused() -> None:
    with pytest.raises(TypeError, match=r"rnn must be an nn\.RNN, nn\.LSTM or nn\.GRU, got Linear"):
        itemized_magnitudes(nn.Linear(3, 4), nn.Linear(4, V), torch.randn(5, 3), torch.zeros(5))
    rnn = nn.RNN(3, 4, bias=False)
    with pytest.raises(ValueError, match=r"wrt='b_hh' but rnn has no biases \(bias=False\)"):
        itemized_magnitudes(rnn, nn.Linear(4, V), torch.randn(5, 3), torch.zeros(5), wrt="b_hh")
    packed = nn.utils.rnn.pack_sequence([torch.randn(5, 3), torch.randn(3, 3)])
    with pytest.raises(TypeError, match="pad_packed_sequence and give the padded positions"):
        itemized_magnitudes(rnn, nn.Linear(4, V), packed, torch.zeros(5, 2).long())


# ---------------------------------------------------------------------------------------------
# Packaging


def test_importing_rnnbow_widget_never_imports_torch() -> None:
    code = (
        "import sys, rnnbow_widget, rnnbow_widget.itemize, rnnbow_widget.recording; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_torch_the_backend_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"  # `import torch` now raises ImportError
        "try:\n    import rnnbow_widget.pytorch\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert 'pip install "rnnbow_widget[torch]"' in out.stdout


def test_the_docstring_examples_run() -> None:
    import rnnbow_widget.pytorch as package
    from rnnbow_widget.pytorch import itemize as module

    for mod in (package, module):
        result = doctest.testmod(mod)
        assert result.attempted > 0 and result.failed == 0
