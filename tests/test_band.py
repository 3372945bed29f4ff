"""Long chunks on the wire: the band of the K_BAND nearest sources and the sums beyond it
instead of the whole triangle, one record's whole triangle on request, and what an exported
page carries (docs/data-contract.md, "Records as columns" and "Messages")."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import export, payload
from rnnbow_widget.bfloat16 import bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.columns import K_BAND, max_horizon, sends_band
from rnnbow_widget.recording import Recording
from rnnbow_widget.widget import RNNbow

VOCAB = "abcdefgh"


def long_recording(count: int = 3, n: int = 80, seed: int = 0) -> Recording:
    """Records whose magnitudes decay slowly with t - j, so the sums beyond the band matter."""
    rng = np.random.default_rng(seed)
    recording = Recording(n, VOCAB, meta={"title": "long"})
    t, j = np.indices((n, n))
    for i in range(count):
        magnitudes = np.tril(rng.random((n, n)) * 0.97 ** (t - j) * (1 + i))
        recording.append(
            step=i,
            inputs=rng.integers(0, len(VOCAB), n),
            targets=rng.integers(0, len(VOCAB), n),
            predictions=rng.integers(0, len(VOCAB), n),
            losses=rng.random(n) * 3,
            magnitudes=magnitudes,
        )
    return recording


def square(packed: np.ndarray, n: int) -> np.ndarray:
    full = np.zeros((n, n), dtype=np.float32)
    full[np.tril_indices(n)] = packed
    return full


def bf16(values: np.ndarray) -> np.ndarray:
    return bfloat16_to_float32(float32_to_bfloat16(np.asarray(values, dtype=np.float32)))


def test_chunks_of_64_steps_or_more_go_as_a_band_and_shorter_ones_whole():
    assert K_BAND == 32
    assert [n for n in (1, 25, 63, 64, 128, 512) if sends_band(n)] == [64, 128, 512]
    short, _ = payload.encode_block(long_recording(2, n=63), 0)
    names = [column["name"] for column in short["columns"]]
    assert "magnitudes" in names and "band" not in names and "beyond" not in names
    long, _ = payload.encode_block(long_recording(2, n=64), 0)
    shapes = {column["name"]: column["shape"] for column in long["columns"]}
    dtypes = {column["name"]: column["dtype"] for column in long["columns"]}
    assert "magnitudes" not in shapes
    assert shapes["band"] == [2, 64, K_BAND] and dtypes["band"] == "bfloat16"
    assert shapes["beyond"] == [2, 64] and dtypes["beyond"] == "float32"
    # Everything else goes as for short chunks, the summary numbers included.
    assert set(shapes) - {"band", "beyond"} == set(names) - {"magnitudes"}


def test_band_holds_the_nearest_sources_and_beyond_sums_the_rest():
    n = 80
    recording = long_recording(3, n=n)
    decoded = payload.decode_block(*payload.encode_block(recording, 0))
    for r in range(3):
        m = square(recording.column("magnitudes")[r], n)
        for j in range(n):
            for d in range(K_BAND):
                expected = m[j + d, j] if j + d < n else 0.0
                assert decoded["band"][r, j, d] == bf16(expected), (r, j, d)
            np.testing.assert_allclose(decoded["beyond"][r, j], m[j + K_BAND :, j].sum(), rtol=1e-6)
        assert decoded["beyond"][r, n - K_BAND :].tolist() == [0.0] * K_BAND


def test_band_and_beyond_give_every_bar_total_and_the_max_gradient():
    n = 100
    recording = long_recording(4, n=n)
    decoded = payload.decode_block(*payload.encode_block(recording, 0))
    totals = decoded["band"].sum(axis=2) + decoded["beyond"]
    for r in range(4):
        exact = square(recording.column("magnitudes")[r], n).sum(axis=0)
        np.testing.assert_allclose(totals[r], exact, rtol=5e-3)  # bfloat16 band
    np.testing.assert_allclose(totals.max(axis=1), decoded["max_gradient"], rtol=5e-3)
    np.testing.assert_array_equal(decoded["max_gradient"], recording.column("max_gradient"))


def test_bytes_per_record_at_long_chunks_match_the_buffers_and_stay_under_40_kb():
    for n in (64, 128):
        _, buffers = payload.encode_block(long_recording(2, n=n), 0)
        assert sum(len(buffer) for buffer in buffers) == 2 * payload.bytes_per_record(n)
    assert payload.bytes_per_record(512) == 37_925 <= 40_000
    assert payload.bytes_per_record(25) == 837  # short chunks: as before


def test_messages_of_long_chunks_hold_at_most_max_block_bytes(monkeypatch):
    recording = long_recording(7, n=64)
    monkeypatch.setattr(payload, "MAX_BLOCK_BYTES", 3 * payload.bytes_per_record(64))
    blocks = list(payload.iter_blocks(recording))
    assert [content["count"] for content, _ in blocks] == [3, 3, 1]
    assert [content["start"] for content, _ in blocks] == [0, 3, 6]


def test_request_magnitudes_is_answered_with_the_whole_packed_triangle(browser_sends):
    n = 70
    recording = long_recording(3, n=n)
    widget = RNNbow(recording)
    sent: list[tuple[dict, list]] = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    browser_sends(widget, {"type": "request_magnitudes", "index": 1})
    ((content, buffers),) = sent
    assert content == {"type": "magnitudes", "column": "magnitudes", "index": 1,
                       "available": True, "seq_length": n, "dtype": "bfloat16",
                       "shape": [n * (n + 1) // 2]}  # fmt: skip
    values = bfloat16_to_float32(np.frombuffer(buffers[0], dtype="<u2"))
    np.testing.assert_array_equal(values, bf16(recording.column("magnitudes")[1]))
    widget.close()


@pytest.mark.parametrize("index", [3, -1, "1", None, True, 1.0])
def test_a_bad_magnitudes_request_is_answered_with_the_error(browser_sends, index):
    widget = RNNbow(long_recording(3, n=70))
    sent: list[tuple[dict, list]] = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    browser_sends(widget, {"type": "request_magnitudes", "index": index})
    ((content, buffers),) = sent
    assert content["type"] == "magnitudes" and content["available"] is False
    assert content["error"].startswith("index must be an int in [0, 2], got")
    assert content["index"] == (index if index in (3, -1) and index is not True else -1)
    assert buffers == []
    widget.close()


def test_k_is_capped_at_k_band_for_long_chunks():
    assert max_horizon(25) == 25 and max_horizon(63) == 63 and max_horizon(512) == K_BAND
    widget = RNNbow(long_recording(1, n=70), horizon=50)
    assert widget.horizon == K_BAND
    widget.horizon = 10
    assert widget.horizon == 10
    widget.close()
    short = RNNbow(long_recording(1, n=40), horizon=50)
    assert short.horizon == 40
    short.close()


def test_an_exported_page_of_long_chunks_holds_the_selected_records_whole_triangle(tmp_path):
    n = 70
    recording = long_recording(3, n=n)
    state = {**RNNbow.default_view_state(), "selected_batch": 1}
    (answer,) = export.exported_magnitudes(state, recording)
    assert answer["type"] == "magnitudes" and answer["index"] == 1 and answer["available"]
    assert answer["shape"] == [n * (n + 1) // 2] and len(answer["data_b64"]) > 0
    latest = export.exported_magnitudes(RNNbow.default_view_state(), recording)
    assert [a["index"] for a in latest] == [2]
    assert export.exported_magnitudes(state, long_recording(3, n=30)) == []
    page = export.render_page([(state, recording)], "long")
    assert "run.magnitudes" in page and '"magnitudes": [{"type": "magnitudes"' in page


def test_a_trainer_of_long_chunks_pushes_the_band_live():
    from rnnbow_widget.trainer import CharRNNTrainer

    text = "for (int i = 0; i < n; i++) { total += weights[i] * inputs[i]; }\n" * 40
    trainer = CharRNNTrainer(text, hidden_size=8, seq_length=64, record_every=1, seed=0)
    widget = RNNbow(trainer)
    sent: list[tuple[dict, list]] = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    trainer.train(3, progress=False)
    widget.close()
    blocks = [payload.decode_block(c, b) for c, b in sent if c.get("type") == "records"]
    assert sum(len(block["step"]) for block in blocks) == len(trainer.recording) == 3
    for block in blocks:
        assert "magnitudes" not in block and block["band"].shape[1:] == (64, K_BAND)
    band = np.concatenate([block["band"] for block in blocks])
    beyond = np.concatenate([block["beyond"] for block in blocks])
    np.testing.assert_allclose(
        (band.sum(axis=2) + beyond).max(axis=1), trainer.recording.column("max_gradient"), rtol=5e-3
    )
