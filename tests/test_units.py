"""Per-unit drilldown: the identity with the magnitudes, storage budget and thinning, the
request/answer message, save/load, the export, and errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from rnnbow_widget import itemize, model, payload, units
from rnnbow_widget.cells import gru, lagwalk, lstm
from rnnbow_widget.export import exported_units, render_html
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.units import UnitStore, answer_request, unit_contributions, units_message
from rnnbow_widget.widget import RNNbow

TEXT = "int main(void) { return 0; }\n/* a comment */ for (i = 0; i < n; i++) x += i;\n" * 20


def vanilla_case(H: int = 5, n: int = 6, V: int = 7):
    rng = np.random.default_rng(3)
    params = model.init_params(V, H, rng, 0.9)
    inputs, targets = rng.integers(0, V, n), rng.integers(0, V, n)
    cache = model.forward(params, inputs, targets, rng.standard_normal(H) * 0.5)
    return params, cache


def gated_case(cell, H: int = 4, n: int = 6, V: int = 7):
    rng = np.random.default_rng(5)
    params = cell.init_params(V, H, rng, 0.9)
    state0 = cell.initial_state(H) + 0.3
    return params, cell.forward(params, rng.integers(0, V, n), rng.integers(0, V, n), state0)


def packed_to_square(values: np.ndarray, n: int) -> np.ndarray:
    rows, cols = np.tril_indices(n)
    out = np.zeros((n, n, values.shape[1]))
    out[rows, cols] = values
    return out


# ---------------------------------------------------------------- the identity


@pytest.mark.parametrize("horizon", [None, 3])
def test_squared_units_sum_to_squared_magnitudes_vanilla(horizon):
    params, cache = vanilla_case()
    m, u = itemize.magnitudes_and_units_from_cache(params, cache, horizon=horizon)
    np.testing.assert_allclose(m, itemize.magnitudes_from_cache(params, cache, horizon=horizon))
    square = packed_to_square(u, len(cache.inputs))
    np.testing.assert_allclose((square**2).sum(axis=2), m**2, rtol=1e-12, atol=1e-300)
    if horizon is not None:
        assert not square[5, 1].any() and square[5, 3].any()


def test_vanilla_unit_is_g_times_norm_of_previous_state():
    """u[t, j, i] = |g_{t,j}[i]| * ||h_{j-1}||, checked against the full itemized tensor."""
    params, cache = vanilla_case(H=3, n=4)
    full = itemize.itemized_gradients(
        params, cache.inputs, cache.targets, cache.h[0], full=True
    ).full
    _, u = itemize.magnitudes_and_units_from_cache(params, cache)
    square = packed_to_square(u, 4)
    np.testing.assert_allclose(square, np.linalg.norm(full, axis=3), rtol=1e-12)


@pytest.mark.parametrize("cell", [lstm, gru], ids=["lstm", "gru"])
@pytest.mark.parametrize("wrt", ["W_hh", "W_xh", "b_h"])
def test_squared_units_sum_to_squared_magnitudes_gated(cell, wrt):
    params, cache = gated_case(cell)
    m, u = cell.itemized_magnitudes_and_units(params, cache, wrt=wrt)
    np.testing.assert_allclose(m, cell.itemized_magnitudes(params, cache, wrt=wrt))
    square = packed_to_square(u, 6)
    np.testing.assert_allclose((square**2).sum(axis=2), m**2, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("cell", [lstm, gru], ids=["lstm", "gru"])
def test_gated_unit_combines_the_rows_of_all_its_gates(cell):
    """Unit i = norm of rows i, H + i, 2H + i, ... of the full itemized W_hh gradient."""
    params, cache = gated_case(cell, H=3, n=4)
    state0 = np.stack([cache.h[0], cache.c[0]]) if cell is lstm else cache.h[0]
    full = cell.itemized_gradients(params, cache.inputs, cache.targets, state0, full=True).full
    n, _, P, H = full.shape
    by_unit = full.reshape(n, n, P // H, H, H)  # [t, j, gate, unit, column]
    expected = np.sqrt((by_unit**2).sum(axis=(2, 4)))
    _, u = cell.itemized_magnitudes_and_units(params, cache)
    np.testing.assert_allclose(packed_to_square(u, 4), expected, rtol=1e-10, atol=1e-300)


MAGNITUDES_AND_UNITS = {
    "rnn": itemize.magnitudes_and_units_from_cache,
    "lstm": lstm.itemized_magnitudes_and_units,
    "gru": gru.itemized_magnitudes_and_units,
}


def packed_rows(n: int, horizon: int | None) -> np.ndarray:
    t, j = lagwalk.pair_indices(n, n if horizon is None else horizon)
    return t * (t + 1) // 2 + j


@pytest.mark.parametrize("horizon", [None, 2, 6, 9])
@pytest.mark.parametrize("wrt", ["W_hh", "W_xh", "b_h"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_pair_order_is_the_triangle_rearranged(cell, wrt, horizon):
    gated = {"lstm": lstm, "gru": gru}
    params, cache = gated_case(gated[cell]) if cell in gated else vanilla_case()
    both = MAGNITUDES_AND_UNITS[cell]
    m, triangle = both(params, cache, wrt=wrt, horizon=horizon)
    m_pairs, pairs = both(params, cache, wrt=wrt, horizon=horizon, pair_order=True)
    rows = packed_rows(6, horizon)
    np.testing.assert_array_equal(m_pairs, m)
    assert pairs.shape == (len(rows), triangle.shape[1]) and pairs.dtype == np.float64
    np.testing.assert_array_equal(pairs, triangle[rows])
    beyond = np.ones(len(triangle), dtype=bool)
    beyond[rows] = False
    assert not triangle[beyond].any()


def test_magnitudes_and_units_share_the_squared_norms_of_one_block():
    params, cache = vanilla_case()
    g, k, _ = itemize._itemized_preactivation_grads(params, cache, 3)
    block = lagwalk.RecurrentBlock(slice(0, 5), cache.h_prev)
    m = itemize._magnitudes(g, 6, k, "W_hh", "fro", cache, block)
    assert "squared_norms" in vars(block)
    np.testing.assert_allclose(block.squared_norms, (cache.h_prev**2).sum(axis=1), rtol=1e-14)
    np.testing.assert_array_equal(m, itemize.magnitudes_from_cache(params, cache, horizon=3))
    t, j = lagwalk.pair_indices(6, 3)
    u = unit_contributions(g, t, j, 6, 5, [block], pair_order=True)
    expected = np.abs(g) * np.linalg.norm(cache.h_prev, axis=1)[j, None]
    np.testing.assert_allclose(u, expected, rtol=1e-14)


def test_pair_matrix_places_each_pair_and_zeros_the_rest():
    t, j = lagwalk.pair_indices(4, 2)
    m = lagwalk.pair_matrix(np.arange(1.0, 8.0), 4, 2)
    assert m[t, j].tolist() == list(range(1, 8)) and np.count_nonzero(m) == 7


def test_unit_contributions_rejects_a_width_that_is_not_a_multiple_of_hidden_size():
    with pytest.raises(ValueError, match="g has 5 columns, not a multiple of hidden_size = 2"):
        unit_contributions(np.ones((1, 5)), np.array([0]), np.array([0]), 1, 2)


# ---------------------------------------------------------------- storage


def test_trainer_stores_units_for_every_record_under_budget():
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, record_every=3)
    trainer.train(30, progress=False)
    store = trainer.recording.units
    assert store.indices == list(range(10)) and store.stride == 1
    assert store.record_bytes == 55 * 8 * 2 and store.nbytes == 10 * 880
    rec = trainer.recording[4]
    u = store.get(4)
    # bfloat16 keeps ~3 significant digits; the identity holds to that precision.
    np.testing.assert_allclose(np.sqrt((u.astype(np.float64) ** 2).sum(axis=2)), rec.magnitudes,
                               rtol=2e-2, atol=1e-30)  # fmt: skip


def _chunk_before_step(trainer: CharRNNTrainer):
    """Parameters, inputs, targets and state the trainer's next step will use."""
    n, p = trainer.seq_length, trainer.position
    state = trainer.hidden_state
    if p + n + 1 > len(trainer._data):
        p, state = 0, trainer._cell.initial_state(trainer.hidden_size)
    params = {name: value.copy() for name, value in trainer.params.items()}
    return params, trainer._data[p : p + n], trainer._data[p + 1 : p + n + 1], state


@pytest.mark.parametrize(
    ("cell", "horizon"), [("rnn", 5), ("rnn", None), ("lstm", 5), ("gru", 5), ("rnn", 30)]
)
def test_trainer_with_a_horizon_stores_the_triangle_of_the_cache_function(cell, horizon):
    """What the trainer stores is, bit for bit, the old packed-triangle units in bfloat16."""
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, record_every=1, cell=cell,
                             horizon=horizon)  # fmt: skip
    trainer.train(3, progress=False)
    module = {"rnn": model, "lstm": lstm, "gru": gru}[cell]
    both = MAGNITUDES_AND_UNITS[cell]
    for _ in range(3):
        params, inputs, targets, state = _chunk_before_step(trainer)
        cache = module.forward(params, inputs, targets, state)
        m, triangle = both(params, cache, horizon=horizon)
        rec = trainer.step()
        store = trainer.recording.units
        assert store.horizon == (5 if horizon == 5 else None)
        np.testing.assert_array_equal(rec.magnitudes, m.astype(np.float32))
        np.testing.assert_array_equal(
            store.packed(rec.index), payload.float32_to_bfloat16(triangle)
        )
        np.testing.assert_allclose(store.get(rec.index), packed_to_square(triangle, 10),
                                   rtol=2**-8, atol=0)  # fmt: skip


def test_a_store_with_another_horizon_gets_the_triangle_from_the_trainer():
    band = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    full = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    full.recording.units = UnitStore(8, 6)  # every pair: the trainer hands it the triangle
    band.train(4, progress=False)
    full.train(4, progress=False)
    assert full.recording.units.rows == 36 and band.recording.units.rows == 21
    for index in range(4):
        np.testing.assert_array_equal(
            full.recording.units.packed(index), band.recording.units.packed(index)
        )


def test_thinning_keeps_an_even_spread_within_budget_and_the_newest():
    store = UnitStore(seq_length=4, hidden_size=3, budget_mb=10 * 60 / 2**20)  # 10 records
    assert store.record_bytes == 60 and store.capacity == 10
    for i in range(37):
        store.put(i, np.full((10, 3), float(i)))
        on_stride = [k for k in store.indices if k % store.stride == 0]
        assert len(on_stride) <= store.capacity
    assert store.stride == 4
    assert store.indices == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]
    assert store.nbytes <= store.budget_bytes
    store.put(37, np.ones((10, 3)))
    assert 37 in store and 36 in store  # the newest rides along off the stride
    store.put(38, np.ones((10, 3)))
    assert 37 not in store and 38 in store
    assert store.get(16)[3, 2, 0] == 16.0 and store.get(3) is None
    assert store.nearest(18) == [16, 20]


def test_store_reuses_the_memory_of_dropped_records_and_keeps_values_apart():
    store = UnitStore(seq_length=4, hidden_size=3, budget_mb=10 * 42 / 2**20, horizon=2)
    for i in range(100):
        store.put(i, np.full((7, 3), i + 1.0), pair_order=True)
        assert store._slots <= store.capacity + 1
    store.put(99, np.full((7, 3), -1.0), pair_order=True)  # again: in its own place
    for index in store.indices:
        expected = -1.0 if index == 99 else index + 1.0
        assert set(store.get(index)[np.tril_indices(4)].ravel()) - {0.0} == {expected}
    assert len({id(slot.base) for slot in store._values.values()}) == 1  # one block


def test_store_allocates_blocks_of_at_most_block_bytes():
    store = UnitStore(seq_length=25, hidden_size=100, budget_mb=64, horizon=5)
    store.put(0, np.ones((115, 100)), pair_order=True)
    per_block = units.BLOCK_BYTES // store.record_bytes
    assert store._slots == per_block == 364 and len(store._free) == per_block - 1


def test_budget_zero_keeps_no_units_and_trainer_skips_them():
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, units_budget_mb=0)
    trainer.train(3, progress=False)
    assert trainer.recording.units is None
    content, buffers = units_message(trainer.recording, 0)
    assert content["available"] is False and content["reason"] == "not_recorded" and not buffers


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (-1, ValueError, "units_budget_mb must be finite and >= 0 (0 keeps none), got -1.0"),
        (float("nan"), ValueError, "units_budget_mb must be finite and >= 0"),
        ("big", TypeError, "units_budget_mb must be a number of MiB >= 0, got str 'big'"),
        (True, TypeError, "units_budget_mb must be a number of MiB >= 0, got bool"),
    ],
)
def test_bad_budget_is_rejected_naming_the_argument(value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        CharRNNTrainer(TEXT, hidden_size=4, seq_length=10, units_budget_mb=value)


def test_put_rejects_a_wrong_shape_naming_units():
    store = UnitStore(3, 2)
    with pytest.raises(ValueError, match=re.escape("units must have shape (n(n+1)/2, H) = (6, 2)")):
        store.put(0, np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="index must be an int >= 0"):
        store.put(-1, np.ones((6, 2)))


def band_triangle(n: int, H: int, horizon: int, seed: int = 0) -> np.ndarray:
    """A packed triangle of positive values within ``t - j < horizon``, zeros beyond."""
    rows, cols = np.tril_indices(n)
    values = np.random.default_rng(seed).random((len(rows), H)) + 0.1
    values[rows - cols >= horizon] = 0.0
    return values


def test_band_store_keeps_the_walked_pairs_and_reads_back_the_triangle():
    n, H, k = 6, 3, 2
    store = UnitStore(n, H, horizon=k)
    assert store.horizon == 2 and store.lags == 2 and store.rows == 11  # 6 + 5 pairs
    assert store.record_bytes == 11 * 3 * 2
    triangle = band_triangle(n, H, k)
    t, j = lagwalk.pair_indices(n, k)
    in_pair_order = triangle[t * (t + 1) // 2 + j]
    assert store.put(0, triangle) and store.put(1, in_pair_order, pair_order=True)
    expected = payload.float32_to_bfloat16(triangle)
    for index in (0, 1):
        bits = store.packed(index)
        assert bits.dtype == np.uint16 and bits.shape == (21, 3)
        np.testing.assert_array_equal(bits, expected)
        np.testing.assert_array_equal(
            store.get(index), packed_to_square(payload.bfloat16_to_float32(expected), n)
        )
    assert store.nbytes == 2 * 66 and "horizon 2" in repr(store)


def test_band_store_drops_triangle_rows_beyond_its_horizon():
    store = UnitStore(4, 2, horizon=1)
    store.put(0, np.ones((10, 2)))
    assert store.get(0)[:, :, 0].tolist() == np.eye(4).tolist()


def test_band_store_rejects_pair_order_of_another_horizon():
    store = UnitStore(5, 2, horizon=3)
    message = "units in pair order must have shape (pair_count(n, lags), H) = (12, 2)"
    with pytest.raises(ValueError, match=re.escape(message)):
        store.put(0, np.ones((15, 2)), pair_order=True)


def test_a_horizon_of_n_or_more_is_the_full_triangle():
    store = UnitStore(4, 2, horizon=9)
    assert store.horizon is None and store.lags == 4 and store.rows == store.triangle == 10
    triangle = np.arange(20.0).reshape(10, 2)
    store.put(0, triangle)
    np.testing.assert_array_equal(store.packed(0), payload.float32_to_bfloat16(triangle))


def test_band_message_is_the_packed_triangle_as_before():
    recording = Recording(6, "ab")
    for step in range(2):
        recording.append(step=step, offset=0, inputs=[0] * 6, targets=[1] * 6,
                         predictions=[1] * 6, losses=[1.0] * 6, magnitudes=np.eye(6),
                         grad_norm=1.0, clipped=False, smooth_loss=1.0)  # fmt: skip
    recording.units = UnitStore(6, 3, horizon=2)
    triangle = band_triangle(6, 3, 2)
    recording.units.put(1, triangle)
    content, buffers = units_message(recording, 1)
    assert content["available"] and content["shape"] == [21, 3]
    np.testing.assert_array_equal(
        np.frombuffer(buffers[0], dtype="<u2").reshape(21, 3), payload.float32_to_bfloat16(triangle)
    )


def test_band_budget_counts_the_band_size():
    full = UnitStore(25, 100, budget_mb=1.0)
    band = UnitStore(25, 100, budget_mb=1.0, horizon=5)
    assert full.record_bytes == 325 * 200 and band.record_bytes == 115 * 200
    assert (full.capacity, band.capacity) == (16, 45)
    units = np.ones((115, 100))
    for i in range(45):
        band.put(i, units, pair_order=True)
    assert band.stride == 1 and len(band) == 45 and band.nbytes <= band.budget_bytes
    band.put(45, units, pair_order=True)
    assert band.stride == 2 and len(band) == 24 and 45 in band


def test_band_thinning_keeps_an_even_spread_within_budget_and_the_newest():
    store = UnitStore(seq_length=4, hidden_size=3, budget_mb=10 * 42 / 2**20, horizon=2)
    assert store.record_bytes == 42 and store.capacity == 10  # 7 pairs
    for i in range(37):
        store.put(i, np.full((7, 3), float(i)), pair_order=True)
        assert len([k for k in store.indices if k % store.stride == 0]) <= store.capacity
    assert store.stride == 4 and store.indices == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]
    store.put(37, np.ones((7, 3)), pair_order=True)
    assert 37 in store and 36 in store
    store.put(38, np.ones((7, 3)), pair_order=True)
    assert 37 not in store and 38 in store
    assert store.get(16)[3, 2, 0] == 16.0 and store.get(16)[3, 1, 0] == 0.0
    assert store.get(3) is None and store.nearest(18) == [16, 20]


# ---------------------------------------------------------------- save / load


def test_units_survive_save_and_load(tmp_path):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    trainer.train(10, progress=False)
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    back = Recording.load(path)
    assert back.units.indices == trainer.recording.units.indices
    assert back.units.stride == trainer.recording.units.stride
    np.testing.assert_array_equal(back.units.packed(3), trainer.recording.units.packed(3))


def test_band_units_survive_save_and_load_as_the_band(tmp_path):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    trainer.train(7, progress=False)
    store = trainer.recording.units
    assert store.horizon == 3 and store.rows == 21
    arrays = store.to_arrays()
    assert arrays["units_values"].shape == (7, 21, 6)  # the file is no larger than the store
    assert arrays["units_config"].tolist()[-1] == 3  # the lags kept
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    back = Recording.load(path).units
    assert back.horizon == 3 and back.rows == 21 and back.capacity == store.capacity
    assert back.indices == store.indices and back.stride == store.stride
    for index in store.indices:
        np.testing.assert_array_equal(back.packed(index), store.packed(index))
        np.testing.assert_array_equal(back.get(index), store.get(index))


@pytest.mark.parametrize(("beyond", "kept_horizon"), [(0.0, 2), (1.0, None)])
def test_older_files_keep_every_pair_when_they_hold_values_beyond_the_meta_horizon(
    tmp_path, beyond, kept_horizon
):
    recording = Recording(4, "ab", meta={"horizon": 2})
    recording.append(step=0, offset=0, inputs=[0] * 4, targets=[1] * 4, predictions=[1] * 4,
                     losses=[1.0] * 4, magnitudes=np.eye(4), grad_norm=1.0, clipped=False,
                     smooth_loss=1.0)  # fmt: skip
    recording.units = UnitStore(4, 3)  # every pair, whatever the meta says
    triangle = band_triangle(4, 3, 2)
    triangle[6] = beyond  # pair (3, 0), lag 3
    recording.units.put(0, triangle)
    path = tmp_path / "run.npz"
    recording.save(path)
    # Files written before the config held the lags kept the packed triangle, 4 entries.
    config = recording.units.to_arrays()["units_config"]
    packed = recording.units.packed(0)[None]
    _tamper(path, units_config=config[:4], units_values=packed)
    back = Recording.load(path).units
    assert back.horizon == kept_horizon
    np.testing.assert_array_equal(back.packed(0), payload.float32_to_bfloat16(triangle))


def test_a_recording_without_units_saves_as_version_1_and_loads_without_units(tmp_path):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, units_budget_mb=0)
    trainer.train(2, progress=False)
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    with np.load(path) as archive:
        assert json.loads(archive["header"].tobytes())["version"] == 1
        assert not set(units.ARRAY_KEYS) & set(archive.files)
    assert Recording.load(path).units is None


def _tamper(path, **changes):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for name, value in changes.items():
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"units_config": None}, "missing ['units_config']"),
        ({"units_index": np.array([0, 0, 2, 3, 4])}, "strictly increasing record indices"),
        ({"units_index": np.array([0, 1, 2, 3, 99])}, "strictly increasing record indices"),
        ({"units_values": np.zeros((5, 36, 6), dtype=np.float32)}, "units_values is float32"),
        ({"units_config": np.array([6, 0, 10, -1])}, "units_config holds invalid values"),
        ({"units_config": np.array([6, 1, 2**28, 4, 9])}, "units_config holds invalid values"),
        ({"units_config": np.array([6, 1, 2**28, 4, 8, 0])}, "units_config must be int64 (5,)"),
        ({"units_values": np.zeros((5, 21, 6), dtype=np.uint16)}, "expected uint16 (5, 36, 6)"),
    ],
)
def test_tampered_unit_arrays_are_rejected(tmp_path, changes, message):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    trainer.train(10, progress=False)
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    _tamper(path, **changes)
    with pytest.raises(ValueError, match=re.escape(message)):
        Recording.load(path)


def test_unit_arrays_in_a_version_1_file_are_rejected(tmp_path):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    trainer.train(4, progress=False)
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    with np.load(path) as archive:
        header = json.loads(archive["header"].tobytes())
    header["version"] = 1
    _tamper(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"unexpected \['units_config', 'units_index'"):
        Recording.load(path)


# ---------------------------------------------------------------- wire


class Sent:
    def __init__(self, widget: RNNbow) -> None:
        self.messages: list[tuple[dict, list]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, buffers))


def test_request_units_is_answered_with_one_binary_message():
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, record_every=1)
    trainer.train(5, progress=False)
    widget = RNNbow(trainer)
    sent = Sent(widget)
    widget._handle_custom_msg({"type": "request_units", "index": 2}, [])
    (content, buffers), = sent.messages  # fmt: skip
    assert content["type"] == "units" and content["index"] == 2 and content["available"]
    assert content["shape"] == [55, 8] and content["dtype"] == "bfloat16"
    assert len(buffers) == 1 and len(buffers[0]) == 55 * 8 * 2
    values = payload.bfloat16_to_float32(np.frombuffer(buffers[0], dtype="<u2")).reshape(55, 8)
    np.testing.assert_array_equal(values, trainer.recording.units.get(2)[np.tril_indices(10)])
    # Per-unit data never rides along with the records: the block budget stays small.
    assert payload.bytes_per_record(10) < 4096
    widget.close()


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (7, "index must be in [0, 4] (the recording's records), got 7"),
        ("2", "index must be an int record index, got str '2'"),
        (None, "index must be an int record index, got NoneType None"),
        (True, "index must be an int record index, got bool True"),
    ],
)
def test_bad_request_is_answered_with_the_error(index, message):
    trainer = CharRNNTrainer(TEXT, hidden_size=4, seq_length=10, record_every=1)
    trainer.train(5, progress=False)
    content, buffers = answer_request(trainer.recording, {"type": "request_units", "index": index})
    assert content["available"] is False and content["reason"] == "bad_request"
    assert content["error"] == message and buffers == []
    with pytest.raises((TypeError, ValueError), match=re.escape(message)):
        units_message(trainer.recording, index)


def test_thinned_record_answer_names_the_nearest_kept_ones():
    trainer = CharRNNTrainer(TEXT, hidden_size=4, seq_length=5, record_every=1)
    trainer.recording.units = UnitStore(5, 4, budget_mb=4 * 120 / 2**20)  # 4 records
    trainer.train(9, progress=False)
    assert trainer.recording.units.stride == 4
    content, buffers = units_message(trainer.recording, 5)
    assert content["reason"] == "thinned" and content["nearest"] == [4, 8] and not buffers
    assert content["stride"] == 4


def test_export_holds_units_of_the_selected_record_only():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    trainer.train(6, progress=False)
    state = {"selected_batch": 3}
    (entry,) = exported_units(state, trainer.recording)
    assert entry["index"] == 3 and entry["available"] and len(entry["data_b64"]) > 0
    assert exported_units({"selected_batch": -1}, trainer.recording)[0]["index"] == 5
    assert exported_units({"selected_batch": -1}, Recording(8, "ab")) == []


def test_export_page_passes_units_to_mount(monkeypatch):
    import rnnbow_widget.export as export

    monkeypatch.setattr(export, "_read_bundle", lambda name: "/* bundle */")
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    trainer.train(3, progress=False)
    page = render_html({"selected_batch": 1, "_meta": {}}, trainer.recording, "t")
    assert "data.state, data.blocks, data.units" in page
    assert page.count('\\"type\\": \\"units\\"') + page.count('"type": "units"') == 1


@pytest.mark.parametrize(
    "key", [slice(2, 7), slice(None, None, 2), slice(-3, None), slice(5, 1, -1)]
)
def test_a_slice_of_a_recording_keeps_the_units_of_its_records(key):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    trainer.train(9, progress=False)
    whole = trainer.recording
    part = whole[key]
    assert part.units is not None
    originals = list(range(len(whole)))[key]
    assert part.units.indices == list(range(len(originals)))
    for position, original in enumerate(originals):
        np.testing.assert_array_equal(part.units.get(position), whole.units.get(original))
        assert part[position].step == whole[original].step
    assert part.units.horizon == whole.units.horizon


def test_a_slice_of_a_thinned_store_keeps_only_what_was_kept():
    store = UnitStore(seq_length=2, hidden_size=1, budget_mb=4 * 6 / 2**20)  # room for 4
    for i in range(12):
        store.put(i, np.full((3, 1), float(i)))
    assert store.stride == 4 and store.indices == [0, 4, 8, 11]
    part = store.take(range(4, 12))
    assert part.indices == [0, 4, 7]
    assert part.stride == 4
    assert float(part.get(4)[0, 0, 0]) == 8.0
    assert store.take(range(0, 12, 2)).stride == 2
    assert store.take([1, 4, 9]).stride == 1


def test_put_of_bfloat16_bits_stores_what_put_of_the_values_stores():
    values = np.random.default_rng(3).lognormal(0, 20, (7, 3))
    plain = UnitStore(seq_length=4, hidden_size=3, horizon=2)
    encoded = UnitStore(seq_length=4, hidden_size=3, horizon=2)
    assert plain.put(5, values, pair_order=True)
    bits = payload.float32_to_bfloat16(values)
    assert encoded.put(5, bits, pair_order=True, encoded=True)
    assert np.array_equal(plain.get(5), encoded.get(5))
    bits[...] = 0  # the store holds its own copy
    assert np.array_equal(plain.get(5), encoded.get(5))
    with pytest.raises(TypeError, match="encoded units must be uint16 bfloat16 bits, got dtype"):
        encoded.put(6, values, pair_order=True, encoded=True)
    assert 6 not in encoded
