"""The PyTorch Recorder in a user's own training loop: what it records, the widget and run
directories it feeds, and what it leaves alone."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch  # the dev extra pins it: without it this file fails, it does not skip
from torch import nn

from rnnbow_widget import RNNbow
from rnnbow_widget.pytorch import Recorder, itemized_magnitudes
from rnnbow_widget.pytorch import recorder as recorder_module
from rnnbow_widget.rundir import RunReader

VOCAB = ["<eos>", "the", "cat", "sat", "on", "a", "mat"]
N, B, E, H = 8, 3, 6, 10


class TinyModel(nn.Module):
    def __init__(self, batch_first: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(len(VOCAB), E)
        self.rnn = nn.LSTM(E, H, num_layers=2, batch_first=batch_first)
        self.decoder = nn.Linear(H, len(VOCAB))


def batches(batch_first: bool, count: int):
    generator = torch.Generator().manual_seed(1)
    for _ in range(count):
        ids = torch.randint(0, len(VOCAB), (N + 1, B), generator=generator)
        x, y = ids[:-1], ids[1:]
        yield (x.T.contiguous(), y.T.contiguous()) if batch_first else (x, y)


def train(model: TinyModel, recorder: Recorder, steps: int) -> list[float]:
    """A user's loop: forward, loss, backward, clip, step; one observe call per step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for step, (x, y) in enumerate(batches(model.rnn.batch_first, steps)):
        emb = model.embed(x)
        out, _ = model.rnn(emb)
        loss = nn.functional.cross_entropy(model.decoder(out).flatten(0, 1), y.flatten())
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        recorder.observe(
            step, emb.detach(), y, tokens=x, loss=loss.item(), grad_norm=norm, clipped=norm > 1.0
        )
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("batch_first", [False, True])
def test_the_recorder_records_every_nth_step_of_a_training_loop(batch_first):
    model = TinyModel(batch_first)
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=5, example=1)
    train(model, recorder, 11)  # observed after the optimizer's step: the model now is step 10's
    records = list(recorder.recording)
    assert [r.step for r in records] == [0, 5, 10]
    x, y = list(batches(batch_first, 11))[10]
    last = records[-1]
    row = (lambda t: t[1]) if batch_first else (lambda t: t[:, 1])  # example=1
    assert last.input_ids.tolist() == row(x).tolist()
    assert last.target_ids.tolist() == row(y).tolist()
    assert last.grad_norm is not None and last.grad_norm > 0
    # the magnitudes are the batch's, as itemized_magnitudes gives them for the same weights,
    # and the example's own are those of sequence 1
    emb = model.embed(x).detach()
    expected, own = itemized_magnitudes(model.rnn, model.decoder, emb, y, example=1)
    assert np.allclose(last.magnitudes, expected, rtol=1e-5)  # stored as float32
    assert np.allclose(last.example_magnitudes, own, rtol=1e-5)
    assert not np.allclose(last.example_magnitudes, last.magnitudes, rtol=0.1)
    # predictions and per-step losses of the example sequence
    with torch.no_grad():
        out, _ = model.rnn(emb)
        logits = model.decoder(out)
    example_logits = logits[1] if batch_first else logits[:, 1]
    assert last.prediction_ids.tolist() == example_logits.argmax(-1).tolist()
    own = nn.functional.cross_entropy(example_logits, row(y), reduction="none")
    np.testing.assert_allclose(last.losses, own.numpy(), rtol=1e-5)


def test_the_recorder_leaves_training_alone():
    model, twin = TinyModel(), TinyModel()
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=1)
    model.rnn.dropout = twin.rnn.dropout = 0.5  # dropout draws random numbers in train mode
    silent = Recorder(twin.rnn, twin.decoder, vocab=VOCAB, seq_length=N, every=10**9)
    torch.manual_seed(3)
    with_records = train(model, recorder, 6)
    torch.manual_seed(3)
    without = train(twin, silent, 6)
    assert with_records == without  # same losses: same parameters, same random draws
    assert len(recorder.recording) == 6 and len(silent.recording) == 1  # step 0 only
    assert model.training and model.rnn.training


def test_the_widget_follows_a_recorder_and_a_run_dir_gets_its_records(tmp_path):
    model = TinyModel()
    recorder = Recorder(
        model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=2, run_dir=tmp_path / "run"
    )
    w = RNNbow(recorder)
    assert w.view_state()["_meta"]["per_example"] is False  # nothing recorded yet
    train(model, recorder, 6)
    assert w.view_state()["_record_count"] == 3  # pushed as they came, none left waiting
    assert w.view_state()["_meta"]["vocab"] == [*VOCAB, "∅"]  # and the label of ignored targets
    assert w.view_state()["_meta"]["per_example"] is True  # the toolbar can offer them
    recorder.close()
    reader = RunReader(tmp_path / "run")
    assert reader.poll() == 3 and reader.finished
    np.testing.assert_array_equal(reader.recording[2].magnitudes, recorder.recording[2].magnitudes)
    np.testing.assert_array_equal(
        reader.recording[2].example_magnitudes, recorder.recording[2].example_magnitudes
    )


def test_only_the_chosen_rank_records(monkeypatch):
    model = TinyModel()
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=1, rank=0)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda: 1)
    assert not recorder.records_here()
    train(model, recorder, 2)
    assert len(recorder.recording) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"every": 0}, ValueError, r"every must be an int >= 1, got 0"),
        ({"colour": "red"}, TypeError, r"unexpected keyword argument\(s\) colour; itemizing"),
        ({"vocab": ["a", "a"]}, ValueError, "vocab must not repeat symbols"),
        ({"max_norm": 0}, ValueError, r"max_norm must be a finite number > 0, got 0"),
    ],
)
def test_bad_recorder_arguments_are_named(kwargs, error, message):
    model = TinyModel()
    arguments = {"vocab": VOCAB, "seq_length": N, **kwargs}
    with pytest.raises(error, match=message):
        Recorder(model.rnn, model.decoder, **arguments)


def test_bad_observations_are_named():
    model = TinyModel()
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=1, example=5)
    x, y = next(batches(False, 1))
    with pytest.raises(ValueError, match="example=5 is out of range for a batch of 3 sequences"):
        recorder.observe(0, model.embed(x).detach(), y, tokens=x)
    with pytest.raises(TypeError, match="tokens must be a Tensor of token ids, got list"):
        Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N).observe(
            0, model.embed(x).detach(), y, tokens=[1, 2]
        )
    assert len(recorder.recording) == 0


def observe_fixed(recorder: Recorder, model: TinyModel, steps, **given):
    """Observe ``steps`` with the weights fixed; returns each batch's mean loss per token."""
    losses = []
    for step, (x, y) in zip(steps, batches(False, len(steps)), strict=True):
        emb = model.embed(x).detach()
        with torch.no_grad():
            logits = model.decoder(model.rnn(emb)[0])
        losses.append(nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten()).item())
        recorder.observe(step, emb, y, tokens=x, **given)
    return losses


def test_without_a_loss_the_overview_line_is_the_batchs_own_loss_smoothed_per_step():
    model = TinyModel()
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=5)
    first, second = observe_fixed(recorder, model, [0, 5])
    records = list(recorder.recording)
    assert records[0].smooth_loss == pytest.approx(first, rel=1e-6)
    keep = 0.999**5  # as the numpy trainer, 0.999 per training step
    assert records[1].smooth_loss == pytest.approx(keep * first + (1 - keep) * second, rel=1e-6)
    assert records[1].grad_norm is None and not records[1].clipped  # nothing made up


def test_a_loss_given_as_a_tensor_is_read_on_recorded_steps_only():
    model = TinyModel()
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=5)
    x, y = next(batches(False, 1))
    emb = model.embed(x).detach()
    three = torch.tensor([1.0, 2.0, 3.0])  # not a batch loss: an error, if it were read
    for step in range(1, 5):
        assert recorder.observe(step, emb, y, tokens=x, loss=three, grad_norm=three) is None
    with pytest.raises(ValueError, match=r"loss must be a number or a 0-dim tensor, got a ten"):
        recorder.observe(5, emb, y, tokens=x, loss=three)
    record = recorder.observe(10, emb, y, tokens=x, loss=torch.tensor(2.5), grad_norm=3.0)
    assert (record.smooth_loss, record.grad_norm) == (2.5, 3.0)
    with pytest.raises(TypeError, match="grad_norm must be a number or a 0-dim tensor, got str"):
        recorder.observe(15, emb, y, tokens=x, grad_norm="3")
    assert len(recorder.recording) == 1


def test_max_norm_marks_the_records_whose_gradient_was_clipped():
    model = TinyModel()
    recorder = Recorder(model.rnn, model.decoder, vocab=VOCAB, seq_length=N, every=1, max_norm=1.0)
    x, y = next(batches(False, 1))
    emb = model.embed(x).detach()
    norms = [torch.tensor(2.0), 0.5, torch.tensor(1.0)]
    records = [recorder.observe(i, emb, y, tokens=x, grad_norm=g) for i, g in enumerate(norms)]
    assert [r.clipped for r in records] == [True, False, False]
    assert recorder.observe(3, emb, y, tokens=x, grad_norm=0.5, clipped=True).clipped
    with pytest.raises(ValueError, match=r"Recorder\(max_norm=1\) tells clipping from the grad"):
        recorder.observe(4, emb, y, tokens=x)
    with pytest.raises(TypeError, match="clipped must be a bool or a 0-dim tensor, got str"):
        recorder.observe(4, emb, y, tokens=x, grad_norm=0.5, clipped="no")
    assert len(recorder.recording) == 4


def test_the_recorder_example_runs():
    assert doctest.testmod(recorder_module).failed == 0


def test_targets_the_loss_ignores_are_labelled_not_refused():
    # Padding: the shown sequence's last three targets are -100 (cross-entropy ignores them).
    torch.manual_seed(0)
    rnn, head = nn.GRU(E, H), nn.Linear(H, len(VOCAB))
    recorder = Recorder(rnn, head, vocab=VOCAB, seq_length=N, every=1)
    x, y = torch.randn(N, B, E), torch.randint(0, len(VOCAB), (N, B))
    y[-3:, 0] = -100
    record = recorder.observe(0, x, y, tokens=y.clamp_min(0))
    assert record.target_tokens[-3:] == ["∅", "∅", "∅"]
    assert record.target_tokens[:-3] == [VOCAB[i] for i in y[:-3, 0].tolist()]
    np.testing.assert_array_equal(record.losses[-3:], 0)  # no loss there, no gradient from it
    assert np.all(record.example_magnitudes[-3:] == 0)  # its own losses there: none
    assert recorder.recording.vocab[-1] == "∅" and len(recorder.recording.vocab) == len(VOCAB) + 1


def test_the_ignored_label_does_not_clash_with_a_vocabulary_token():
    rnn, head = nn.RNN(E, H), nn.Linear(H, 3)
    recorder = Recorder(rnn, head, vocab=["a", "∅", "b"], seq_length=N)
    assert recorder.recording.vocab[-1] == "␀"
