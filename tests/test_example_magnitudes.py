"""Per-example magnitudes, the optional ``example_magnitudes`` column: what a recording keeps,
what its files and run directories hold, and what reaches the browser."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import export, npzfile, payload
from rnnbow_widget.bfloat16 import bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.recording import Recording
from rnnbow_widget.rundir import RunReader, RunWriter
from rnnbow_widget.widget import RNNbow

VOCAB = "abcde"


def chunk(rng: np.random.Generator, n: int, step: int = 0, example: bool = True) -> dict:
    """One ``append``'s fields; the example's magnitudes differ from the batch's."""
    fields = {
        "step": step,
        "inputs": rng.integers(0, len(VOCAB), n),
        "targets": rng.integers(0, len(VOCAB), n),
        "predictions": rng.integers(0, len(VOCAB), n),
        "losses": rng.random(n),
        "magnitudes": np.tril(rng.random((n, n))),
    }
    if example:
        fields["example_magnitudes"] = np.tril(rng.random((n, n))) * 3
    return fields


def recording(count: int, n: int = 4, example: bool = True) -> Recording:
    rng = np.random.default_rng(count + n)
    rec = Recording(n, VOCAB)
    for step in range(count):
        rec.append(**chunk(rng, n, step, example))
    return rec


def bf16(values: np.ndarray) -> np.ndarray:
    return bfloat16_to_float32(float32_to_bfloat16(values))


# ------------------------------------------------------------------ the recording


def test_a_record_gives_back_the_example_magnitudes_it_was_given():
    fields = chunk(np.random.default_rng(0), 4)
    fields["example_magnitudes"][0, 3] = 9.0  # above the diagonal: not kept
    rec = Recording(4, VOCAB)
    record = rec.append(**fields)
    want = np.tril(fields["example_magnitudes"]).astype(np.float32)
    np.testing.assert_array_equal(record.example_magnitudes, want)
    np.testing.assert_array_equal(record.magnitudes, fields["magnitudes"].astype(np.float32))
    assert rec.column_names[-1] == "example_magnitudes"
    assert rec.column("example_magnitudes").shape == (1, 10)


def test_a_recording_without_them_says_so():
    rec = recording(2, example=False)
    assert rec[1].example_magnitudes is None
    assert "example_magnitudes" not in rec.column_names
    with pytest.raises(ValueError, match="unknown column 'example_magnitudes'"):
        rec.column("example_magnitudes")


@pytest.mark.parametrize("first", [True, False])
def test_they_are_given_for_every_record_or_for_none(first):
    rec = recording(2, example=first)
    later = chunk(np.random.default_rng(1), 4, example=not first)
    have, bring = (r"\['example_magnitudes'\]", "none") if first else ("no optional", r"\['exam")
    with pytest.raises(ValueError, match=f"append: this recording's records have {have}.*{bring}"):
        rec.append(**later)
    assert len(rec) == 2
    assert (rec[1].example_magnitudes is None) == (not first)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (-np.tril(np.ones((4, 4))), ValueError, "example_magnitudes must be >= 0"),
        (np.ones((3, 3)), ValueError, r"example_magnitudes must have shape \(4, 4\)"),
        (np.full((4, 4), "big"), TypeError, "example_magnitudes must hold real numbers"),
    ],
)
def test_bad_example_magnitudes_are_named(value, error, message):
    rec = Recording(4, VOCAB)
    with pytest.raises(error, match=message):
        rec.append(**{**chunk(np.random.default_rng(0), 4), "example_magnitudes": value})
    assert len(rec) == 0 and "example_magnitudes" not in rec.column_names


def test_they_survive_a_save_and_load_and_mark_the_file_version_3(tmp_path):
    rec = recording(70)  # past the first capacity of 64 records
    rec.save(tmp_path / "with.npz")
    back = Recording.load(tmp_path / "with.npz")
    assert back.column("example_magnitudes").tobytes() == rec.column("example_magnitudes").tobytes()
    np.testing.assert_array_equal(back[69].example_magnitudes, rec[69].example_magnitudes)
    assert npzfile.read(tmp_path / "with.npz")[0]["version"] == 3
    back.append(**chunk(np.random.default_rng(5), 4))  # a loaded recording keeps growing
    assert len(back) == 71
    recording(3, example=False).save(tmp_path / "without.npz")
    assert npzfile.read(tmp_path / "without.npz")[0]["version"] == 1  # older readers open it
    assert Recording.load(tmp_path / "without.npz")[0].example_magnitudes is None


def test_slices_and_extend_keep_them():
    rec = recording(6)
    part = rec[2:5]
    np.testing.assert_array_equal(part[0].example_magnitudes, rec[2].example_magnitudes)
    empty = Recording(4, VOCAB)
    empty.extend({name: rec.column(name, 1, 3) for name in rec.column_names})
    np.testing.assert_array_equal(empty[1].example_magnitudes, rec[2].example_magnitudes)
    plain = recording(1, example=False)
    with pytest.raises(ValueError, match="extend: this recording's records have no optional"):
        plain.extend({name: rec.column(name, 1, 3) for name in rec.column_names})
    assert len(plain) == 1


def test_a_run_directory_carries_them(tmp_path):
    rng = np.random.default_rng(2)
    fields = [chunk(rng, 4, step) for step in range(3)]
    with RunWriter(tmp_path / "run", seq_length=4, vocab=VOCAB, flush_seconds=0) as run:
        for one in fields:
            run.append(**one)
    reader = RunReader(tmp_path / "run")
    assert reader.poll() == 3 and reader.problems == []
    want = np.tril(fields[2]["example_magnitudes"]).astype(np.float32)
    np.testing.assert_array_equal(reader.recording[2].example_magnitudes, want)


# ------------------------------------------------------------------ to the browser


def test_short_chunks_send_them_with_every_record():
    rec = recording(5, n=25)
    content, buffers = payload.encode_block(rec, 1, 4)
    decoded = payload.decode_block(content, buffers)
    got = decoded["example_magnitudes"]
    np.testing.assert_array_equal(got, bf16(rec.column("example_magnitudes", 1, 4)))
    assert sum(map(len, buffers)) == 3 * payload.bytes_per_record(25, 5, rec.column_names)
    assert payload.bytes_per_record(25, 5, rec.column_names) == payload.bytes_per_record(25) + 650
    assert "example_magnitudes" not in payload.decode_block(
        *payload.encode_block(recording(2, 25, False), 0)
    )
    assert payload.meta_of(rec)["per_example"] is True
    assert payload.meta_of(recording(1, example=False))["per_example"] is False


def test_long_chunks_send_them_on_request_only(browser_sends):
    rec = recording(3, n=70)
    content, buffers = payload.encode_block(rec, 0)
    assert "example_magnitudes" not in [column["name"] for column in content["columns"]]
    assert sum(map(len, buffers)) == 3 * payload.bytes_per_record(70)
    widget = RNNbow(rec)
    sent: list[tuple[dict, list]] = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    browser_sends(
        widget, {"type": "request_magnitudes", "index": 2, "column": "example_magnitudes"}
    )
    ((answer, triangle),) = sent
    assert answer["column"] == "example_magnitudes" and answer["available"] is True
    values = bfloat16_to_float32(np.frombuffer(triangle[0], dtype="<u2"))
    np.testing.assert_array_equal(values, bf16(rec.column("example_magnitudes")[2]))
    widget.close()


@pytest.mark.parametrize(
    ("example", "column", "error"),
    [
        (False, "example_magnitudes", "this recording has no per-example magnitudes"),
        (
            True,
            "losses",
            "column must be one of ('magnitudes', 'example_magnitudes'), got 'losses'",
        ),
    ],
)
def test_a_request_they_cannot_answer_says_why(browser_sends, example, column, error):
    widget = RNNbow(recording(2, n=70, example=example))
    sent: list[tuple[dict, list]] = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    browser_sends(widget, {"type": "request_magnitudes", "index": 1, "column": column})
    ((answer, buffers),) = sent
    assert (answer["available"], answer["error"], answer["index"], buffers) == (False, error, 1, [])
    widget.close()


def test_a_page_of_long_chunks_holds_the_selected_records_own_triangle_too():
    rec = recording(3, n=70)
    answers = export.exported_magnitudes({"selected_batch": 1}, rec)
    assert [(a["column"], a["index"], a["available"]) for a in answers] == [
        ("magnitudes", 1, True),
        ("example_magnitudes", 1, True),
    ]
    assert len(export.exported_magnitudes({"selected_batch": 1}, recording(3, 70, False))) == 1


# ------------------------------------------------------------------ the widget's trait


def test_per_example_is_a_view_option_off_by_default_and_checked_from_the_browser(monkeypatch):
    assert RNNbow.default_view_state()["per_example"] is False
    w = RNNbow(recording(3), per_example=True)
    assert w.view_state()["per_example"] is True and w.view_state()["_meta"]["per_example"]
    resent = []
    monkeypatch.setattr(w, "send_state", lambda key=None: resent.append(key))
    w.set_state({"per_example": "yes"})
    assert w.per_example is True and resent == [["per_example"]]
    w.set_state({"per_example": False})
    assert w.per_example is False
    w.close()
    with pytest.raises(TypeError, match=r"accepted: .*per_example"):
        RNNbow(recording(1), per_exmple=True)
