"""A trainer's records: every one lands in order, listeners get each new one, the widget sends
each one to the browser exactly once."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import cells, itemize, payload
from rnnbow_widget.bfloat16 import bfloat16_to_float32, float32_to_bfloat16
from rnnbow_widget.recording import WIRE_COLUMNS, Record, Recording
from rnnbow_widget.trainer import CharRNNTrainer

TEXT = "int main(void) { return 0; }\n/* a comment */ for (i = 0; i < n; i++) x += i;\n" * 20

SCALARS = ("index", "step", "offset", "inputs", "targets", "predictions", "loss", "smooth_loss",
           "grad_norm", "clipped", "max_gradient", "mean_gradient", "effective_horizon", "reach",
           "accuracy")  # fmt: skip
ARRAYS = ("losses", "magnitudes")


def _same(a: Record, b: Record) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in SCALARS) and all(
        np.array_equal(getattr(a, name), getattr(b, name)) for name in ARRAYS
    )


def test_a_trainers_records_all_land_in_order():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    trainer.train(6, progress=False)
    trainer.train(0, progress=False)
    trainer.step()
    trainer.train(5, progress=False)
    recording = trainer.recording
    assert len(recording) == 12 == trainer.steps_done
    np.testing.assert_array_equal(recording.column("step"), np.arange(12))
    assert [record.step for record in recording] == list(range(12))
    assert [record.index for record in recording] == list(range(12))
    assert len(TEXT) > 12 * 8 + 1  # no wrap: chunk i starts at 8 i
    assert recording.column("offset").tolist() == [8 * i for i in range(12)]
    for record in recording:
        assert record.inputs == TEXT[record.offset : record.offset + 8]
        assert record.targets == TEXT[record.offset + 1 : record.offset + 9]
    np.testing.assert_allclose(recording.column("loss"), trainer.loss_history, rtol=1e-6)
    assert trainer.recording.units.indices == list(range(12))


def test_every_record_every_chunks_is_recorded():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=3)
    trainer.train(10, progress=False)
    trainer.train(5, progress=False)
    assert trainer.recording.column("step").tolist() == [0, 3, 6, 9, 12]


def test_listeners_get_each_new_record_once():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    seen: list[Record] = []
    also: list[Record] = []
    trainer.on_record(seen.append)
    trainer.on_record(also.append)
    trainer.train(6, progress=False)
    assert [rec.index for rec in seen] == [0, 1, 2]
    assert all(a is b for a, b in zip(seen, also, strict=True))
    assert [rec.step for rec in seen] == [0, 2, 4]
    assert all(isinstance(rec, Record) for rec in seen)
    assert all(_same(rec, trainer.recording[rec.index]) for rec in seen)


def test_a_listener_sees_its_record_and_its_units_already_stored():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    checked: list[int] = []

    def check(index: int) -> None:
        assert len(trainer.recording) == index + 1
        assert trainer.recording[index].step == trainer.steps_done - 1
        assert index in trainer.recording.units
        checked.append(index)

    trainer.on_record(check, decoded=False)
    trainer.train(4, progress=False)
    assert checked == [0, 1, 2, 3]


def test_step_returns_the_new_record():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=100)
    trainer.train(3, progress=False)
    rec = trainer.step()
    assert isinstance(rec, Record) and rec.index == 1 and rec.step == 3
    assert _same(rec, trainer.recording[-1])


def test_append_returns_what_indexing_returns():
    recording = Recording(3, "abc")
    rec = recording.append(step=4, offset=1, inputs=[0, 1, 2], targets=[1, 2, 0],
                           predictions=[1, 1, 0], losses=[1.0, 2.0, 0.5],
                           magnitudes=np.tril(np.ones((3, 3))), grad_norm=0.7, clipped=True,
                           smooth_loss=1.1)  # fmt: skip
    assert rec.index == 0 and _same(rec, recording[0])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backward_leaves_the_cache_as_it_was_so_itemizing_after_it_is_bit_identical(cell):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, cell=cell)
    trainer.train(5, progress=False)
    module = cells.get_cell(cell)
    ids = np.array([trainer.vocab.index(symbol) for symbol in TEXT[:9]])
    params = trainer.params
    cache = module.forward(params, ids[:-1], ids[1:], module.initial_state(6))
    copies = {name: np.copy(value) for name, value in vars(cache).items()}
    before = itemize.magnitudes_from_cache(params, cache, horizon=4)
    grads = module.backward(params, cache)
    assert isinstance(grads, dict) and set(grads) == set(params)
    for name, value in vars(cache).items():
        assert np.array_equal(value, copies[name]), name
    assert np.array_equal(itemize.magnitudes_from_cache(params, cache, horizon=4), before)


def test_an_undecoded_listener_gets_indices():
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    indices: list[int] = []
    records: list[Record] = []
    unsubscribe = trainer.on_record(indices.append, decoded=False)
    trainer.on_record(records.append, decoded=True)
    trainer.train(6, progress=False)
    assert indices == [0, 1, 2] and all(type(i) is int for i in indices)
    assert [trainer.recording[i].step for i in indices] == [0, 2, 4]
    assert [rec.index for rec in records] == indices
    assert all(_same(rec, trainer.recording[rec.index]) for rec in records)
    unsubscribe()
    trainer.train(2, progress=False)
    assert indices == [0, 1, 2] and [rec.index for rec in records] == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="decoded must be True or False, got 'no'"):
        trainer.on_record(indices.append, decoded="no")


# ------------------------------------------------------------------ the widget


def _received(messages: list[tuple[dict, list]]) -> tuple[list[int], dict[str, np.ndarray]]:
    """The record indices the browser received, in order, and their decoded columns."""
    indices: list[int] = []
    parts: dict[str, list[np.ndarray]] = {name: [] for name in WIRE_COLUMNS}
    for content, buffers in messages:
        assert content["type"] == "records"
        indices.extend(range(content["start"], content["start"] + content["count"]))
        for name, values in payload.decode_block(content, buffers).items():
            parts[name].append(values)
    return indices, {name: np.concatenate(values) for name, values in parts.items()}


def _assert_received_every_record_once(messages: list, recording: Recording) -> None:
    indices, columns = _received(messages)
    assert indices == list(range(len(recording)))
    for name, values in columns.items():
        stored = recording.column(name)
        if name in ("losses", "magnitudes"):  # sent as bfloat16
            stored = bfloat16_to_float32(float32_to_bfloat16(stored))
        assert values.tobytes() == stored.tobytes(), name


def test_the_widget_sends_each_of_a_trainers_records_exactly_once(monkeypatch):
    from rnnbow_widget import widget as widget_module
    from rnnbow_widget.widget import RNNbow

    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    view = RNNbow(trainer)
    messages: list[tuple[dict, list]] = []
    view.send = lambda content, buffers=None: messages.append((content, buffers))
    monkeypatch.setattr(widget_module.time, "monotonic", lambda: 0.0)  # within the interval
    trainer.train(5, progress=False)  # the first record goes at once, the rest at the end
    assert [(c["start"], c["count"]) for c, _ in messages] == [(0, 1), (1, 4)]
    clock = iter(range(10, 10**6, 10)).__next__  # 10 s per call: every record is pushed
    monkeypatch.setattr(widget_module.time, "monotonic", clock)
    trainer.train(3, progress=False)
    assert [(c["start"], c["count"]) for c, _ in messages[2:]] == [(5, 1), (6, 1), (7, 1)]
    trainer.step()
    trainer.train(4, progress=False)
    _assert_received_every_record_once(messages, trainer.recording)
    assert len(trainer.recording) == 13
    view.close()
    trainer.train(2, progress=False)  # a closed widget sends nothing more
    _assert_received_every_record_once(messages, trainer.recording[:13])
