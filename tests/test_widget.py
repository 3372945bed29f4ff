"""The widget model: traits, browser writes as the comm delivers them, record messages."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from rnnbow_widget import export, payload
from rnnbow_widget import widget as widget_module
from rnnbow_widget.recording import Recording
from rnnbow_widget.trainer import CharRNNTrainer
from rnnbow_widget.widget import RNNbow

TEXT = "int main(void) { return 0; }\n/* a comment */ for (i = 0; i < n; i++) x += i;\n" * 20


def make_recording(count: int, seq_length: int = 6, vocab: str = "abcdefg") -> Recording:
    rng = np.random.default_rng(0)
    recording = Recording(seq_length, vocab, meta={"title": "unit", "hidden_size": 4})
    for i in range(count):
        n = seq_length
        recording.append(
            step=i,
            offset=i,
            inputs=rng.integers(0, len(vocab), n),
            targets=rng.integers(0, len(vocab), n),
            predictions=rng.integers(0, len(vocab), n),
            losses=rng.random(n),
            magnitudes=np.tril(rng.random((n, n))),
            grad_norm=1.0,
            clipped=False,
            smooth_loss=1.0,
        )
    return recording


def make_trainer(record_every: int = 1) -> CharRNNTrainer:
    return CharRNNTrainer(TEXT, hidden_size=8, seq_length=10, record_every=record_every)


class SentMessages:
    """Stands in for the comm: keeps every custom message the widget sends."""

    def __init__(self, widget: RNNbow) -> None:
        self.messages: list[tuple[dict, list[bytes]]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, buffers))

    def ranges(self) -> list[tuple[int, int]]:
        return [(content["start"], content["count"]) for content, _ in self.messages]

    def records_covered(self) -> list[int]:
        return [i for start, count in self.ranges() for i in range(start, start + count)]


@pytest.fixture
def frozen_clock(monkeypatch):
    """A controllable time.monotonic for the push throttle."""
    now = [1000.0]
    monkeypatch.setattr(widget_module.time, "monotonic", lambda: now[0])
    return now


# ------------------------------------------------------------------ construction


def test_widget_from_recording_publishes_meta_and_count():
    w = RNNbow(make_recording(7))
    assert w._record_count == 7
    assert w._meta["seq_length"] == 6
    assert w._meta["vocab"] == list("abcdefg")
    assert w._meta["title"] == "unit"
    assert (w.horizon, w.metric, w.selected_batch) == (5, "max", -1)
    assert w.trainer is None


def test_widget_from_trainer_shows_the_trainers_recording():
    trainer = make_trainer()
    w = RNNbow(trainer, horizon=3, metric="mean", log_scale=True, global_scale=True)
    assert w.recording is trainer.recording
    assert w.trainer is trainer
    assert (w.horizon, w.metric, w.log_scale, w.global_scale) == (3, "mean", True, True)
    assert w._meta["hidden_size"] == 8 and w._meta["record_every"] == 1


def test_widget_from_saved_file(tmp_path):
    path = tmp_path / "run.npz"
    make_recording(4).save(path)
    for w in (RNNbow(path), RNNbow(str(path)), RNNbow.from_file(path)):
        assert len(w.recording) == 4
        assert w._record_count == 4


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"no saved recording \(\.npz\) or run directory at .*nope\.npz"
    ):
        RNNbow(tmp_path / "nope.npz")


def test_unknown_keyword_is_rejected_with_the_accepted_list():
    with pytest.raises(TypeError, match=r"argument\(s\) horizn; accepted: horizon"):
        RNNbow(make_recording(1), horizn=3)


def test_wrong_source_type_names_what_is_accepted():
    with pytest.raises(
        TypeError,
        match=r"source must be a CharRNNTrainer, a pytorch Recorder, a Recording.*got int",
    ):
        RNNbow(42)


def test_unknown_metric_from_python_raises():
    w = RNNbow(make_recording(2))
    with pytest.raises(traitlets.TraitError, match="metric must be one of max, mean, horizon"):
        w.metric = "median"
    assert w.metric == "max"
    with pytest.raises(traitlets.TraitError, match="got 'median'"):
        RNNbow(make_recording(2), metric="median")


def test_height_must_be_a_non_negative_number_of_pixels():
    w = RNNbow(make_recording(2), height=480)
    assert w.height == 480
    with pytest.raises(traitlets.TraitError, match=r"height must be 0 .* got -5"):
        w.height = -5
    assert w.height == 480
    with pytest.raises(traitlets.TraitError, match=r"height.*480px"):
        RNNbow(make_recording(2), height="480px")


def test_wrong_type_from_python_raises_trait_error():
    w = RNNbow(make_recording(2))
    with pytest.raises(traitlets.TraitError):
        w.selected_batch = "3"
    with pytest.raises(traitlets.TraitError, match="selected_batch must be an int, got bool"):
        w.selected_batch = True
    assert w.selected_batch == -1


def test_missing_bundle_message_says_how_to_build(monkeypatch, tmp_path):
    monkeypatch.setattr(export, "STATIC", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"pip install \.`.*npm run build"):
        export.bundle("widget.js")


# ------------------------------------------------------------------ selection


def test_selected_batch_from_python_is_clamped_to_the_recording():
    w = RNNbow(make_recording(5))
    w.selected_batch = 99
    assert w.selected_batch == 4
    w.selected_batch = -7
    assert w.selected_batch == -1


def test_selected_record_follows_selected_batch():
    recording = make_recording(5)
    w = RNNbow(recording)
    assert w.selected_record is None
    w.selected_batch = 3
    assert w.selected_record.index == 3
    assert w.selected_record.inputs == recording[3].inputs


def test_browser_selection_out_of_range_is_clamped_not_raised():
    w = RNNbow(make_recording(5))
    w.set_state({"selected_batch": 10**6})
    assert w.selected_batch == 4
    w.set_state({"selected_batch": -3})
    assert w.selected_batch == -1
    w.set_state({"selected_batch": 2})
    assert w.selected_record.index == 2


def test_clamped_and_reverted_browser_writes_are_sent_back_to_the_browser():
    w = RNNbow(make_recording(5))
    updates = []
    w.comm.send = lambda data=None, buffers=None, **_: updates.append(data)
    w.set_state({"selected_batch": 10**6})
    w.set_state({"metric": "zzz"})
    sent = [m["state"] for m in updates if m["method"] == "update"]
    assert sent == [{"selected_batch": 4}, {"metric": "max"}]


def test_bad_browser_writes_of_the_layout_options_are_reverted(monkeypatch):
    w = RNNbow(make_recording(5), height=400)
    resent = []
    monkeypatch.setattr(w, "send_state", lambda key=None: resent.append(key))
    w.set_state({"height": -20})
    w.set_state({"show_others": "yes"})
    assert (w.height, w.show_others) == (400, True)
    assert resent == [["height"], ["show_others"]]
    w.set_state({"show_others": False, "height": 0})
    assert (w.height, w.show_others) == (0, False)


def test_browser_selection_of_wrong_type_is_ignored(monkeypatch):
    w = RNNbow(make_recording(5))
    w.selected_batch = 1
    resent = []
    monkeypatch.setattr(w, "send_state", lambda key=None: resent.append(key))
    w.set_state({"selected_batch": "two"})
    assert w.selected_batch == 1
    assert resent == [["selected_batch"]]
    w.set_state({"selected_batch": 3.0})
    assert w.selected_batch == 3


def test_browser_horizon_is_clamped_to_seq_length():
    w = RNNbow(make_recording(2, seq_length=6))
    w.set_state({"horizon": 50})
    assert w.horizon == 6
    w.set_state({"horizon": 0})
    assert w.horizon == 1
    w.horizon = 100
    assert w.horizon == 6


def test_unknown_metric_from_browser_is_reverted_and_sent_back(monkeypatch):
    w = RNNbow(make_recording(2), metric="mean")
    resent = []
    monkeypatch.setattr(w, "send_state", lambda key=None: resent.append(key))
    w.set_state({"metric": "bogus", "log_scale": True})
    assert w.metric == "mean"
    assert w.log_scale is True
    assert resent == [["metric"]]
    w.set_state({"metric": "reach"})
    assert w.metric == "reach"


def test_browser_writes_of_every_metric_are_accepted():
    w = RNNbow(make_recording(2))
    for metric in widget_module.METRICS:
        w.set_state({"metric": metric})
        assert w.metric == metric


# ------------------------------------------------------------------ record messages


def test_request_records_is_answered_with_the_whole_history(browser_sends):
    w = RNNbow(make_recording(9))
    sent = SentMessages(w)
    browser_sends(w, {"type": "request_records", "start": 0})
    assert sent.ranges() == [(0, 9)]
    content, buffers = sent.messages[0]
    decoded = payload.decode_block(content, buffers)
    np.testing.assert_array_equal(decoded["step"], np.arange(9))


def test_request_records_from_an_offset_sends_only_the_rest(browser_sends):
    w = RNNbow(make_recording(9))
    sent = SentMessages(w)
    browser_sends(w, {"type": "request_records", "start": 6})
    assert sent.ranges() == [(6, 3)]


def test_request_records_splits_into_bounded_blocks(monkeypatch, browser_sends):
    monkeypatch.setattr(payload, "MAX_BLOCK_RECORDS", 4)
    w = RNNbow(make_recording(10))
    sent = SentMessages(w)
    browser_sends(w, {"type": "request_records", "start": 0})
    assert sent.ranges() == [(0, 4), (4, 4), (8, 2)]


def test_request_records_with_a_keep_plan_thins_the_details(browser_sends):
    w = RNNbow(make_recording(40))
    sent = SentMessages(w)
    browser_sends(w, {"type": "request_records", "start": 0, "detail_from": 30, "detail_stride": 4})
    with_details = [
        i
        for content, _ in sent.messages
        if len(content["columns"]) > 12
        for i in range(
            content["start"],
            content["start"] + content["count"] * content.get("stride", 1),
            content.get("stride", 1),
        )
    ]
    assert sorted(with_details) == [0, 4, 8, 12, 16, 20, 24, 28, *range(30, 40)]
    assert sent.ranges()[:2] == [(30, 10), (0, 30)]  # the newest whole, then every summary
    assert w._record_count == 40


def test_request_for_one_records_details_sends_it_whole(browser_sends):
    w = RNNbow(make_recording(40))
    sent = SentMessages(w)
    browser_sends(w, {"type": "request_records", "start": 13, "stop": 14})
    browser_sends(w, {"type": "request_records", "start": 50, "stop": 51})  # beyond: nothing
    assert sent.ranges() == [(13, 1)]
    decoded = payload.decode_block(*sent.messages[0])
    assert decoded["targets"].shape == (1, 6)


def test_details_budget_is_checked():
    with pytest.raises(traitlets.TraitError, match="details_budget_mb must be a positive"):
        RNNbow(make_recording(2), details_budget_mb=0)
    w = RNNbow(make_recording(2), details_budget_mb=8)
    w.set_state({"details_budget_mb": "lots"})  # a browser's bad value is dropped
    assert w.details_budget_mb == 8


def test_blocks_hold_at_most_4096_records():
    assert payload.MAX_BLOCK_RECORDS == 4096


def test_malformed_requests_do_not_raise(browser_sends):
    w = RNNbow(make_recording(3))
    sent = SentMessages(w)
    browser_sends(w, {"type": "request_records", "start": 99})
    browser_sends(w, {"type": "request_records", "start": "x"})
    browser_sends(w, {"type": "something_else"})
    browser_sends(w, ["not", "a", "dict"])
    # start beyond the end: nothing to send; a non-int start: everything from 0.
    assert sent.ranges() == [(0, 3)]


def test_live_push_sends_each_new_record_once(frozen_clock):
    trainer = make_trainer(record_every=1)
    trainer.train(3, progress=False)
    w = RNNbow(trainer)
    sent = SentMessages(w)
    for _ in range(5):
        frozen_clock[0] += 1.0
        trainer.step()
    assert sent.records_covered() == [3, 4, 5, 6, 7]
    assert w._record_count == 8


def test_live_push_is_throttled_and_flushed_at_train_end(frozen_clock):
    trainer = make_trainer(record_every=1)
    w = RNNbow(trainer)
    sent = SentMessages(w)
    trainer.train(6, progress=False)  # the clock does not move: one push, then a flush
    assert sent.ranges() == [(0, 1), (1, 5)]
    assert w._record_count == 6


def test_live_push_waits_for_the_interval(frozen_clock):
    trainer = make_trainer(record_every=1)

    def tick(record):
        frozen_clock[0] += 0.125  # a record every 1/8 s; registered before the widget's

    trainer.on_record(tick)
    w = RNNbow(trainer)
    sent = SentMessages(w)
    trainer.train(12, progress=False)
    # Pushes at records 1, 5 and 9 (0.5 s apart; 0.375 s is too soon), then the end flush.
    assert sent.ranges() == [(0, 1), (1, 4), (5, 4), (9, 3)]
    assert sent.records_covered() == list(range(12))


def test_push_sends_nothing_when_no_new_records(frozen_clock):
    trainer = make_trainer(record_every=100)
    trainer.train(1, progress=False)
    w = RNNbow(trainer)
    sent = SentMessages(w)
    trainer.train(5, progress=False)  # no record (steps 1..5), end flush finds nothing new
    assert sent.messages == []


def test_close_unsubscribes_from_the_trainer(frozen_clock):
    trainer = make_trainer(record_every=1)
    w = RNNbow(trainer)
    sent = SentMessages(w)
    w.close()
    trainer.train(3, progress=False)
    assert sent.messages == []


def test_two_widgets_on_one_trainer_each_get_the_records(frozen_clock):
    trainer = make_trainer(record_every=1)
    first, second = RNNbow(trainer), RNNbow(trainer)
    sent_first, sent_second = SentMessages(first), SentMessages(second)
    trainer.train(3, progress=False)
    assert sent_first.records_covered() == sent_second.records_covered() == [0, 1, 2]
    first.close()
    second.close()


def test_display_shows_the_widget(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    w = RNNbow(make_recording(1))
    assert w.display() is None
    assert shown == [w]
