"""What a recorded chunk costs the trainer: Records are only decoded for whoever reads them."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget.recording import Record, Recording
from rnnbow_widget.trainer import CharRNNTrainer

TEXT = "int main(void) { return 0; }\n/* a comment */ for (i = 0; i < n; i++) x += i;\n" * 20


@pytest.fixture
def decoded(monkeypatch):
    """Indices of the Records built by Recording._record, in order."""
    built: list[int] = []
    record = Recording._record

    def counting(self, i):
        built.append(i)
        return record(self, i)

    monkeypatch.setattr(Recording, "_record", counting)
    return built


def _same(a: Record, b: Record) -> bool:
    arrays = ("losses", "magnitudes")
    fields = [name for name in Record.__dataclass_fields__ if name not in arrays]
    return all(getattr(a, name) == getattr(b, name) for name in fields) and all(
        np.array_equal(getattr(a, name), getattr(b, name)) for name in arrays
    )


def test_train_without_listeners_decodes_no_record(decoded):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1, horizon=3)
    trainer.train(6, progress=False)
    assert decoded == [] and len(trainer.recording) == 6
    assert trainer.recording.units.indices == list(range(6))


def test_listeners_get_each_new_record_decoded_once(decoded):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    seen: list[Record] = []
    also: list[Record] = []
    trainer.on_record(seen.append)
    trainer.on_record(also.append)
    trainer.train(6, progress=False)
    assert decoded == [0, 1, 2] and [rec.index for rec in seen] == [0, 1, 2]
    assert all(a is b for a, b in zip(seen, also, strict=True))
    assert [rec.step for rec in seen] == [0, 2, 4]
    assert all(_same(rec, trainer.recording[rec.index]) for rec in seen)


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
def test_backward_keeps_the_local_messages_and_itemizing_after_it_is_bit_identical(cell):
    from rnnbow_widget import cells, itemize, model
    from rnnbow_widget.cells import lagwalk

    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, cell=cell)
    trainer.train(5, progress=False)
    params, inputs, targets = trainer.params, trainer._data[:8], trainer._data[1:9]
    module = model if cell == "rnn" else cells.get_cell(cell)
    magnitudes = itemize.magnitudes_from_cache if cell == "rnn" else module.itemized_magnitudes
    local = model.local_messages if cell == "rnn" else lagwalk.local_messages
    cache = module.forward(params, inputs, targets, trainer._initial_state())
    before = magnitudes(params, cache, horizon=4)
    worked_out = local(params, cache)
    module.backward(params, cache)
    assert local(params, cache) is cache.local
    assert np.array_equal(cache.local, worked_out)
    assert np.array_equal(magnitudes(params, cache, horizon=4), before)


def test_an_undecoded_listener_gets_indices_and_no_record_is_built(decoded):
    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=2)
    indices: list[int] = []
    unsubscribe = trainer.on_record(indices.append, decoded=False)
    trainer.train(6, progress=False)
    assert indices == [0, 1, 2] and decoded == []
    assert len(trainer.recording._queue) == 3  # nothing read them yet: still queued
    assert [trainer.recording[i].step for i in indices] == [0, 2, 4]
    unsubscribe()
    trainer.train(2, progress=False)
    assert indices == [0, 1, 2] and trainer._index_listeners == []
    with pytest.raises(TypeError, match="decoded must be True or False, got 'no'"):
        trainer.on_record(indices.append, decoded="no")


def test_the_widget_reads_a_trainers_records_in_batches(decoded, monkeypatch):
    from rnnbow_widget import widget as widget_module
    from rnnbow_widget.widget import RNNbow

    trainer = CharRNNTrainer(TEXT, hidden_size=6, seq_length=8, record_every=1)
    view = RNNbow(trainer)
    clock = iter(range(0, 10**6, 10)).__next__  # 10 s per call: every record is pushed
    monkeypatch.setattr(widget_module.time, "monotonic", lambda: 0.0)  # within the interval
    trainer.train(5, progress=False)  # ... until the end of train() pushes them all
    assert view._record_count == 5 and decoded == []
    monkeypatch.setattr(widget_module.time, "monotonic", clock)
    trainer.train(3, progress=False)
    assert view._record_count == 8 and decoded == []
    view.close()
