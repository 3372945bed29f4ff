"""Binary record blocks: bfloat16 rounding, column layout, round trip, sizes."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnbow_widget import payload
from rnnbow_widget.bfloat16 import BFLOAT16, bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.recording import COLUMNS, WIRE_COLUMNS, Recording

BFLOAT16_COLUMNS = tuple(column.name for column in COLUMNS if column.wire == BFLOAT16)


def make_recording(count: int, seq_length: int = 6, vocab: str = "abcdefg", seed: int = 0):
    rng = np.random.default_rng(seed)
    recording = Recording(seq_length, vocab, meta={"title": "t", "hidden_size": 8})
    n = seq_length
    for i in range(count):
        magnitudes = np.tril(rng.random((n, n)) * 10.0 ** rng.integers(-30, 3, size=(n, n)))
        recording.append(
            step=10 * i,
            offset=3 * i,
            inputs=rng.integers(0, len(vocab), n),
            targets=rng.integers(0, len(vocab), n),
            predictions=rng.integers(0, len(vocab), n),
            losses=rng.random(n) * 4,
            magnitudes=magnitudes,
            grad_norm=float(rng.random()),
            clipped=bool(i % 3 == 0),
            smooth_loss=float(rng.random() * 4),
        )
    return recording


# ------------------------------------------------------------------ bfloat16


def reference_bfloat16(value: float) -> int:
    """Round-to-nearest-even on the float32 bits, one value at a time, in plain Python."""
    bits = int(np.array([value], dtype=np.float32).view(np.uint32)[0])
    upper, lower = bits >> 16, bits & 0xFFFF
    if lower > 0x8000 or (lower == 0x8000 and upper & 1):
        upper += 1
    return upper


@given(st.floats(width=32, allow_nan=False))
def test_bfloat16_matches_round_to_nearest_even(value):
    encoded = float32_to_bfloat16(np.array([value], dtype=np.float32))
    assert int(encoded[0]) == reference_bfloat16(value)


@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=40))
def test_bfloat16_of_an_array_rounds_every_value_even_when_its_sum_is_not_finite(values):
    # A sum of inf and -inf (or one that overflows) takes the general path: same answer.
    array = np.array([*values, np.inf, -np.inf][: len(values) + len(values) % 3], np.float32)
    encoded = float32_to_bfloat16(array)
    assert encoded.tolist() == [reference_bfloat16(value) for value in array.tolist()]


def test_bfloat16_ties_round_to_even_upper_half():
    # 0x3F808000 is exactly halfway between 0x3F80 (even) and 0x3F81: stays 0x3F80.
    # 0x3F818000 is halfway between 0x3F81 (odd) and 0x3F82: goes up to 0x3F82.
    bits = np.array([0x3F808000, 0x3F818000, 0x3F808001], dtype=np.uint32)
    encoded = float32_to_bfloat16(bits.view(np.float32))
    assert encoded.tolist() == [0x3F80, 0x3F82, 0x3F81]


def test_bfloat16_keeps_tiny_values_and_specials():
    values = np.array([1e-38, -1e-30, 0.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    back = bfloat16_to_float32(float32_to_bfloat16(values))
    assert np.allclose(back[:3], values[:3], rtol=2**-8, atol=0)
    assert back[1] < 0 < back[0]
    assert back[3] == np.inf and back[4] == -np.inf
    assert np.isnan(back[5])


def test_bfloat16_keeps_the_shape_and_leaves_its_input_alone():
    values = np.array([[1.0, np.nan], [-2.0, 3e38]])
    before = values.copy()
    encoded = float32_to_bfloat16(values)
    assert encoded.dtype == np.uint16 and encoded.shape == (2, 2)
    assert encoded.tolist() == [[0x3F80, 0x7FC0], [0xC000, reference_bfloat16(3e38)]]
    np.testing.assert_array_equal(values, before)
    back = bfloat16_to_float32(encoded)
    assert back.dtype == np.float32 and back.shape == (2, 2)


@pytest.mark.parametrize(
    "bits",
    [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FBF8000],
)
def test_bfloat16_keeps_every_nan_a_nan_with_its_sign(bits):
    # Rounding the bits of a NaN would turn some into infinity (0x7F800001) or carry into the
    # sign (0x7FFFFFFF); a NaN must stay a NaN.
    value = np.array([bits], dtype=np.uint32).view(np.float32)
    (encoded,) = float32_to_bfloat16(value).tolist()
    assert encoded >> 15 == bits >> 31  # the sign
    assert np.isnan(bfloat16_to_float32(np.array([encoded], dtype=np.uint16))[0])


def test_bfloat16_rounds_beyond_its_largest_finite_number_to_infinity():
    largest = 0x7F7F  # bfloat16's largest finite number, about 3.39e38
    just_below_half = np.array([0x7F7F7FFF], dtype=np.uint32).view(np.float32)
    halfway = np.array([0x7F7F8000, 0xFF7F8000], dtype=np.uint32).view(np.float32)
    assert float32_to_bfloat16(just_below_half).tolist() == [largest]
    assert float32_to_bfloat16(halfway).tolist() == [0x7F80, 0xFF80]  # +inf, -inf
    float32_max = np.array([np.finfo(np.float32).max, -np.finfo(np.float32).max], np.float32)
    assert bfloat16_to_float32(float32_to_bfloat16(float32_max)).tolist() == [np.inf, -np.inf]


def test_bfloat16_widening_is_exact_for_every_bit_pattern():
    bits = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    widened = bfloat16_to_float32(bits)
    assert np.array_equal(widened.view(np.uint32) >> 16, bits.astype(np.uint32))
    assert not (widened.view(np.uint32) & 0xFFFF).any()
    finite = np.isfinite(widened)
    assert np.array_equal(float32_to_bfloat16(widened[finite]), bits[finite])


def test_bfloat16_relative_error_is_within_half_an_ulp():
    values = np.random.default_rng(1).lognormal(0, 20, 10_000).astype(np.float32)
    values = values[np.isfinite(values) & (values > 1e-37) & (values < 1e37)]
    back = bfloat16_to_float32(float32_to_bfloat16(values))
    assert np.max(np.abs(back / values - 1)) <= 2**-8


# ------------------------------------------------------------------ blocks


def test_encode_block_header_lists_contract_columns_in_order():
    content, buffers = payload.encode_block(make_recording(5), 1, 4)
    assert content["type"] == "records"
    assert (content["start"], content["count"]) == (1, 3)
    names = [column["name"] for column in content["columns"]]
    assert names == list(WIRE_COLUMNS)
    dtypes = {column["name"]: column["dtype"] for column in content["columns"]}
    assert dtypes["losses"] == dtypes["magnitudes"] == "bfloat16"
    assert dtypes["targets"] == "uint16" and dtypes["step"] == "int32"
    assert dtypes["clipped"] == "uint8" and dtypes["loss"] == "float32"
    shapes = {column["name"]: column["shape"] for column in content["columns"]}
    assert shapes["magnitudes"] == [3, 21] and shapes["targets"] == [3, 6]
    assert len(buffers) == len(content["columns"])
    assert all(isinstance(buffer, bytes) for buffer in buffers)


def test_header_is_plain_json():
    content, _ = payload.encode_block(make_recording(2), 0)
    assert json.loads(json.dumps(content)) == content


def test_decode_block_round_trips_every_column():
    recording = make_recording(9)
    decoded = payload.decode_block(*payload.encode_block(recording, 2, 7))
    original = {name: recording.column(name, 2, 7) for name in WIRE_COLUMNS}
    assert set(decoded) == set(WIRE_COLUMNS)
    for name in ("step", "offset", "clipped", "targets", "predictions", "loss", "reach"):
        np.testing.assert_array_equal(decoded[name], original[name])
        assert decoded[name].dtype == original[name].dtype
    for name in BFLOAT16_COLUMNS:
        assert decoded[name].dtype == np.float32
        np.testing.assert_allclose(decoded[name], original[name], rtol=2**-8, atol=0)
        assert (
            decoded[name].tobytes()
            == bfloat16_to_float32(float32_to_bfloat16(original[name])).tobytes()
        )


def test_buffers_are_little_endian():
    recording = make_recording(3)
    content, buffers = payload.encode_block(recording, 0)
    index = [column["name"] for column in content["columns"]].index("step")
    assert buffers[index] == np.array([0, 10, 20], dtype="<i4").tobytes()
    assert buffers[index][:8] == b"\x00\x00\x00\x00\x0a\x00\x00\x00"


def test_magnitudes_buffer_is_packed_lower_triangle():
    recording = make_recording(1, seq_length=4)
    decoded = payload.decode_block(*payload.encode_block(recording, 0))
    full = recording[0].magnitudes
    for t in range(4):
        for j in range(t + 1):
            expected = bfloat16_to_float32(float32_to_bfloat16(full[t, j]))
            assert decoded["magnitudes"][0, t * (t + 1) // 2 + j] == expected


def test_empty_range_encodes_zero_records():
    content, buffers = payload.encode_block(make_recording(3), 3)
    assert content["count"] == 0
    assert all(len(buffer) == 0 for buffer in buffers)


def test_iter_blocks_splits_into_bounded_blocks():
    recording = make_recording(10)
    blocks = list(payload.iter_blocks(recording, 1, block_size=4))
    assert [(c["start"], c["count"]) for c, _ in blocks] == [(1, 4), (5, 4), (9, 1)]
    assert list(payload.iter_blocks(recording, 10)) == []
    assert [(c["start"], c["count"]) for c, _ in payload.iter_blocks(recording)] == [(0, 10)]
    assert [(c["start"], c["count"]) for c, _ in payload.iter_blocks(recording, 3, 8, 2)] == [
        (3, 2),
        (5, 2),
        (7, 1),
    ]


def test_encode_block_rejects_start_beyond_the_end():
    with pytest.raises(ValueError, match=r"start must be an int in \[0, 3\], got 4"):
        payload.encode_block(make_recording(3), 4)


def test_encode_block_rejects_non_int_start():
    with pytest.raises(TypeError, match=r"start must be an int in \[0, 3\], got '0' \(str\)"):
        payload.encode_block(make_recording(3), "0")


def test_block_size_must_be_positive():
    with pytest.raises(ValueError, match="block_size must be an int >= 1, got 0"):
        list(payload.iter_blocks(make_recording(3), 0, block_size=0))


def test_decode_block_rejects_unknown_dtype():
    content = {"columns": [{"name": "x", "dtype": "float64", "shape": [1]}]}
    with pytest.raises(ValueError, match="column 'x' has unknown dtype 'float64'"):
        payload.decode_block(content, [b"\x00" * 8])


def test_block_to_json_carries_base64_of_the_same_bytes():
    content, buffers = payload.encode_block(make_recording(4), 0, 2)
    block = payload.block_to_json(content, buffers)
    assert (block["start"], block["count"]) == (0, 2)
    for column, buffer in zip(block["columns"], buffers, strict=True):
        assert base64.b64decode(column["data_b64"]) == buffer
        assert set(column) == {"name", "dtype", "shape", "data_b64"}


def test_bytes_per_record_matches_encoded_buffers():
    recording = make_recording(8, seq_length=25)
    _, buffers = payload.encode_block(recording, 0)
    assert sum(len(buffer) for buffer in buffers) == 8 * payload.bytes_per_record(25)
    assert payload.bytes_per_record(25) == 837


def test_bytes_per_record_widens_labels_for_huge_vocabularies():
    assert payload.bytes_per_record(4, vocab_size=70_000) - payload.bytes_per_record(4) == 16


def test_bytes_per_record_rejects_zero_length():
    with pytest.raises(ValueError, match="seq_length must be an int >= 1, got 0"):
        payload.bytes_per_record(0)


def test_bytes_per_record_splits_into_summary_and_details():
    for n in (6, 25, 128):
        summary = payload.bytes_per_record(n, details=False)
        detail = payload.bytes_per_record(n, details=True)
        assert summary == 37  # nine 4-byte numbers and `clipped`
        assert summary + detail == payload.bytes_per_record(n)
    recording = make_recording(5, seq_length=25)
    content, buffers = payload.encode_block(recording, 0, summary_only=True)
    assert sum(len(b) for b in buffers) == 5 * 37
    assert all(len(header["shape"]) == 1 for header in content["columns"])


def _thinned(recording, **plan):
    """The records each message of iter_blocks covers, and which carry details."""
    summaries, details = [], []
    for content, buffers in payload.iter_blocks(recording, **plan):
        stride = content.get("stride", 1)
        covered = list(
            range(content["start"], content["start"] + content["count"] * stride, stride)
        )
        decoded = payload.decode_block(content, buffers)
        np.testing.assert_array_equal(decoded["step"], recording.column("step")[covered])
        summaries += covered
        if "losses" in decoded:
            np.testing.assert_allclose(
                decoded["losses"], recording.column("losses")[covered], rtol=1 / 128
            )
            details += covered
    return summaries, details


def test_iter_blocks_sends_every_summary_and_the_details_of_the_browsers_plan(monkeypatch):
    monkeypatch.setattr(payload, "MAX_SUMMARY_RECORDS", 16)
    recording = make_recording(100)
    summaries, details = _thinned(recording, start=3, detail_from=70, detail_stride=8, block_size=5)
    assert sorted(set(summaries)) == list(range(3, 100))
    assert sorted(details) == [8, 16, 24, 32, 40, 48, 56, 64, *range(70, 100)]
    # the newest come first, the latest block first (the views show the latest record), then
    # the summaries, then the thinned older records
    assert details[:5] == [95, 96, 97, 98, 99] and details.index(70) < details.index(8)


def test_iter_blocks_without_a_plan_sends_every_record_whole():
    summaries, details = _thinned(make_recording(12), start=2)
    assert summaries == details == list(range(2, 12))


def test_meta_of_fills_the_contract_keys():
    meta = payload.meta_of(make_recording(1))
    assert meta == {
        "seq_length": 6,
        "vocab": list("abcdefg"),
        "title": "t",
        "hidden_size": 8,
        "cell": "rnn",
        "record_every": 1,
        "corpus_length": 0,
        # 6 targets and 6 predictions (uint16), 6 losses and 21 magnitudes (bfloat16)
        "detail_bytes": 78,
        "per_example": False,
    }
