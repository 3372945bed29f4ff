"""CharRNNTrainer: data cursor, recording schedule, determinism, sampling, failure handling."""

from __future__ import annotations

import math
import os
import re
import signal

import numpy as np
import pytest

from rnnbow_widget import cells, itemize, model
from rnnbow_widget.optim import global_norm
from rnnbow_widget.recording import COLUMN_NAMES
from rnnbow_widget.trainer import CharRNNTrainer, TrainingDivergedError

TEXT = (
    "int main(void) {\n    return add(a, b) * 2;\n}\n"
    "static int add(int x, int y) { return x + y; }\n"
) * 8
SMALL = {"hidden_size": 12, "seq_length": 6}


def _trainer(text: str = TEXT, **kwargs) -> CharRNNTrainer:
    return CharRNNTrainer(text, **{**SMALL, **kwargs})


def _copy(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in params.items()}


def _assert_same_params(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _assert_same_recordings(a, b) -> None:
    assert len(a) == len(b)
    for name in COLUMN_NAMES:
        np.testing.assert_array_equal(a.column(name), b.column(name), err_msg=name)


# ------------------------------------------------------------------ vocabulary and cursor
def test_vocab_is_the_sorted_distinct_symbols_of_the_text():
    trainer = _trainer("banana bread\n")
    assert trainer.vocab == "\n abdenr"


def test_recorded_chunks_are_consecutive_slices_of_the_text():
    n = SMALL["seq_length"]
    trainer = _trainer(record_every=1)
    trainer.train(5, progress=False)
    for i, rec in enumerate(trainer.recording):
        assert rec.offset == i * n
        assert rec.inputs == TEXT[i * n : i * n + n]
        assert rec.targets == TEXT[i * n + 1 : i * n + n + 1]
    assert trainer.position == 5 * n


def test_cursor_wraps_to_zero_when_no_full_chunk_with_target_remains():
    n = 4
    text = "abcdefghijklm"  # 13 chars: chunks at 0, 4, 8 (8 + 4 + 1 = 13 fits), then wrap
    trainer = CharRNNTrainer(text, hidden_size=5, seq_length=n, record_every=1)
    trainer.train(5, progress=False)
    assert [rec.offset for rec in trainer.recording] == [0, 4, 8, 0, 4]
    assert trainer.recording[2].targets == "jklm"


def test_hidden_state_is_carried_between_chunks():
    trainer = _trainer()
    trainer.step()
    h_carried = trainer.hidden_state
    assert np.abs(h_carried).max() > 0
    params_before = _copy(trainer.params)
    rec = trainer.step()
    inputs, targets = _indices(trainer, rec.inputs), _indices(trainer, rec.targets)
    carried = model.forward(params_before, inputs, targets, h_carried).losses
    fresh = model.forward(params_before, inputs, targets, np.zeros(12)).losses
    np.testing.assert_allclose(rec.losses, carried, rtol=1e-6)
    assert not np.allclose(rec.losses, fresh, rtol=1e-6)


def test_hidden_state_resets_to_zeros_on_wrap():
    text = "abcdefghijklm"
    trainer = CharRNNTrainer(text, hidden_size=5, seq_length=4, record_every=1)
    trainer.train(3, progress=False)
    h_carried = trainer.hidden_state
    params_before = _copy(trainer.params)
    rec = trainer.step()
    assert rec.offset == 0
    inputs, targets = _indices(trainer, rec.inputs), _indices(trainer, rec.targets)
    fresh = model.forward(params_before, inputs, targets, np.zeros(5)).losses
    carried = model.forward(params_before, inputs, targets, h_carried).losses
    np.testing.assert_allclose(rec.losses, fresh, rtol=1e-6)
    assert not np.allclose(rec.losses, carried, rtol=1e-6)


def _indices(trainer: CharRNNTrainer, chars: str) -> np.ndarray:
    return np.array([trainer.vocab.index(c) for c in chars])


# ------------------------------------------------------------------ what a step does
def test_one_step_applies_clipped_adagrad_to_the_bptt_gradient():
    trainer = _trainer(clip=0.05)
    params = _copy(trainer.params)
    n = SMALL["seq_length"]
    inputs, targets = _indices(trainer, TEXT[:n]), _indices(trainer, TEXT[1 : n + 1])
    grads = model.backward(params, model.forward(params, inputs, targets, np.zeros(12)))
    rec = trainer.step()
    assert rec.grad_norm == pytest.approx(global_norm(grads), rel=1e-6)
    assert rec.clipped
    for k, p in params.items():
        g = np.clip(grads[k], -0.05, 0.05)
        expected = p - 0.1 * g / np.sqrt(g * g + 1e-8)
        np.testing.assert_allclose(trainer.params[k], expected, rtol=1e-12, atol=1e-15)


def test_unclipped_step_reports_not_clipped():
    rec = _trainer(clip=None).step()
    assert not rec.clipped


def test_recorded_magnitudes_come_from_the_parameters_before_the_update():
    trainer = _trainer(horizon=3, norm="mean_abs")
    trainer.train(3, progress=False)
    params, h0 = _copy(trainer.params), trainer.hidden_state
    rec = trainer.step()
    inputs, targets = _indices(trainer, rec.inputs), _indices(trainer, rec.targets)
    cache = model.forward(params, inputs, targets, h0)
    expected = itemize.magnitudes_from_cache(params, cache, norm="mean_abs", horizon=3)
    np.testing.assert_allclose(rec.magnitudes, expected, rtol=1e-6)
    assert rec.magnitudes[5, 2] == 0  # beyond the horizon of 3
    assert rec.magnitudes[5, 3] > 0


def test_smooth_loss_starts_at_log_vocab_and_moves_by_one_per_mille():
    trainer = _trainer()
    V = len(trainer.vocab)
    assert trainer.smooth_loss == math.log(V)
    rec = trainer.step()
    assert rec.smooth_loss == pytest.approx(0.999 * math.log(V) + 0.001 * rec.loss, rel=1e-6)
    assert trainer.loss_history[0] == pytest.approx(float(rec.losses.mean()), rel=1e-6)


def test_train_returns_mean_loss_of_its_chunks():
    trainer = _trainer()
    trainer.train(4, progress=False)
    mean = trainer.train(6, progress=False)
    assert len(trainer.loss_history) == 10
    assert mean == pytest.approx(trainer.loss_history[4:].mean(), rel=1e-12)


def test_training_lowers_the_loss_on_a_repetitive_text():
    trainer = CharRNNTrainer("abcabd" * 50, hidden_size=16, seq_length=10)
    first = trainer.train(20, progress=False)
    trainer.train(300, progress=False)
    last = trainer.train(20, progress=False)
    assert last < 0.5 * first


def test_train_zero_steps_changes_nothing_and_returns_nan():
    trainer = _trainer()
    params = _copy(trainer.params)
    assert math.isnan(trainer.train(0, progress=False))
    assert trainer.steps_done == 0
    _assert_same_params(trainer.params, params)


# ------------------------------------------------------------------ recording schedule
def test_records_every_record_every_chunks_starting_at_zero():
    trainer = _trainer(record_every=10)
    trainer.train(25, progress=False)
    assert [rec.step for rec in trainer.recording] == [0, 10, 20]


def test_step_always_records_and_returns_the_new_record():
    trainer = _trainer(record_every=1000)
    trainer.train(3, progress=False)
    rec = trainer.step()
    assert rec.step == 3
    assert len(trainer.recording) == 2
    assert trainer.recording[-1].step == 3
    assert trainer.recording[-1].losses.tolist() == rec.losses.tolist()


def test_recording_meta_describes_the_run():
    trainer = _trainer(record_every=7, learning_rate=0.05, name="tiny run", horizon=4)
    assert trainer.recording.meta == {
        "title": "tiny run",
        "hidden_size": 12,
        "cell": "rnn",
        "activation": "tanh",
        "record_every": 7,
        "corpus_length": len(TEXT),
        "learning_rate": 0.05,
        "seq_length": 6,
        "init_scale": 0.1,
        "optimizer": "adagrad",
        "horizon": 4,
        "dtype": "float64",
    }
    assert trainer.recording.vocab == tuple(trainer.vocab)


# ------------------------------------------------------------------ determinism
def test_same_arguments_give_bit_identical_training():
    a, b = _trainer(seed=3, record_every=4), _trainer(seed=3, record_every=4)
    a.train(30, progress=False)
    b.train(30, progress=False)
    _assert_same_params(a.params, b.params)
    _assert_same_recordings(a.recording, b.recording)


def test_different_seeds_give_different_parameters():
    a, b = _trainer(seed=1), _trainer(seed=2)
    assert not np.array_equal(a.params["W_hh"], b.params["W_hh"])


def test_training_in_two_calls_equals_training_in_one():
    split, whole = _trainer(record_every=7), _trainer(record_every=7)
    split.train(20, progress=False)
    split.train(20, progress=False)
    whole.train(40, progress=False)
    _assert_same_params(split.params, whole.params)
    _assert_same_recordings(split.recording, whole.recording)
    np.testing.assert_array_equal(split.loss_history, whole.loss_history)
    assert split.smooth_loss == whole.smooth_loss
    assert split.position == whole.position


# ------------------------------------------------------------------ sampling
def test_sample_does_not_change_training():
    plain, sampled = _trainer(), _trainer()
    plain.train(10, progress=False)
    sampled.train(5, progress=False)
    sampled.sample(50, prime="int ")
    sampled.train(5, progress=False)
    _assert_same_params(plain.params, sampled.params)
    np.testing.assert_array_equal(plain.hidden_state, sampled.hidden_state)


def test_sample_has_the_requested_length_in_the_vocabulary_and_is_seeded():
    a, b = _trainer(seed=5), _trainer(seed=5)
    text_a, text_b = a.sample(40), b.sample(40)
    assert len(text_a) == 40
    assert set(text_a) <= set(a.vocab)
    assert text_a == text_b


def test_cold_sample_of_a_learned_cycle_repeats_it():
    trainer = CharRNNTrainer("abc" * 60, hidden_size=16, seq_length=9)
    trainer.train(300, progress=False)
    assert trainer.sample(9, temperature=0.01, prime="ab") == "cabcabcab"


def test_sample_rejects_symbols_outside_the_vocabulary():
    trainer = _trainer()
    with pytest.raises(
        ValueError, match=re.escape("prime holds symbols outside the vocabulary: 'QZ'")
    ):
        trainer.sample(5, prime="intZ Q")


@pytest.mark.parametrize("bad", [0, -1.0, math.nan])
def test_sample_temperature_must_be_positive(bad):
    with pytest.raises(ValueError, match=f"temperature must be a finite number > 0, got {bad!r}"):
        _trainer().sample(5, temperature=bad)


# ------------------------------------------------------------------ listeners
def test_record_listeners_get_each_record_until_unsubscribed():
    trainer = _trainer(record_every=2)
    seen = []
    unsubscribe = trainer.on_record(lambda rec: seen.append(rec.step))
    trainer.train(6, progress=False)
    unsubscribe()
    trainer.train(4, progress=False)
    assert seen == [0, 2, 4]
    assert len(trainer.recording) == 5


def test_train_end_listeners_run_after_train_and_step():
    trainer = _trainer()
    calls = []
    unsubscribe = trainer.on_train_end(lambda: calls.append(trainer.steps_done))
    trainer.train(3, progress=False)
    trainer.step()
    unsubscribe()
    trainer.step()
    assert calls == [3, 4]


def test_listeners_must_be_callable():
    with pytest.raises(TypeError, match="callback must be callable, got 3"):
        _trainer().on_record(3)


# ------------------------------------------------------------------ progress bar
def test_progress_bar_reports_loss_and_chars_per_second(capsys):
    _trainer().train(5, progress=True)
    err = capsys.readouterr().err
    assert "5/5" in err
    assert "chars/s" in err
    assert "loss=" in err


def test_no_progress_bar_when_progress_is_false(capsys):
    _trainer().train(5, progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ divergence
def test_diverging_update_is_rolled_back_and_training_can_resume():
    trainer = _trainer(optimizer="sgd", learning_rate=1e308, clip=None)
    trainer.params["b_y"][:] = 1.7e308  # finite, but the SGD step pushes it past the float range
    params, h, position = _copy(trainer.params), trainer.hidden_state, trainer.position
    ended = []
    trainer.on_train_end(lambda: ended.append(True))
    with pytest.raises(TrainingDivergedError) as info:
        trainer.train(5, progress=False)
    message = str(info.value)
    assert "training diverged at step 0: the parameters became non-finite" in message
    for advice in ("learning rate", "clip", "init_scale"):
        assert advice in message
    assert info.value.step == 0
    assert isinstance(info.value, RuntimeError)
    _assert_same_params(trainer.params, params)
    np.testing.assert_array_equal(trainer.hidden_state, h)
    assert (trainer.steps_done, trainer.position, len(trainer.recording)) == (0, position, 0)
    assert trainer.optimizer.updates == 0
    assert ended == [True]
    trainer.learning_rate = 0.01
    assert trainer.optimizer.learning_rate == 0.01
    trainer.train(3, progress=False)
    assert trainer.steps_done == 3
    assert all(np.isfinite(p).all() for p in trainer.params.values())


@pytest.mark.parametrize(
    ("name", "value", "quantity"),
    [("b_y", math.nan, "loss"), ("W_hy", 1e308, "gradient")],
)
def test_non_finite_step_mid_training_keeps_the_steps_before_it(name, value, quantity):
    trainer = _trainer(record_every=1)

    def poison(rec):
        if rec.step == 4:
            trainer.params[name][:] = value

    trainer.on_record(poison)
    with pytest.raises(TrainingDivergedError, match=f"diverged at step 5: the {quantity}") as info:
        trainer.train(10, progress=False)
    assert info.value.quantity == quantity
    assert info.value.step == 5
    assert trainer.steps_done == 5
    assert len(trainer.recording) == 5
    assert len(trainer.loss_history) == 5
    assert trainer.position == 5 * SMALL["seq_length"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adagrad_keeps_parameters_near_the_float_limit_finite(dtype):
    # Adagrad's step is at most the learning rate, so the trainer skips the overflow check;
    # a bias at the largest finite float must still come out finite (and the loss too).
    trainer = _trainer(dtype=dtype)
    largest = np.finfo(dtype).max
    trainer.params["b_h"][:3] = [largest, -largest, largest]
    trainer.train(5, progress=False)
    assert all(np.isfinite(p).all() for p in trainer.params.values())
    assert np.isfinite(trainer.loss_history).all()
    assert np.abs(trainer.params["b_h"][:3]).min() > 0.99 * largest


# ------------------------------------------------------------------ interrupt
def test_keyboard_interrupt_stops_between_steps_and_training_continues():
    interrupted, reference = _trainer(record_every=1), _trainer(record_every=1)
    handler_before = signal.getsignal(signal.SIGINT)

    def interrupt(rec):
        if rec.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    unsubscribe = interrupted.on_record(interrupt)
    ended = []
    interrupted.on_train_end(lambda: ended.append(interrupted.steps_done))
    with pytest.raises(KeyboardInterrupt, match="interrupted after 4 of 10 chunks"):
        interrupted.train(10, progress=False)
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert ended == [4]
    assert interrupted.steps_done == 4
    assert len(interrupted.recording) == 4
    assert len(interrupted.loss_history) == 4
    reference.train(4, progress=False)
    _assert_same_params(interrupted.params, reference.params)
    _assert_same_recordings(interrupted.recording, reference.recording)

    unsubscribe()
    interrupted.train(6, progress=False)
    reference.train(6, progress=False)
    _assert_same_params(interrupted.params, reference.params)
    _assert_same_recordings(interrupted.recording, reference.recording)


# ------------------------------------------------------------------ gated cells
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_train_record_and_sample(cell):
    module = cells.get_cell(cell)
    trainer = CharRNNTrainer("abcabd" * 50, hidden_size=16, seq_length=10, cell=cell)
    state0 = trainer.hidden_state
    np.testing.assert_array_equal(state0, module.initial_state(16))
    params = _copy(trainer.params)
    rec = trainer.step()
    inputs, targets = _indices(trainer, rec.inputs), _indices(trainer, rec.targets)
    cache = module.forward(params, inputs, targets, state0)
    np.testing.assert_allclose(rec.losses, cache.losses, rtol=1e-6)
    np.testing.assert_allclose(
        rec.magnitudes, itemize.magnitudes_from_cache(params, cache), rtol=1e-6, atol=1e-30
    )
    np.testing.assert_array_equal(trainer.hidden_state, cache.final_state)
    first = trainer.train(20, progress=False)
    trainer.train(300, progress=False)
    assert trainer.train(20, progress=False) < 0.6 * first
    assert set(trainer.sample(30, prime="ab")) <= set("abcd")


def test_params_can_be_changed_in_place_but_not_replaced():
    trainer = _trainer()
    trainer.params["b_y"][0] = 5.0  # one logit up: every loss changes
    rec = trainer.step()
    assert rec.losses.tolist() != _trainer().step().losses.tolist()
    with pytest.raises(TypeError, match=re.escape("change an array in place")):
        trainer.params["b_y"] = np.zeros(len(trainer.vocab))


def test_keyboard_interrupt_during_step_completes_the_step_first():
    trainer = _trainer()
    trainer.on_record(lambda rec: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt, match="interrupted after completing step 0"):
        trainer.step()
    assert trainer.steps_done == 1
    assert len(trainer.recording) == 1
    assert trainer.position == SMALL["seq_length"]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"text": ""}, ValueError, "text must not be empty"),
        (
            {"text": b"abc" * 20},
            TypeError,
            "text must be a str, a sequence of str tokens, or an int array of token ids "
            "with vocab=; got bytes",
        ),
        (
            {"text": "abcdef", "seq_length": 6},
            ValueError,
            "text must have at least seq_length + 1 = 7 characters",
        ),
        ({"seq_length": 1}, ValueError, "seq_length must be an int >= 2, got 1"),
        ({"seq_length": 2.5}, TypeError, "seq_length must be an int >= 2, got 2.5"),
        ({"hidden_size": 0}, ValueError, "hidden_size must be an int >= 1, got 0"),
        ({"learning_rate": 0}, ValueError, "learning_rate must be a finite number > 0, got 0"),
        (
            {"learning_rate": math.nan},
            ValueError,
            "learning_rate must be a finite number > 0, got nan",
        ),
        ({"record_every": 0}, ValueError, "record_every must be an int >= 1, got 0"),
        (
            {"cell": "transformer"},
            ValueError,
            "cell must be one of ('rnn', 'lstm', 'gru'), got 'transformer'",
        ),
        (
            {"activation": "sigmoid"},
            ValueError,
            "activation must be one of ('tanh', 'relu') for cell 'rnn', got 'sigmoid'",
        ),
        (
            {"cell": "lstm", "activation": "relu"},
            ValueError,
            "activation must be one of ('tanh',) for cell 'lstm', got 'relu'",
        ),
        (
            {"optimizer": "rmsprop"},
            ValueError,
            "optimizer must be one of ('adagrad', 'sgd', 'adam'), got 'rmsprop'",
        ),
        ({"clip": 0}, ValueError, "clip must be a finite number > 0, got 0"),
        ({"clip_norm": -1}, ValueError, "clip_norm must be a finite number > 0, got -1"),
        ({"init_scale": 0}, ValueError, "init_scale must be a finite number > 0, got 0"),
        ({"horizon": 0}, ValueError, "horizon must be an int >= 1, got 0"),
        ({"wrt": "W_hy"}, ValueError, "wrt must be one of ('W_hh', 'W_xh', 'b_h'), got 'W_hy'"),
        ({"norm": "max"}, ValueError, "norm must be one of ('fro', 'mean_abs'), got 'max'"),
        ({"seed": -1}, ValueError, "seed must be an int >= 0, got -1"),
        ({"name": 5}, TypeError, "name must be a str or None, got int"),
    ],
)
def test_constructor_rejects_bad_arguments_with_a_clear_message(kwargs, error, message):
    kwargs = {"text": TEXT, **SMALL, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        CharRNNTrainer(**kwargs)


def test_learning_rate_can_be_changed_but_not_to_a_bad_value():
    trainer = _trainer()
    with pytest.raises(
        ValueError, match=re.escape("learning_rate must be a finite number > 0, got -0.5")
    ):
        trainer.learning_rate = -0.5
    assert trainer.learning_rate == 0.1


@pytest.mark.parametrize(
    ("steps", "error", "message"),
    [
        (-1, ValueError, "steps must be an int >= 0, got -1"),
        (2.0, TypeError, "steps must be an int >= 0, got 2.0 (float)"),
        (True, TypeError, "steps must be an int >= 0, got True"),
    ],
)
def test_train_rejects_bad_step_counts(steps, error, message):
    with pytest.raises(error, match=re.escape(message)):
        _trainer().train(steps, progress=False)


def test_predict_returns_the_argmax_guess_for_every_next_character() -> None:
    text = "the cat sat on the mat. " * 20
    trainer = CharRNNTrainer(text, hidden_size=12, seq_length=8, seed=3)
    trainer.train(30, progress=False)
    probe = "the mat sat"
    guesses = trainer.predict(probe)
    ids = np.array([trainer.vocab.index(c) for c in probe])
    cache = model.forward(trainer.params, ids[:-1], ids[1:], np.zeros(12))
    expected = "".join(trainer.vocab[i] for i in cache.y.argmax(axis=1))
    assert guesses == expected
    assert len(guesses) == len(probe) - 1


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_predict_works_for_gated_cells_and_leaves_training_state_alone(cell: str) -> None:
    trainer = CharRNNTrainer("abcdabcdabcd" * 20, hidden_size=6, seq_length=6, cell=cell)
    trainer.train(20, progress=False)
    before = {k: v.copy() for k, v in trainer.params.items()}
    position, steps = trainer.position, trainer.steps_done
    guesses = trainer.predict("abcdab")
    assert len(guesses) == 5 and set(guesses) <= set(trainer.vocab)
    assert all(np.array_equal(before[k], trainer.params[k]) for k in before)
    assert (trainer.position, trainer.steps_done) == (position, steps)


def test_predict_rejects_unknown_symbols_and_too_short_text() -> None:
    trainer = CharRNNTrainer("abcabcabc" * 10, hidden_size=4, seq_length=4)
    with pytest.raises(ValueError, match=r"text holds symbols outside the vocabulary: 'xz'"):
        trainer.predict("abxz")
    with pytest.raises(ValueError, match="at least 2 tokens"):
        trainer.predict("a")
    with pytest.raises(TypeError, match="text must be a str or a sequence of str, got int"):
        trainer.predict(42)
    assert trainer.predict(["a", "b", "c"]) == trainer.predict("abc")
