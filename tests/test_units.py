"""Per-unit drilldown: the identity with the magnitudes, storage budget and thinning, the
request/answer message, save/load, the export, and errors."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from rnnbow_widget import cells, engine, itemize, model, units
from rnnbow_widget.bfloat16 import bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.cells import gru, lstm
from rnnbow_widget.export import exported_units, render_page
from rnnbow_widget.payload import units_message
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.units import UnitStore
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


def bfloat16_rounded(values: np.ndarray) -> np.ndarray:
    """``values`` as the store keeps them: rounded to bfloat16, read back as float32."""
    return bfloat16_to_float32(float32_to_bfloat16(values))


# ---------------------------------------------------------------- the identity


@pytest.mark.parametrize("horizon", [None, 3])
def test_squared_units_sum_to_squared_magnitudes_vanilla(horizon):
    params, cache = vanilla_case()
    result = itemize.itemize_cache(params, cache, horizon=horizon, units=True)
    m, square = result.magnitudes, result.units
    np.testing.assert_allclose(m, itemize.magnitudes_from_cache(params, cache, horizon=horizon))
    assert square.shape == (6, 6, 5)
    np.testing.assert_allclose((square**2).sum(axis=2), m**2, rtol=1e-12, atol=1e-300)
    if horizon is not None:
        assert not square[5, 1].any() and square[5, 3].any()


def test_vanilla_unit_is_g_times_norm_of_previous_state():
    """u[t, j, i] = |g_{t,j}[i]| * ||h_{j-1}||, checked against the full itemized tensor."""
    params, cache = vanilla_case(H=3, n=4)
    full = itemize.itemized_gradients(
        params, cache.inputs, cache.targets, cache.h[0], full=True
    ).full
    square = itemize.itemize_cache(params, cache, units=True).units
    np.testing.assert_allclose(square, np.linalg.norm(full, axis=3), rtol=1e-12)


@pytest.mark.parametrize("cell", [lstm, gru], ids=["lstm", "gru"])
@pytest.mark.parametrize("wrt", ["W_hh", "W_xh", "b_h"])
def test_squared_units_sum_to_squared_magnitudes_gated(cell, wrt):
    params, cache = gated_case(cell)
    result = itemize.itemize_cache(params, cache, wrt=wrt, units=True)
    m = result.magnitudes
    np.testing.assert_allclose(m, itemize.magnitudes_from_cache(params, cache, wrt=wrt))
    np.testing.assert_allclose((result.units**2).sum(axis=2), m**2, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("cell", [lstm, gru], ids=["lstm", "gru"])
def test_gated_unit_combines_the_rows_of_all_its_gates(cell):
    """Unit i = norm of rows i, H + i, 2H + i, ... of the full itemized W_hh gradient."""
    params, cache = gated_case(cell, H=3, n=4)
    state0 = np.stack([cache.h[0], cache.c[0]]) if cell is lstm else cache.h[0]
    full = itemize.itemized_gradients(
        params, cache.inputs, cache.targets, state0, cell=cell.NAME, full=True
    ).full
    n, _, P, H = full.shape
    by_unit = full.reshape(n, n, P // H, H, H)  # [t, j, gate, unit, column]
    expected = np.sqrt((by_unit**2).sum(axis=(2, 4)))
    square = itemize.itemize_cache(params, cache, units=True).units
    np.testing.assert_allclose(square, expected, rtol=1e-10, atol=1e-300)


CELL_MODULES = {"rnn": cells.rnn, "lstm": lstm, "gru": gru}


def case_of(cell: str):
    return vanilla_case() if cell == "rnn" else gated_case(CELL_MODULES[cell])


@pytest.mark.parametrize("horizon", [None, 2, 6, 9])
@pytest.mark.parametrize("wrt", ["W_hh", "W_xh", "b_h"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unit_contributions_are_the_dense_units_in_walk_order(cell, wrt, horizon):
    params, cache = case_of(cell)
    lags = min(horizon or 6, 6)
    walk = engine.walk(CELL_MODULES[cell], params, cache, lags)
    rows = engine.unit_contributions(walk, wrt)
    result = itemize.itemize_cache(params, cache, wrt=wrt, horizon=horizon, units=True)
    t, j = engine.pair_indices(6, lags)
    H = result.units.shape[2]
    assert rows.shape == (engine.pair_count(6, lags), H) and rows.dtype == np.float64
    np.testing.assert_array_equal(rows, result.units[t, j])
    np.testing.assert_array_equal(engine.magnitudes(walk, wrt, "fro"), result.magnitudes)
    beyond = np.ones((6, 6), dtype=bool)
    beyond[t, j] = False
    assert not result.units[beyond].any()
    # What a store keeps is the same, from either form.
    from_rows, from_dense = UnitStore(6, H, horizon=horizon), UnitStore(6, H, horizon=horizon)
    assert from_rows.put(0, rows) and from_dense.put(0, result.units)
    np.testing.assert_array_equal(from_rows.packed(0), from_dense.packed(0))


def test_magnitudes_and_units_share_the_squared_norms_of_one_block():
    params, cache = vanilla_case()
    walk = engine.walk(cells.rnn, params, cache, 3)
    (block,) = walk.blocks
    m = engine.magnitudes(walk, "W_hh", "fro")
    assert "squared_norms" in vars(block)  # worked out once, for the magnitudes and the units
    np.testing.assert_allclose(block.squared_norms, (cache.h_prev**2).sum(axis=1), rtol=1e-14)
    np.testing.assert_array_equal(m, itemize.magnitudes_from_cache(params, cache, horizon=3))
    u = engine.unit_contributions(walk, "W_hh")
    expected = np.abs(walk.g) * np.linalg.norm(cache.h_prev, axis=1)[walk.j, None]
    np.testing.assert_allclose(u, expected, rtol=1e-14)


def test_pair_matrix_places_each_pair_and_zeros_the_rest():
    t, j = engine.pair_indices(4, 2)
    m = engine.pair_matrix(np.arange(1.0, 8.0), 4, 2)
    assert m[t, j].tolist() == list(range(1, 8)) and np.count_nonzero(m) == 7


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


def next_chunk(trainer: CharRNNTrainer):
    """Cell, parameters, inputs, targets and state the trainer's next step will use."""
    cell = cells.get_cell(trainer.cell)
    n, p = trainer.seq_length, trainer.position
    state = trainer.hidden_state
    if p + n + 1 > len(TEXT):
        p, state = 0, cell.initial_state(trainer.hidden_size)
    ids = np.array([trainer.vocab.index(symbol) for symbol in TEXT[p : p + n + 1]])
    params = {name: value.copy() for name, value in trainer.params.items()}
    return cell, params, ids[:-1], ids[1:], state


@pytest.mark.parametrize(
    ("cell", "horizon"), [("rnn", 5), ("rnn", None), ("lstm", 5), ("gru", 5), ("rnn", 30)]
)
def test_trainer_stores_the_units_of_the_itemized_cache_bit_for_bit(cell, horizon):
    """What the trainer stores is, bit for bit, itemize_cache's units in bfloat16."""
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, record_every=1, cell=cell,
                             horizon=horizon)  # fmt: skip
    trainer.train(3, progress=False)
    rows, cols = np.tril_indices(10)
    for _ in range(3):
        module, params, inputs, targets, state = next_chunk(trainer)
        cache = module.forward(params, inputs, targets, state)
        result = itemize.itemize_cache(params, cache, horizon=horizon, units=True)
        rec = trainer.step()
        store = trainer.recording.units
        assert store.horizon == (5 if horizon == 5 else None)
        np.testing.assert_array_equal(rec.magnitudes, result.magnitudes.astype(np.float32))
        np.testing.assert_array_equal(
            store.packed(rec.index), float32_to_bfloat16(result.units[rows, cols])
        )
        np.testing.assert_allclose(store.get(rec.index), result.units, rtol=2**-8, atol=0)


def test_a_store_with_another_horizon_gets_the_triangle_from_the_trainer():
    band = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    full = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    full.recording.units = UnitStore(8, 6)  # every pair: the trainer walks only 3 lags
    seen: list[int] = []
    full.on_record(seen.append, decoded=False)
    band.train(4, progress=False)
    full.train(4, progress=False)
    assert seen == [0, 1, 2, 3] and full.steps_done == 4
    assert full.recording.units.rows == 36 and band.recording.units.rows == 21
    assert full.recording.units.indices == band.recording.units.indices == [0, 1, 2, 3]
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
    assert store.nbytes <= store.budget_mb * 2**20
    store.put(37, np.ones((10, 3)))
    assert 37 in store and 36 in store  # the newest rides along off the stride
    store.put(38, np.ones((10, 3)))
    assert 37 not in store and 38 in store
    assert store.get(16)[3, 2, 0] == 16.0 and store.get(3) is None
    assert store.nearest(18) == [16, 20]


def test_store_stays_within_budget_and_keeps_values_apart():
    store = UnitStore(seq_length=4, hidden_size=3, budget_mb=10 * 42 / 2**20, horizon=2)
    for i in range(100):
        store.put(i, np.full((7, 3), i + 1.0))
        assert len(store) <= store.capacity + 1  # the newest may ride along off the stride
        assert store.nbytes == len(store) * store.record_bytes
    store.put(99, np.full((7, 3), -1.0))  # again: replaces its own values only
    for index in store.indices:
        expected = -1.0 if index == 99 else index + 1.0
        assert set(store.get(index)[np.tril_indices(4)].ravel()) - {0.0} == {expected}


def test_store_keeps_its_own_copy_of_what_was_put():
    values = np.random.default_rng(3).lognormal(0, 20, (7, 3))
    store = UnitStore(seq_length=4, hidden_size=3, horizon=2)
    assert store.put(5, values)
    t, j = engine.pair_indices(4, 2)
    expected = bfloat16_rounded(values)
    np.testing.assert_array_equal(store.get(5)[t, j], expected)
    values[...] = 0  # changing the caller's array afterwards changes nothing stored
    np.testing.assert_array_equal(store.get(5)[t, j], expected)
    got = store.get(5)
    got[...] = -1.0  # neither does changing what get returned
    np.testing.assert_array_equal(store.get(5)[t, j], expected)


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
        ("big", TypeError, "units_budget_mb must be a number, got str 'big'"),
        (True, TypeError, "units_budget_mb must be a number, got bool True"),
    ],
)
def test_bad_budget_is_rejected_naming_the_argument(value, error, message):
    with pytest.raises(error, match=re.escape(message)):
        CharRNNTrainer(TEXT, hidden_size=4, seq_length=10, units_budget_mb=value)


@pytest.mark.parametrize(
    "shape",
    # (4, 2): no k has 4 pairs.
    [(3, 3, 3), (3, 2, 2), (2, 3, 3, 2), (4, 2), (5, 3), (6, 1), (10,), ()],
)
def test_put_rejects_a_wrong_shape_naming_units(shape):
    store = UnitStore(3, 2, horizon=2)  # takes (3|5|6, 2) (k = 1|2|3) or (3, 3, 2)
    message = (
        "units must be (n, n, H) = (3, 3, 2) or walked pairs in walk order, "
        "(pair_count(n, k), H) ((5, 2) at the store's k = 2), got shape "
    )
    with pytest.raises(ValueError, match=re.escape(message + str(shape))):
        store.put(0, np.ones(shape))
    assert 0 not in store and len(store) == 0
    with pytest.raises(ValueError, match=re.escape("index must be an int >= 0, got -1")):
        store.put(-1, np.ones((5, 2)))


@pytest.mark.parametrize("horizon", [None, 1, 2, 4])
def test_put_takes_walk_order_rows_of_any_k_at_least_the_lags_and_the_dense_form_alike(horizon):
    n, H = 5, 3
    rng = np.random.default_rng(11)
    dense = rng.lognormal(0, 3, (n, n, H))  # above the diagonal too: never stored
    store = UnitStore(n, H, horizon=horizon)
    lags = store.lags
    t, j = engine.pair_indices(n, lags)
    expected = np.zeros((n, n, H), dtype=np.float32)
    expected[t, j] = bfloat16_rounded(dense[t, j])
    assert store.put(0, dense)
    for k in range(lags, n + 1):
        walked_t, walked_j = engine.pair_indices(n, k)
        assert store.put(k, dense[walked_t, walked_j])  # (pair_count(n, k), H)
    for index in range(0, n + 1):
        if index == 0 or index >= lags:
            np.testing.assert_array_equal(store.get(index), expected)
            np.testing.assert_array_equal(store.packed(index), store.packed(0))
    assert store.get(0).dtype == np.float32 and store.get(0).shape == (n, n, H)
    if lags > 1:  # fewer lags than the store keeps: the lags not walked read back as 0
        walked_t, walked_j = engine.pair_indices(n, lags - 1)
        assert store.put(9, dense[walked_t, walked_j])
        fewer = expected.copy()
        fewer[t, j] *= (t - j < lags - 1)[:, None]
        np.testing.assert_array_equal(store.get(9), fewer)


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
    t, j = engine.pair_indices(n, k)
    in_walk_order = triangle[t * (t + 1) // 2 + j]
    assert store.put(0, packed_to_square(triangle, n)) and store.put(1, in_walk_order)
    expected = float32_to_bfloat16(triangle)
    for index in (0, 1):
        bits = store.packed(index)
        assert bits.dtype == np.uint16 and bits.shape == (21, 3)
        np.testing.assert_array_equal(bits, expected)
        np.testing.assert_array_equal(
            store.get(index), packed_to_square(bfloat16_to_float32(expected), n)
        )
    assert store.nbytes == 2 * 66 and "horizon 2" in repr(store)


def test_band_store_drops_pairs_beyond_its_horizon():
    store = UnitStore(4, 2, horizon=1)
    store.put(0, np.ones((10, 2)))  # every pair, in walk order
    store.put(1, np.ones((4, 4, 2)))  # every entry, dense
    for index in (0, 1):
        assert store.get(index)[:, :, 0].tolist() == np.eye(4).tolist()


def test_band_store_keeps_zeros_for_the_lags_a_smaller_walk_did_not_reach():
    store = UnitStore(5, 2, horizon=3)
    assert store.put(0, np.ones((9, 2)))  # pair_count(5, 2): lags 0 and 1 only
    t, j = np.indices((5, 5))
    kept = store.get(0)[:, :, 0]
    assert (kept[(t - j < 2) & (j <= t)] == 1).all()
    assert (kept[(t - j >= 2) | (j > t)] == 0).all()


def test_a_horizon_of_n_or_more_is_the_full_triangle():
    store = UnitStore(4, 2, horizon=9)
    assert store.horizon is None and store.lags == 4 and store.rows == 10 == 4 * 5 // 2
    triangle = np.arange(20.0).reshape(10, 2)
    t, j = engine.pair_indices(4, 4)
    store.put(0, triangle[t * (t + 1) // 2 + j])
    np.testing.assert_array_equal(store.packed(0), float32_to_bfloat16(triangle))


def append_plain(recording: Recording, step: int) -> None:
    n = recording.seq_length
    recording.append(step=step, offset=0, inputs=[0] * n, targets=[1] * n, predictions=[1] * n,
                     losses=[1.0] * n, magnitudes=np.eye(n), grad_norm=1.0, clipped=False,
                     smooth_loss=1.0)  # fmt: skip


def test_band_message_is_the_packed_triangle_as_before():
    recording = Recording(6, "ab")
    for step in range(2):
        append_plain(recording, step)
    recording.units = UnitStore(6, 3, horizon=2)
    triangle = band_triangle(6, 3, 2)
    recording.units.put(1, packed_to_square(triangle, 6))
    content, buffers = units_message(recording, 1)
    assert content["available"] and content["shape"] == [21, 3]
    np.testing.assert_array_equal(
        np.frombuffer(buffers[0], dtype="<u2").reshape(21, 3), float32_to_bfloat16(triangle)
    )


def test_band_budget_counts_the_band_size():
    full = UnitStore(25, 100, budget_mb=1.0)
    band = UnitStore(25, 100, budget_mb=1.0, horizon=5)
    assert full.record_bytes == 325 * 200 and band.record_bytes == 115 * 200
    assert (full.capacity, band.capacity) == (16, 45)
    values = np.ones((115, 100))
    for i in range(45):
        band.put(i, values)
    assert band.stride == 1 and len(band) == 45 and band.nbytes <= band.budget_mb * 2**20
    band.put(45, values)
    assert band.stride == 2 and len(band) == 24 and 45 in band


def test_band_thinning_keeps_an_even_spread_within_budget_and_the_newest():
    store = UnitStore(seq_length=4, hidden_size=3, budget_mb=10 * 42 / 2**20, horizon=2)
    assert store.record_bytes == 42 and store.capacity == 10  # 7 pairs
    for i in range(37):
        store.put(i, np.full((7, 3), float(i)))
        assert len([k for k in store.indices if k % store.stride == 0]) <= store.capacity
    assert store.stride == 4 and store.indices == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]
    store.put(37, np.ones((7, 3)))
    assert 37 in store and 36 in store
    store.put(38, np.ones((7, 3)))
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
    for index in trainer.recording.units.indices:
        np.testing.assert_array_equal(
            back.units.packed(index), trainer.recording.units.packed(index)
        )


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
    append_plain(recording, 0)
    recording.units = UnitStore(4, 3)  # every pair, whatever the meta says
    triangle = band_triangle(4, 3, 2)
    triangle[6] = beyond  # pair (3, 0), lag 3
    recording.units.put(0, packed_to_square(triangle, 4))
    path = tmp_path / "run.npz"
    recording.save(path)
    # Files written before the config held the lags kept the packed triangle, 4 entries.
    config = recording.units.to_arrays()["units_config"]
    packed = recording.units.packed(0)[None]
    _tamper(path, units_config=config[:4], units_values=packed)
    back = Recording.load(path).units
    assert back.horizon == kept_horizon
    np.testing.assert_array_equal(back.packed(0), float32_to_bfloat16(triangle))


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
    with pytest.raises(ValueError, match=r"cannot load recording '.*run\.npz': ") as error:
        Recording.load(path)
    assert message in str(error.value)


def test_unit_arrays_in_a_version_1_file_are_rejected(tmp_path):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    trainer.train(4, progress=False)
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    with np.load(path) as archive:
        header = json.loads(archive["header"].tobytes())
    header["version"] = 1
    _tamper(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"run\.npz.*unexpected \['units_config', 'units_index'"):
        Recording.load(path)


# ---------------------------------------------------------------- wire


class Sent:
    """Keeps every message the widget sends (``widget.send`` is its comm method)."""

    def __init__(self, widget: RNNbow) -> None:
        self.messages: list[tuple[dict, list]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, buffers))


def test_request_units_is_answered_with_one_binary_message(browser_sends):
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, record_every=1)
    trainer.train(5, progress=False)
    widget = RNNbow(trainer)
    sent = Sent(widget)
    browser_sends(widget, {"type": "request_units", "index": 2})
    (content, buffers), = sent.messages  # fmt: skip
    assert content["type"] == "units" and content["index"] == 2 and content["available"]
    assert content["shape"] == [55, 8] and content["dtype"] == "bfloat16"
    assert len(buffers) == 1 and len(buffers[0]) == 55 * 8 * 2
    values = bfloat16_to_float32(np.frombuffer(buffers[0], dtype="<u2")).reshape(55, 8)
    np.testing.assert_array_equal(values, trainer.recording.units.get(2)[np.tril_indices(10)])
    widget.close()


@pytest.mark.parametrize(
    ("index", "shown", "message"),
    [
        (7, 7, "index must be an int in [0, 4], got 7"),
        (-1, -1, "index must be an int in [0, 4], got -1"),
        ("2", -1, "index must be an int in [0, 4], got '2' (str)"),
        (None, -1, "index must be an int in [0, 4], got None (NoneType)"),
        (True, -1, "index must be an int in [0, 4], got True"),
        (2.0, -1, "index must be an int in [0, 4], got 2.0 (float)"),
    ],
)
def test_bad_request_is_answered_with_the_error(index, shown, message, browser_sends):
    trainer = CharRNNTrainer(TEXT, hidden_size=4, seq_length=10, record_every=1)
    trainer.train(5, progress=False)
    content, buffers = units_message(trainer.recording, index)  # never raises
    assert content == {
        "type": "units",
        "index": shown,
        "available": False,
        "reason": "bad_request",
        "error": message,
    }
    assert buffers == []
    widget = RNNbow(trainer)  # the widget answers the browser the same way
    sent = Sent(widget)
    browser_sends(widget, {"type": "request_units", "index": index})
    assert sent.messages == [(content, [])]
    widget.close()


def test_thinned_record_answer_names_the_nearest_kept_ones():
    trainer = CharRNNTrainer(TEXT, hidden_size=4, seq_length=5, record_every=1)
    trainer.recording.units = UnitStore(5, 4, budget_mb=4 * 120 / 2**20)  # 4 records
    trainer.train(9, progress=False)
    assert trainer.recording.units.stride == 4
    content, buffers = units_message(trainer.recording, 5)
    assert content["reason"] == "thinned" and content["nearest"] == [4, 8] and not buffers
    assert content["stride"] == 4 and content["available"] is False
    kept, kept_buffers = units_message(trainer.recording, 4)
    assert kept["available"] and kept["reason"] == "" and len(kept_buffers) == 1


def test_export_holds_units_of_the_selected_record_only():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    trainer.train(6, progress=False)
    state = {"selected_batch": 3}
    (entry,) = exported_units(state, trainer.recording)
    assert entry["index"] == 3 and entry["available"] and len(entry["data_b64"]) > 0
    bits = np.frombuffer(base64.b64decode(entry["data_b64"]), dtype="<u2")
    np.testing.assert_array_equal(bits.reshape(entry["shape"]), trainer.recording.units.packed(3))
    assert exported_units({"selected_batch": -1}, trainer.recording)[0]["index"] == 5
    assert exported_units({"selected_batch": -1}, Recording(8, "ab")) == []


def test_export_page_passes_units_to_mount():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    trainer.train(3, progress=False)
    page = render_page([({"selected_batch": 1, "_meta": {}}, trainer.recording)], "t")
    assert "run.state, run.blocks, run.units" in page
    found = re.search(
        r'<script type="application/json" id="rnnbow-data">(.*?)</script>', page, re.S
    )
    assert found is not None
    (run,) = json.loads(found.group(1))["runs"]
    (entry,) = run["units"]
    assert entry["type"] == "units" and entry["index"] == 1 and entry["available"]
    bits = np.frombuffer(base64.b64decode(entry["data_b64"]), dtype="<u2")
    np.testing.assert_array_equal(bits.reshape(entry["shape"]), trainer.recording.units.packed(1))


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


def test_a_thread_reading_units_while_another_puts_never_fails():
    # A kernel's subshell answers the browser's request_units while the trainer puts records.
    import sys
    import threading

    store = units.UnitStore(seq_length=4, hidden_size=3, budget_mb=400 * 10 * 3 * 2 / 2**20)
    rows = np.ones((10, 3), dtype=np.float32)
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                for index in store.nearest(len(store) * 7):
                    store.get(index)
                store.to_arrays()
            except BaseException as error:  # any failure is the finding
                errors.append(error)
                return

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a busy kernel's would at worst
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for index in range(20_000):
            store.put(index, rows)
    finally:
        done.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(store) <= 401 and store.stride >= 64
