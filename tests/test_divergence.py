"""A diverged run says where: recording.meta["diverged"], saved, and sent to the views."""

from __future__ import annotations

import pytest

from rnnbow_widget import CharRNNTrainer, RNNbow
from rnnbow_widget.payload import meta_of
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import TrainingDivergedError

TEXT = "int main(void) { return add(a, b) * 2; }\n" * 10


def _diverging_trainer() -> CharRNNTrainer:
    # No clipping, a huge learning rate and init scale: the parameters overflow within a few steps.
    return CharRNNTrainer(
        TEXT, hidden_size=8, seq_length=6, record_every=1, seed=0,
        learning_rate=1e30, optimizer="sgd", clip=None, init_scale=10.0,
    )  # fmt: skip


def _train_until_diverged(trainer: CharRNNTrainer) -> TrainingDivergedError:
    with pytest.raises(TrainingDivergedError) as info:
        trainer.train(50, progress=False)
    return info.value


def test_trainer_records_where_it_diverged_in_the_recording_meta():
    trainer = _diverging_trainer()
    error = _train_until_diverged(trainer)
    diverged = trainer.recording.meta["diverged"]
    assert diverged == {"step": error.step, "quantity": error.quantity, "message": str(error)}
    assert diverged["step"] == trainer.steps_done
    assert "learning rate" in diverged["message"]


def test_diverged_meta_is_saved_and_loaded_with_the_recording(tmp_path):
    trainer = _diverging_trainer()
    error = _train_until_diverged(trainer)
    path = tmp_path / "run.npz"
    trainer.recording.save(path)
    back = Recording.load(path)
    assert back.meta["diverged"]["step"] == error.step
    assert meta_of(back)["diverged"] == {
        "step": error.step,
        "quantity": error.quantity,
        "message": str(error),
    }


def test_widget_meta_is_updated_when_training_diverges():
    trainer = _diverging_trainer()
    widget = RNNbow(trainer)
    assert "diverged" not in widget._meta
    sent = []
    widget.observe(lambda change: sent.append(change["new"]), names="_meta")
    error = _train_until_diverged(trainer)
    assert widget._meta["diverged"]["step"] == error.step
    assert widget._meta["diverged"]["quantity"] == error.quantity
    assert len(sent) == 1
    widget.close()


def test_a_healthy_run_has_no_diverged_entry():
    trainer = CharRNNTrainer(TEXT, hidden_size=8, seq_length=6, record_every=1, seed=0)
    widget = RNNbow(trainer)
    trainer.train(5, progress=False)
    assert "diverged" not in trainer.recording.meta
    assert "diverged" not in widget._meta
    widget.close()


@pytest.mark.parametrize(
    "value", [None, "step 3", {"step": -1}, {"step": True}, {"quantity": "loss"}]
)
def test_malformed_diverged_entries_are_not_sent(value):
    recording = Recording(3, "ab", meta={"diverged": value})
    assert "diverged" not in meta_of(recording)
