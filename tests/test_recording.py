"""Recording: columnar storage, decoding, wire columns and the .npz file format."""

from __future__ import annotations

import copy
import json
import os
import pickle
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from rnnbow_widget import metrics
from rnnbow_widget.recording import COLUMN_NAMES, COLUMNS, WIRE_COLUMNS, Record, Recording

VOCAB = ("a", "b", "c", "\n")
N = 3
# Source t, step j. Row sums of the lower triangle: 1, 2.5, 3.75.
MAGNITUDES = np.array(
    [
        [1.0, 9.0, 9.0],  # entries above the diagonal must be dropped
        [0.5, 2.0, 9.0],
        [0.25, 0.5, 3.0],
    ]
)


def chunk(**changes):
    """Keyword arguments of one valid ``append`` call, with ``changes`` applied."""
    fields = dict(
        step=7,
        offset=42,
        inputs=np.array([0, 1, 2]),
        targets=np.array([1, 2, 3]),
        predictions=np.array([1, 0, 3]),
        losses=np.array([0.5, 1.0, 3.0]),
        magnitudes=MAGNITUDES,
        grad_norm=2.5,
        clipped=True,
        smooth_loss=1.25,
    )
    fields.update(changes)
    return fields


def filled(count: int, n: int = N, vocab=VOCAB, meta=None) -> Recording:
    """A recording whose every record differs (values derived from the record number)."""
    rec = Recording(n, vocab, meta)
    rng = np.random.default_rng(count)
    for i in range(count):
        rec.append(
            step=i * 10,
            offset=i * n,
            inputs=rng.integers(0, len(vocab), n),
            targets=rng.integers(0, len(vocab), n),
            predictions=rng.integers(0, len(vocab), n),
            losses=rng.random(n) * 4,
            magnitudes=np.tril(rng.random((n, n))) * 10.0 ** rng.integers(-30, 3),
            grad_norm=float(rng.random()),
            clipped=bool(i % 3 == 0),
            smooth_loss=float(rng.random()),
        )
    return rec


# ------------------------------------------------------------------ append / Record
def test_append_returns_the_record_decoded_with_the_vocab():
    rec = Recording(N, VOCAB)
    record = rec.append(**chunk())
    assert isinstance(record, Record)
    assert (record.index, record.step, record.offset) == (0, 7, 42)
    assert (record.inputs, record.targets, record.predictions) == ("abc", "bc\n", "ba\n")
    assert record.clipped is True
    assert record.grad_norm == 2.5
    assert record.smooth_loss == 1.25


def test_record_loss_is_the_mean_of_losses_and_accuracy_counts_hits():
    record = Recording(N, VOCAB).append(**chunk())
    assert record.loss == pytest.approx((0.5 + 1.0 + 3.0) / 3)
    np.testing.assert_array_equal(record.losses, np.float32([0.5, 1.0, 3.0]))
    assert record.accuracy == pytest.approx(2 / 3)  # b==b, a!=c, \n==\n


def test_record_magnitudes_keep_the_lower_triangle_and_zero_the_rest():
    record = Recording(N, VOCAB).append(**chunk())
    expected = np.float32([[1.0, 0, 0], [0.5, 2.0, 0], [0.25, 0.5, 3.0]])
    np.testing.assert_array_equal(record.magnitudes, expected)
    assert record.magnitudes.dtype == np.float32


def test_record_carries_the_gradient_metrics_of_its_magnitudes():
    record = Recording(N, VOCAB).append(**chunk())
    # Step totals: j=0: 1.75, j=1: 2.5, j=2: 3.0.
    assert record.max_gradient == pytest.approx(3.0)
    assert record.mean_gradient == pytest.approx(7.25 / 3)
    # Distance 1: 0.5 + 0.5, distance 2: 0.25, total mass 7.25.
    assert record.effective_horizon == pytest.approx((1.0 + 0.5) / 7.25)
    # Every off-diagonal entry is >= 1% of its local term: reaches 0, 1, 2.
    assert record.reach == pytest.approx(1.0)


def test_record_arrays_are_read_only():
    record = Recording(N, VOCAB).append(**chunk())
    with pytest.raises(ValueError, match="read-only"):
        record.losses[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        record.magnitudes[0, 0] = 1.0


def test_getitem_returns_the_same_values_as_append_did():
    rec = Recording(N, VOCAB)
    appended = rec.append(**chunk())
    again = rec[0]
    for field in ("index", "step", "offset", "inputs", "targets", "predictions", "loss"):
        assert getattr(again, field) == getattr(appended, field)
    np.testing.assert_array_equal(again.magnitudes, appended.magnitudes)


def test_packed_magnitudes_follow_the_contract_index_t_t_plus_1_over_2_plus_j():
    rec = Recording(N, VOCAB)
    rec.append(**chunk())
    packed = rec.column("magnitudes")[0]
    assert packed.shape == (N * (N + 1) // 2,)
    for t in range(N):
        for j in range(t + 1):
            assert packed[t * (t + 1) // 2 + j] == np.float32(MAGNITUDES[t, j])


def test_growth_past_the_initial_capacity_keeps_every_record():
    rec = Recording(2, "xy")
    for i in range(300):
        rec.append(
            **chunk(
                step=i,
                offset=2 * i,
                inputs=[i % 2, 1],
                targets=[0, 1],
                predictions=[1, 1],
                losses=[i, 0.0],
                magnitudes=np.eye(2) * i,
            )
        )
    assert len(rec) == 300
    np.testing.assert_array_equal(rec.column("step"), np.arange(300))
    np.testing.assert_array_equal(rec.column("losses")[:, 0], np.arange(300))
    assert rec[299].magnitudes[1, 1] == 299
    assert rec[150].inputs == "xy"
    assert rec[151].inputs == "yy"


def test_negative_index_counts_from_the_end_and_out_of_range_raises():
    rec = filled(5)
    assert rec[-1].step == 40
    assert rec[-5].step == 0
    with pytest.raises(IndexError, match="record index 5 out of range for a recording of 5"):
        rec[5]
    with pytest.raises(IndexError, match="record index -6 out of range"):
        rec[-6]


def test_non_integer_index_raises_type_error():
    with pytest.raises(TypeError, match="Recording index must be an int or a slice, got str"):
        filled(2)["0"]


def test_slice_returns_an_independent_recording_of_those_records():
    rec = filled(10, meta={"title": "x"})
    part = rec[2:8:3]
    assert isinstance(part, Recording)
    assert [r.step for r in part] == [20, 50]
    assert part[0].index == 0
    assert part.meta == {"title": "x"}
    part.append(**chunk())  # growing the slice must not touch the original
    assert len(part) == 3
    assert len(rec) == 10


def test_an_empty_slice_is_an_empty_recording_that_can_grow():
    rec = filled(6)
    for part in (rec[6:], rec[3:3], rec[5:1]):
        assert len(part) == 0 and part.column("magnitudes").shape == (0, 6)
        record = part.append(**chunk())
        assert (record.index, record.step, len(part), len(rec)) == (0, 7, 1, 6)


def test_reversed_slice_reverses_the_records():
    assert [r.step for r in filled(4)[::-1]] == [30, 20, 10, 0]


def test_iteration_yields_every_record_in_order():
    assert [r.index for r in filled(4)] == [0, 1, 2, 3]


def test_column_is_a_read_only_view_of_the_filled_part():
    rec = filled(3)
    steps = rec.column("step")
    np.testing.assert_array_equal(steps, [0, 10, 20])
    with pytest.raises(ValueError, match="read-only"):
        steps[0] = 5


def test_unknown_column_name_raises_value_error_listing_the_names():
    with pytest.raises(ValueError, match=r"unknown column 'lost'; expected one of \["):
        filled(1).column("lost")


# ------------------------------------------------------------------ wire columns
CONTRACT_DTYPES = {  # docs/data-contract.md, with losses/magnitudes still float32
    "step": np.int32,
    "offset": np.int32,
    "loss": np.float32,
    "smooth_loss": np.float32,
    "max_gradient": np.float32,
    "mean_gradient": np.float32,
    "grad_norm": np.float32,
    "clipped": np.uint8,
    "effective_horizon": np.float32,
    "reach": np.float32,
    "targets": np.uint16,
    "predictions": np.uint16,
    "losses": np.float32,
    "magnitudes": np.float32,
}


def wire_columns(rec: Recording, start: int = 0, stop: int | None = None) -> dict:
    """Every column the browser receives, records ``start`` to ``stop``."""
    return {name: rec.column(name, start, stop) for name in WIRE_COLUMNS}


def test_columns_are_exactly_the_wire_columns_with_contract_dtypes_and_shapes():
    assert WIRE_COLUMNS == tuple(CONTRACT_DTYPES)
    assert set(COLUMN_NAMES) == {*CONTRACT_DTYPES, "accuracy", "inputs"}
    assert {column.name for column in COLUMNS if column.wire is None} == {"accuracy", "inputs"}
    cols = wire_columns(filled(6, n=4))
    for name, dtype in CONTRACT_DTYPES.items():
        assert cols[name].dtype == dtype, name
    assert cols["step"].shape == (6,)
    assert cols["targets"].shape == (6, 4)
    assert cols["losses"].shape == (6, 4)
    assert cols["magnitudes"].shape == (6, 10)


def test_columns_start_stop_select_a_block_of_records():
    rec = filled(6)
    block = wire_columns(rec, 2, 5)
    np.testing.assert_array_equal(block["step"], [20, 30, 40])
    np.testing.assert_array_equal(rec.column("step", 4), [40, 50])
    assert rec.column("magnitudes", 6).shape == (0, 6)
    for name, values in wire_columns(rec).items():
        np.testing.assert_array_equal(block[name], values[2:5])


def test_clipped_column_is_one_where_clipping_happened():
    np.testing.assert_array_equal(filled(4).column("clipped"), [1, 0, 0, 1])


@pytest.mark.parametrize(
    "start, stop, error, message",
    [
        (-1, None, ValueError, r"start must be an int in \[0, 3\], got -1"),
        (0, 4, ValueError, r"stop must be an int <= 3, got 4"),
        (2, 1, ValueError, r"stop must be >= start, got start=2, stop=1"),
        (0, -1, ValueError, r"stop must be >= start, got start=0, stop=-1"),
        (0.5, None, TypeError, r"start must be an int in \[0, 3\], got 0\.5 \(float\)"),
    ],
)
def test_column_rejects_a_bad_range(start, stop, error, message):
    rec = filled(3)
    for name in ("step", "loss", "magnitudes"):
        with pytest.raises(error, match=message):
            rec.column(name, start, stop)


def test_a_vocabulary_above_65535_symbols_uses_int32_indices():
    vocab = [chr(0x10000 + i) for i in range(65536)]  # 65536 distinct symbols
    rec = Recording(2, vocab)
    rec.append(
        **chunk(
            inputs=[0, 65535],
            targets=[65535, 1],
            predictions=[65535, 0],
            losses=[1.0, 1.0],
            magnitudes=np.eye(2),
        )
    )
    assert rec.column("targets").dtype == np.int32
    assert rec[0].targets == vocab[65535] + vocab[1]


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("inputs", np.zeros(4, int), r"inputs must have length 3, got 4"),
        ("targets", np.zeros((3, 1), int), r"targets must be a non-empty 1-D.*got shape \(3, 1\)"),
        ("losses", np.zeros(2), r"losses must have shape \(3,\), got \(2,\)"),
        ("magnitudes", np.zeros((3, 2)), r"magnitudes must have shape \(3, 3\), got \(3, 2\)"),
        (
            "predictions",
            [0, 1, 4],
            r"predictions must hold indices in \[0, 4\) \(the vocab.*0 to 4",
        ),
        ("inputs", [0, -1, 2], r"inputs must hold indices in \[0, 4\).*from -1 to 2"),
        ("step", -1, r"step must be an int in \[0, 2147483647\], got -1"),
        ("offset", 2**31, r"offset must be an int in \[0, 2147483647\], got 2147483648"),
        (
            "magnitudes",
            -np.eye(3),
            r"magnitudes must be >= 0 \(they are norms\), got a minimum of -1",
        ),
    ],
)
def test_append_rejects_bad_values_naming_the_field(field, value, message):
    rec = Recording(N, VOCAB)
    with pytest.raises(ValueError, match=message):
        rec.append(**chunk(**{field: value}))
    assert len(rec) == 0  # nothing half-written


@pytest.mark.parametrize(
    "field, value, message",
    [
        (
            "inputs",
            [0.0, 1.0, 2.0],
            r"inputs must hold integer vocabulary indices, got dtype float64",
        ),
        ("losses", ["x", "y", "z"], r"losses must hold real numbers, got dtype <U1"),
        ("clipped", 1, r"clipped must be True or False, got 1"),
        ("step", 1.0, r"step must be an int in \[0, 2147483647\], got 1\.0 \(float\)"),
        ("grad_norm", "big", r"grad_norm must be a number, got str 'big'"),
        ("smooth_loss", "low", r"smooth_loss must be a number, got str 'low'"),
    ],
)
def test_append_rejects_wrong_types_naming_the_field(field, value, message):
    rec = Recording(N, VOCAB)
    with pytest.raises(TypeError, match=message):
        rec.append(**chunk(**{field: value}))
    assert len(rec) == 0


def test_append_accepts_numpy_scalars_and_lists():
    rec = Recording(N, VOCAB)
    record = rec.append(
        **chunk(
            step=np.int64(3),
            grad_norm=np.float32(0.5),
            clipped=np.bool_(False),
            inputs=[2, 2, 2],
            magnitudes=MAGNITUDES.astype(np.float32).tolist(),
        )
    )
    assert (record.step, record.grad_norm, record.clipped, record.inputs) == (3, 0.5, False, "ccc")


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((0, VOCAB), ValueError, r"seq_length must be an int in \[1, 65535\], got 0"),
        ((3, []), ValueError, "vocab must hold at least one symbol, got an empty sequence"),
        ((3, ["a", "b", "a"]), ValueError, "vocab must not repeat symbols, got 'a' more than once"),
        ((3, ["a", 1]), TypeError, r"vocab\[1\] must be a str, got int 1"),
        ((3, 5), TypeError, "vocab must be a sequence of str, got int"),
        ((3, VOCAB, ["x"]), TypeError, "meta must be a dict or None, got list"),
        ((3, VOCAB, {"f": np.float32(1)}), ValueError, "meta must be JSON-serializable"),
    ],
)
def test_constructor_rejects_bad_arguments_naming_them(args, error, message):
    with pytest.raises(error, match=message):
        Recording(*args)


def test_a_string_vocab_means_one_symbol_per_character():
    assert Recording(2, "ab\n").vocab == ("a", "b", "\n")


def test_meta_is_copied_so_later_changes_to_the_callers_dict_do_not_leak_in():
    meta = {"title": "run", "layers": [1]}
    rec = Recording(2, "ab", meta)
    meta["layers"].append(2)
    assert rec.meta == {"title": "run", "layers": [1]}


# ------------------------------------------------------------------ save / load
def assert_same_recording(a: Recording, b: Recording) -> None:
    assert (len(a), a.seq_length, a.vocab, a.meta) == (len(b), b.seq_length, b.vocab, b.meta)
    names = [*CONTRACT_DTYPES, "inputs", "accuracy"]
    for name in names:
        x, y = a.column(name), b.column(name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name  # bitwise, so NaN and -0.0 count too


@pytest.mark.parametrize("compress", [True, False])
def test_save_then_load_round_trips_every_column_bitwise(tmp_path, compress):
    rec = filled(70, n=5, vocab=("é", "→", "x", " ", "\t"), meta={"title": "ünï", "H": 8})
    path = tmp_path / "run.npz"
    rec.save(path, compress=compress)
    assert_same_recording(rec, Recording.load(path))


def test_round_trip_keeps_nan_and_infinite_values(tmp_path):
    rec = Recording(N, VOCAB)
    rec.append(**chunk(losses=[np.inf, np.nan, 1.0], grad_norm=np.nan, smooth_loss=np.inf))
    rec.save(tmp_path / "nan.npz")
    assert_same_recording(rec, Recording.load(tmp_path / "nan.npz"))


def test_an_empty_recording_round_trips_and_can_grow_after_loading(tmp_path):
    Recording(N, VOCAB, {"a": 1}).save(tmp_path / "empty.npz")
    back = Recording.load(tmp_path / "empty.npz")
    assert len(back) == 0 and back.meta == {"a": 1}
    back.append(**chunk())
    assert back[0].inputs == "abc"


def test_a_loaded_recording_keeps_growing(tmp_path):
    filled(3).save(tmp_path / "r.npz")
    back = Recording.load(tmp_path / "r.npz")
    for _ in range(100):
        back.append(**chunk())
    assert len(back) == 103
    assert back[2].step == 20 and back[102].step == 7


def test_save_uses_the_path_as_given_and_leaves_no_temporary_files(tmp_path):
    filled(2).save(tmp_path / "run.rnnbow")
    assert os.listdir(tmp_path) == ["run.rnnbow"]


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "r.npz"
    filled(2).save(path)
    filled(5).save(path)
    assert len(Recording.load(path)) == 5


def test_a_failed_save_keeps_the_previous_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "r.npz"
    filled(2).save(path)
    before = path.read_bytes()

    def fail_halfway(file, **arrays):
        file.write(b"PK\x03\x04partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail_halfway)
    monkeypatch.setattr(np, "savez_compressed", fail_halfway)
    for compress in (False, True):
        with pytest.raises(OSError, match="disk full"):
            filled(4).save(path, compress=compress)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.npz"]


def test_save_rejects_meta_that_became_unserializable(tmp_path):
    rec = filled(1)
    rec.meta["bad"] = {1, 2}
    with pytest.raises(ValueError, match="meta must be JSON-serializable to save"):
        rec.save(tmp_path / "r.npz")
    assert not (tmp_path / "r.npz").exists()


def test_load_of_a_missing_file_raises_file_not_found_with_the_path(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        Recording.load(path)


def test_load_of_a_truncated_file_raises_value_error_naming_the_file(tmp_path):
    path = tmp_path / "r.npz"
    filled(20).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError, match=r"cannot load recording '.*r\.npz': the file is truncated"
    ):
        Recording.load(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "it is empty, not an .npz archive"),
        (b"step,loss\n1,2\n", r"it starts with b'step', not an .npz archive"),
    ],
)
def test_load_of_a_file_that_is_not_an_archive_says_so(tmp_path, content, message):
    path = tmp_path / "r.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        Recording.load(path)


def test_load_of_a_foreign_npz_says_it_is_not_a_recording(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"other\.npz.*no 'header' entry.*not an rnnbow recording"):
        Recording.load(path)


def arrays_of(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def header_of(arrays) -> dict:
    return json.loads(arrays["header"].tobytes().decode("utf-8"))


def with_header(arrays, header) -> dict:
    text = json.dumps(header).encode("utf-8")
    return {**arrays, "header": np.frombuffer(text, dtype=np.uint8)}


def tamper(tmp_path, change) -> str:
    """Save a good recording, apply ``change`` to its arrays, write it back; return the path."""
    path = tmp_path / "r.npz"
    filled(4).save(path)
    arrays = change(arrays_of(path))
    np.savez(path, **arrays)
    return path


TAMPERINGS = {
    "bad json": (
        lambda a: {**a, "header": np.frombuffer(b"{not json", dtype=np.uint8)},
        "header is not valid UTF-8 JSON",
    ),
    "header as text": (
        lambda a: {**a, "header": np.array("rnnbow")},
        r"header must be a 1-d uint8 array, got <U6 \(\)",
    ),
    "no marker": (
        lambda a: with_header(a, {**header_of(a), "format": "something else"}),
        "header has no format marker 'rnnbow_widget.recording'",
    ),
    "newer version": (
        lambda a: with_header(a, {**header_of(a), "version": 99}),
        r"it was written by format version 99, newer than this package reads \(3\)",
    ),
    "count mismatch": (
        lambda a: with_header(a, {**header_of(a), "count": 5}),
        r"column 'step' is int32 \(4,\), expected int32 \(5,\)",
    ),
    "missing column": (
        lambda a: {k: v for k, v in a.items() if k != "reach"},
        r"columns do not match: missing \['reach'\], unexpected \[\]",
    ),
    "extra column": (
        lambda a: {**a, "secret": np.zeros(1)},
        r"columns do not match: missing \[\], unexpected \['secret'\]",
    ),
    "wrong dtype": (
        lambda a: {**a, "magnitudes": a["magnitudes"].astype(np.float64)},
        r"column 'magnitudes' is float64 \(4, 6\), expected float32 \(4, 6\)",
    ),
    "wrong shape": (
        lambda a: {**a, "losses": a["losses"][:, :2]},
        r"column 'losses' is float32 \(4, 2\), expected float32 \(4, 3\)",
    ),
    "index out of vocab": (
        lambda a: {**a, "targets": np.full_like(a["targets"], 4)},
        r"column 'targets' holds indices outside the vocabulary \[0, 3\]",
    ),
    "clipped not boolean": (
        lambda a: {**a, "clipped": np.full_like(a["clipped"], 7)},
        "column 'clipped' holds values other than 0 and 1",
    ),
    "duplicate vocab": (
        lambda a: with_header(a, {**header_of(a), "vocab": ["a", "a", "b", "c"]}),
        "header is inconsistent: vocab must not repeat symbols",
    ),
    "unknown header key": (
        lambda a: with_header(a, {**header_of(a), "extra": 1}),
        r"header keys are \[.*'extra'",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_load_of_a_tampered_file_raises_value_error_naming_file_and_problem(tmp_path, kind):
    change, message = TAMPERINGS[kind]
    path = tamper(tmp_path, change)
    with pytest.raises(ValueError, match=r"cannot load recording '.*r\.npz': " + message):
        Recording.load(path)


def test_load_never_unpickles_an_object_array(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load must never unpickle")

    path = tamper(tmp_path, lambda a: {**a, "magnitudes": np.array([{"x": 1}], dtype=object)})
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    with pytest.raises(ValueError, match=r"r\.npz.*pickled Python objects, which are never loaded"):
        Recording.load(path)


def test_load_refuses_a_plain_pickle_file(tmp_path, monkeypatch):
    path = tmp_path / "r.npz"
    path.write_bytes(pickle.dumps({"step": [1, 2]}))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(ValueError, match=r"r\.npz.*not an .npz archive"):
        Recording.load(path)


def test_load_of_a_directory_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"is a directory, expected a recording \.npz file"):
        Recording.load(tmp_path)


def _random_rows(count: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        m = np.tril(rng.lognormal(0, 5, (N, N))) * (rng.random((N, N)) < 0.8)
        rows.append(
            chunk(step=i, offset=3 * i, inputs=rng.integers(0, 4, N), targets=rng.integers(0, 4, N),
                  predictions=rng.integers(0, 4, N), losses=rng.random(N) * 4, magnitudes=m,
                  grad_norm=float(rng.random()), clipped=bool(i % 2), smooth_loss=float(i))
        )  # fmt: skip
    return rows


def _stored(fields: dict) -> dict[str, np.ndarray]:
    """What a recording must hold of one appended row, in each column's dtype."""
    lower = np.tril_indices(N)
    return {
        "step": np.int32(fields["step"]),
        "offset": np.int32(fields["offset"]),
        "inputs": np.asarray(fields["inputs"], dtype=np.uint16),
        "targets": np.asarray(fields["targets"], dtype=np.uint16),
        "predictions": np.asarray(fields["predictions"], dtype=np.uint16),
        "losses": np.asarray(fields["losses"], dtype=np.float32),
        "magnitudes": np.asarray(fields["magnitudes"], dtype=np.float32)[lower],
        "grad_norm": np.float32(fields["grad_norm"]),
        "clipped": np.uint8(fields["clipped"]),
        "smooth_loss": np.float32(fields["smooth_loss"]),
    }


def _same_columns(a: Recording, b: Recording) -> bool:
    return len(a) == len(b) and all(
        a.column(name).tobytes() == b.column(name).tobytes() for name in COLUMN_NAMES
    )


def _assert_holds(recording: Recording, rows: list[dict]) -> None:
    """Every row reads back bit for bit, by column and by index."""
    assert len(recording) == len(rows)
    expected = [_stored(fields) for fields in rows]
    for name in expected[0]:
        column = recording.column(name)
        wanted = np.array([values[name] for values in expected], dtype=column.dtype)
        assert column.tobytes() == wanted.tobytes(), name
    for i, (fields, values) in enumerate(zip(rows, expected, strict=True)):
        record = recording[i]
        assert (record.index, record.step, record.offset) == (i, fields["step"], fields["offset"])
        for name in ("inputs", "targets", "predictions"):
            assert getattr(record, name) == "".join(VOCAB[k] for k in fields[name])
        assert record.losses.tobytes() == values["losses"].tobytes()
        square = np.tril(np.asarray(fields["magnitudes"], dtype=np.float32))
        assert record.magnitudes.tobytes() == square.tobytes()
        assert record.grad_norm == float(values["grad_norm"])
        assert record.smooth_loss == float(values["smooth_loss"])
        assert record.clipped is fields["clipped"]


def test_records_read_back_bit_for_bit_as_appended_with_reads_in_between(tmp_path):
    rows = _random_rows(150)
    recording = Recording(N, VOCAB)
    for i, fields in enumerate(rows):
        record = recording.append(**fields)
        assert record.index == i == len(recording) - 1
        if i % 7 == 3:  # reads between appends (the derived columns are worked out here)
            assert recording[i].step == i and recording.column("loss").shape == (i + 1,)
            assert recording[-1].max_gradient == recording.column("max_gradient")[i]
    _assert_holds(recording, rows)
    recording.save(tmp_path / "r.npz")
    back = Recording.load(tmp_path / "r.npz")
    _assert_holds(back, rows)
    assert _same_columns(recording, back)


def test_derived_columns_equal_the_metrics_of_each_record_alone():
    rows = _random_rows(60, seed=6)
    recording = Recording(N, VOCAB)
    batches = [(0, 1), (1, 9), (9, 10), (10, 33), (33, 60)]
    for start, stop in batches:
        for fields in rows[start:stop]:
            recording.append(**fields)
        if stop % 2:  # read some derived columns between batches, not others
            recording.column("reach")
            recording[start].accuracy  # noqa: B018
    for i, record in enumerate(recording):
        summary = metrics.summarize(record.magnitudes)
        expected = {
            **summary,
            "loss": np.mean(record.losses, dtype=np.float64),
            "accuracy": np.mean(rows[i]["targets"] == rows[i]["predictions"]),
        }
        for name, value in expected.items():
            assert recording.column(name)[i] == np.float32(value), (i, name)
            assert getattr(record, name) == float(np.float32(value)), (i, name)


def test_a_recording_can_be_deep_copied_and_pickled():
    from rnnbow_widget.units import UnitStore

    rows = _random_rows(8, seed=4)
    recording = Recording(N, VOCAB, meta={"title": "copy"})
    recording.units = UnitStore(N, 2)
    for fields in rows[:5]:
        recording.append(**fields)
    recording.column("loss")  # the derived columns of these records are worked out ...
    for fields in rows[5:7]:
        recording.append(**fields)  # ... and not yet of these
    recording.units.put(6, np.arange(12.0).reshape(6, 2))
    for twin in (copy.deepcopy(recording), pickle.loads(pickle.dumps(recording))):
        assert twin.meta == recording.meta and twin.vocab == recording.vocab
        _assert_holds(twin, rows[:7])
        assert _same_columns(twin, recording)
        assert twin.units.indices == [6]
        np.testing.assert_array_equal(twin.units.get(6), recording.units.get(6))
        twin.append(**rows[7])  # the copy grows on its own
        twin.meta["title"] = "changed"
        assert len(twin) == 8 and len(recording) == 7 and recording.meta["title"] == "copy"
        _assert_holds(twin, rows)
    _assert_holds(recording, rows[:7])


# ------------------------------------------------------------------ Record


def test_record_repr_is_one_short_line_with_step_and_loss():
    vocab = ("a", "b", "c", "\n")
    rec = filled(3, n=25, vocab=vocab)
    record = rec[1]
    text = repr(record)
    assert "\n" not in text
    assert f"step={record.step}" in text and f"{record.loss:.4f}" in text
    assert len(text) < 200 and len(text) * 10 < len(repr(record.magnitudes))
    assert repr(rec) == "Recording(3 records, seq_length=25, vocab of 4)"


def test_record_html_shows_the_labels_and_one_bar_per_step_scaled_to_its_total():
    vocab = ("a", "<b>", " ", "\n")
    n = 6
    rec = Recording(seq_length=n, vocab=vocab)
    m = np.tril(np.arange(1.0, n * n + 1).reshape(n, n))
    inputs, targets = np.array([0, 1, 2, 3, 0, 1]), np.array([1, 2, 3, 0, 1, 1])
    predictions = targets.copy()
    predictions[2] = 0
    rec.append(
        step=7,
        inputs=inputs,
        targets=targets,
        predictions=predictions,
        losses=np.ones(n),
        magnitudes=m,
        offset=0,
        grad_norm=1.0,
        clipped=False,
        smooth_loss=1.0,
    )
    page = rec[0]._repr_html_()
    totals = m.sum(axis=0)
    heights = [int(h) for h in re.findall(r"height:(\d+)px", page)]
    assert heights == [round(t / totals.max() * 32) for t in totals]
    assert max(heights) == heights[int(totals.argmax())] == 32 and heights[-1] < 32
    # the labels, escaped, whitespace as visible glyphs; the missed target is marked
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert "\u2423" in page and "\u21b5" in page
    assert page.count('style="color:#c62828"') == 1
    assert 'title="predicted a"' in page
    assert "step=7" in page


def test_record_exposes_every_attribute():
    rec = filled(4)
    for i, record in enumerate(rec):
        assert record.index == i
        for name in ("step", "offset", "loss", "smooth_loss", "grad_norm", "max_gradient",
                     "mean_gradient", "effective_horizon", "reach", "accuracy"):  # fmt: skip
            value = getattr(record, name)
            assert isinstance(value, int if name in ("step", "offset") else float), name
            assert value == rec.column(name)[i], name
        assert record.clipped is bool(rec.column("clipped")[i])
        for name in ("inputs", "targets", "predictions"):
            assert getattr(record, name) == "".join(VOCAB[k] for k in rec.column(name)[i])
        np.testing.assert_array_equal(record.losses, rec.column("losses")[i])
        assert record.magnitudes.shape == (N, N)
        np.testing.assert_array_equal(
            record.magnitudes[np.tril_indices(N)], rec.column("magnitudes")[i]
        )


# ------------------------------------------------------------------ file mode


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
@pytest.mark.parametrize("compress", [False, True])
def test_save_gives_the_file_the_mode_a_plain_open_would(tmp_path, umask, mode, compress):
    path = tmp_path / "r.npz"
    previous = os.umask(umask)
    try:
        filled(2).save(path, compress=compress)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert len(Recording.load(path)) == 2


# ------------------------------------------------------------------ any vocabulary
def test_append_needs_only_what_every_recording_has():
    rec = Recording(seq_length=N, vocab=VOCAB)
    record = rec.append(
        step=3,
        inputs=[0, 1, 2],
        targets=[1, 2, 3],
        predictions=[1, 1, 3],
        losses=[0.5, 1.0, 3.0],
        magnitudes=MAGNITUDES,
    )
    assert record.offset is None and record.grad_norm is None and record.clipped is False
    assert record.smooth_loss == pytest.approx(1.5)  # the chunk's own loss stands in
    assert record.step == 3 and record.accuracy == pytest.approx(2 / 3)
    given = rec.append(**chunk())
    assert (given.offset, given.grad_norm, given.smooth_loss) == (42, 2.5, 1.25)


@pytest.mark.parametrize(
    "vocab, message",
    [
        (["a", "", "b"], r"vocab\[1\] is the empty string; every token needs a label"),
        (["walk", "run", "walk"], r"vocab must not repeat symbols, got 'walk' more than once"),
    ],
)
def test_empty_or_repeated_tokens_are_refused(vocab, message):
    with pytest.raises(ValueError, match=message):
        Recording(seq_length=2, vocab=vocab)


def test_word_tokens_come_back_as_ids_tokens_and_spaced_text():
    vocab = ["<eos>", "the", "cat", " ", "sat", "\u732b"]
    rec = Recording(seq_length=4, vocab=vocab)
    record = rec.append(
        step=0,
        inputs=[1, 2, 3, 4],
        targets=[2, 3, 4, 0],
        predictions=[2, 5, 4, 0],
        losses=np.ones(4),
        magnitudes=np.tril(np.ones((4, 4))),
    )
    assert record.input_tokens == ["the", "cat", " ", "sat"]
    assert record.prediction_tokens == ["cat", "\u732b", "sat", "<eos>"]
    assert record.target_ids.tolist() == [2, 3, 4, 0]
    assert record.inputs == "the cat   sat"
    assert not rec.is_character_vocab
    with pytest.raises(ValueError):
        record.input_ids[0] = 3  # read-only


def test_character_vocabularies_keep_plain_strings():
    rec = filled(2)
    assert rec.is_character_vocab
    assert rec[0].inputs == "".join(rec[0].input_tokens)


def test_a_50000_token_vocabulary_round_trips_exactly(tmp_path):
    special = ["\u200b", " ", "\t", "\n", "\u00a0", "\U0001f600", "caf\u00e9", "e\u0301", "<unk>"]
    vocab = special + [f"w{i}" for i in range(50_000 - len(special))]
    rec = Recording(seq_length=3, vocab=vocab)
    ids = np.array([49_999, 0, 5])
    rec.append(
        step=1,
        inputs=ids,
        targets=ids[::-1],
        predictions=ids,
        losses=np.ones(3),
        magnitudes=np.tril(np.ones((3, 3))),
    )
    rec.save(tmp_path / "words.npz")
    back = Recording.load(tmp_path / "words.npz")
    assert back.vocab == tuple(vocab)
    assert back[0].input_tokens == ["w49990", "\u200b", "\U0001f600"]
    assert back[0].offset is None and back[0].grad_norm is None


@pytest.mark.parametrize(
    "name", ["recording_2026-11-22_v1.npz", "recording_2026-11-22_v2_units.npz"]
)
def test_files_written_by_the_2026_11_22_package_still_load(name):
    """Written by commit 4a7ba61 (a trainer, H = 8, n = 6, seed 3, 4 chunks, every chunk
    recorded); the same trainer today records the same first chunk."""
    from rnnbow_widget import CharRNNTrainer

    old = Recording.load(Path(__file__).parent / "fixtures" / name)
    text = "int main(void) { return 0; }\n" * 40
    trainer = CharRNNTrainer(text, hidden_size=8, seq_length=6, record_every=1, seed=3)
    trainer.train(1)
    now = trainer.recording[0]
    assert len(old) == 4 and old.vocab == trainer.recording.vocab
    assert (old[0].inputs, old[0].targets, old[0].offset) == (now.inputs, now.targets, 0)
    np.testing.assert_allclose(old[0].magnitudes, now.magnitudes, rtol=1e-6)
    assert [r.step for r in old] == [0, 1, 2, 3]
    assert (old.units is not None) == name.endswith("units.npz")


def test_extend_appends_columns_as_saved_and_checks_them_first():
    source = filled(5)
    rec = filled(2)
    columns = {name: source.column(name, 1, 4) for name in COLUMN_NAMES}
    assert rec.extend(columns) == 5
    assert [r.step for r in rec] == [0, 10, 10, 20, 30]
    np.testing.assert_array_equal(rec[4].magnitudes, source[3].magnitudes)
    assert rec[3].reach == source[2].reach
    bad = {**columns, "targets": columns["targets"].astype(np.int64)}
    with pytest.raises(ValueError, match=r"column 'targets' is int64 \(3, 3\), expected uint16"):
        rec.extend(bad)
    with pytest.raises(ValueError, match=r"missing \['reach'\]"):
        rec.extend({k: v for k, v in columns.items() if k != "reach"})
    assert len(rec) == 5  # nothing half-applied


def test_a_thread_reading_while_another_appends_sees_consistent_columns():
    """A followed run's poller, or the kernel's subshell answering the browser during a cell,
    reads while the trainer appends: the summaries must come out right (they did not: rows
    summarized into arrays that were being replaced stayed zero)."""
    import threading

    n, count = 25, 10_000
    m = np.tril(np.random.default_rng(0).random((n, n)))
    rec = Recording(n, "abcd")
    stop, errors = threading.Event(), []

    def reader():
        try:
            while not stop.is_set():
                if len(rec):
                    rec.column("max_gradient")
                    rec[len(rec) // 2 :]
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    ids = np.zeros(n, int)
    for i in range(count):
        rec.append(
            step=i, inputs=ids, targets=ids, predictions=ids, losses=np.ones(n),
            magnitudes=m * (1 + i % 7),
        )  # fmt: skip
    stop.set()
    thread.join()
    assert errors == []
    want = np.array([metrics.max_gradient(m * (1 + i % 7)) for i in range(count)])
    np.testing.assert_allclose(rec.column("max_gradient"), want, rtol=1e-6)
