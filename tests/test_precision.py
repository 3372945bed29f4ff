"""Single-precision training (``CharRNNTrainer(dtype="float32")``) for every cell."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnbow_widget import Recording, cells, itemize
from rnnbow_widget.trainer import CELLS, CharRNNTrainer, TrainingDivergedError

TEXT = (
    "int main(void) {\n    return add(a, b) * 2;\n}\n"
    "static int add(int x, int y) { return x + y; }\n"
) * 8
SMALL = {"hidden_size": 12, "seq_length": 6}


def _trainer(**kwargs) -> CharRNNTrainer:
    return CharRNNTrainer(TEXT, **{**SMALL, **kwargs})


def _cell_module(name: str):
    return cells.get_cell(name)


def _random_state(cell: str, H: int, rng: np.random.Generator) -> np.ndarray:
    """A carried state for ``cell`` (LSTM: ``[h; c]``), float64, entries around +-0.5."""
    return rng.standard_normal((2, H) if cell == "lstm" else H) * 0.5


@pytest.mark.parametrize("cell", CELLS)
def test_float32_trainer_keeps_parameters_state_and_optimizer_in_float32(cell: str) -> None:
    trainer = _trainer(cell=cell, dtype="float32", record_every=3)
    trainer.train(7, progress=False)
    assert trainer.dtype == "float32"
    assert {p.dtype for p in trainer.params.values()} == {np.dtype(np.float32)}
    assert trainer.hidden_state.dtype == np.float32
    assert {a.dtype for a in trainer.optimizer.state_arrays} == {np.dtype(np.float32)}
    assert trainer.recording.meta["dtype"] == "float32"
    assert all(np.isfinite(p).all() for p in trainer.params.values())


def test_default_precision_is_float64_and_numpy_types_are_accepted() -> None:
    assert _trainer().params["W_hh"].dtype == np.float64
    assert _trainer().recording.meta["dtype"] == "float64"
    assert _trainer(dtype=np.float32).dtype == "float32"
    assert _trainer(dtype=np.dtype("float64")).dtype == "float64"


@pytest.mark.parametrize("bad", ["float16", "double precision", 3, None, np.int32])
def test_unknown_dtype_is_refused_with_the_choices(bad: object) -> None:
    message = "dtype must be one of ('float64', 'float32'), got"
    with pytest.raises(ValueError, match=re.escape(message)):
        _trainer(dtype=bad)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_backward_matches_float64_backward_of_the_same_values(cell: str) -> None:
    # The float32 passes compute the same function: on the same (float32-representable)
    # parameters and chunk they agree with float64 to single precision.
    module = _cell_module(cell)
    rng = np.random.default_rng(3)
    V, H, n = 7, 6, 5
    params32 = {k: v.astype(np.float32) for k, v in module.init_params(V, H, rng, 1.0).items()}
    params64 = {k: v.astype(np.float64) for k, v in params32.items()}
    state = _random_state(cell, H, rng)
    x, y = rng.integers(0, V, n), rng.integers(0, V, n)
    cache32 = module.forward(params32, x, y, state.astype(np.float32))
    cache64 = module.forward(params64, x, y, state)
    assert cache32.y.dtype == np.float32
    np.testing.assert_allclose(cache32.losses, cache64.losses, rtol=1e-5)
    grads32 = module.backward(params32, cache32)
    grads64 = module.backward(params64, cache64)
    for name, g64 in grads64.items():
        assert grads32[name].dtype == np.float32, name
        scale = np.abs(g64).max()
        np.testing.assert_allclose(grads32[name], g64, rtol=0, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_records_hold_the_float64_itemization_of_the_float32_model(cell: str) -> None:
    trainer = _trainer(cell=cell, dtype="float32", record_every=1000)
    trainer.train(5, progress=False)
    params = {k: v.copy() for k, v in trainer.params.items()}
    state, start = trainer.hidden_state, trainer.position
    rec = trainer.step()
    module = _cell_module(cell)
    data = np.array([trainer.vocab.index(c) for c in TEXT[start : start + 7]])
    cache = module.forward(params, data[:-1], data[1:], state)
    expected = itemize.magnitudes_from_cache(params, cache)
    assert expected.dtype == np.float64
    np.testing.assert_allclose(rec.magnitudes, expected, rtol=1e-6)
    np.testing.assert_allclose(rec.losses, cache.losses, rtol=1e-6)


def test_float32_training_follows_float64_training_closely_at_first() -> None:
    single, double = _trainer(dtype="float32"), _trainer(dtype="float64")
    single.train(5, progress=False)
    double.train(5, progress=False)
    np.testing.assert_allclose(single.loss_history, double.loss_history, rtol=1e-4)
    assert not np.array_equal(single.loss_history, double.loss_history)


def test_float32_training_is_deterministic_and_resumable() -> None:
    one, two = _trainer(dtype="float32"), _trainer(dtype="float32")
    one.train(20, progress=False)
    two.train(9, progress=False)
    two.train(11, progress=False)
    for name, p in one.params.items():
        np.testing.assert_array_equal(p, two.params[name], err_msg=name)


def test_float32_training_lowers_the_loss_as_much_as_float64() -> None:
    final = {}
    for dtype in ("float32", "float64"):
        trainer = CharRNNTrainer("abcabd" * 50, hidden_size=16, seq_length=10, dtype=dtype)
        first = trainer.train(20, progress=False)
        trainer.train(300, progress=False)
        final[dtype] = trainer.train(20, progress=False)
        assert final[dtype] < 0.5 * first
    assert final["float32"] == pytest.approx(final["float64"], rel=0.05)


def test_float32_divergence_is_rolled_back() -> None:
    trainer = _trainer(dtype="float32", optimizer="sgd", learning_rate=1e38, clip=None)
    trainer.params["b_y"][:] = 3e38  # finite in float32; the SGD step leaves its range
    before = {k: v.copy() for k, v in trainer.params.items()}
    with pytest.raises(TrainingDivergedError, match="the parameters became non-finite"):
        trainer.train(3, progress=False)
    for name, p in before.items():
        np.testing.assert_array_equal(trainer.params[name], p, err_msg=name)
    assert trainer.steps_done == 0


def test_float32_recording_round_trips_through_a_file(tmp_path) -> None:
    trainer = _trainer(dtype="float32", record_every=2)
    trainer.train(6, progress=False)
    path = tmp_path / "single.npz"
    trainer.recording.save(path)
    loaded = Recording.load(path)
    assert loaded.meta["dtype"] == "float32"
    np.testing.assert_array_equal(loaded[-1].magnitudes, trainer.recording[-1].magnitudes)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_runs_keep_the_vanishing_tail_below_the_float32_range(cell: str) -> None:
    # With small recurrent weights the far-back contributions fall below float32's smallest
    # number (1.4e-45); the engine still computes them (in float64) from the float32 model.
    module = _cell_module(cell)
    rng = np.random.default_rng(5)
    V, H, n = 9, 8, 24
    params32 = {k: v.astype(np.float32) for k, v in module.init_params(V, H, rng, 0.002).items()}
    if cell != "rnn":
        # Shut the gate that carries memory straight through (LSTM forget, GRU update):
        # otherwise the gated cells keep their gradient far too well for this test.
        params32["b_h"][H : 2 * H] = -20.0
    params64 = {k: v.astype(np.float64) for k, v in params32.items()}
    x, y = rng.integers(0, V, n), rng.integers(0, V, n)
    state = _random_state(cell, H, rng).astype(np.float32)
    cache32 = module.forward(params32, x, y, state)
    cache64 = module.forward(params64, x, y, state.astype(np.float64))
    tail32 = itemize.magnitudes_from_cache(params32, cache32)
    tail64 = itemize.magnitudes_from_cache(params64, cache64)
    far = tail64[n - 1, 0]
    assert 0 < far < 1e-45, f"the fixture should reach below float32's range, got {far}"
    assert tail32[n - 1, 0] > 0
    # The float32 forward pass rounds its values (and a nearly shut gate, sigmoid(-20),
    # has few correct digits in float32), so the float32 model's tail is close, not equal.
    np.testing.assert_allclose(tail32, tail64, rtol=1e-2, atol=0)
