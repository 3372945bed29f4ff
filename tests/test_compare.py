"""RNNbow.compare: construction, names, linked selection from Python, errors, HTML export."""

from __future__ import annotations

import json
import re

import ipywidgets
import pytest

from rnnbow_widget import CharRNNTrainer, RNNbow
from rnnbow_widget.compare import Comparison
from rnnbow_widget.recording import Recording

TEXT = "int main(void) { return add(a, b) * 2; }\nstatic int add(int x) { return x; }\n" * 6


def _trainer(steps: int = 12, **kwargs) -> CharRNNTrainer:
    options = {"hidden_size": 8, "seq_length": 6, "record_every": 1, "seed": 0, **kwargs}
    trainer = CharRNNTrainer(TEXT, **options)
    trainer.train(steps, progress=False)
    return trainer


@pytest.fixture(scope="module")
def trainers() -> tuple[CharRNNTrainer, CharRNNTrainer]:
    return _trainer(name="vanilla"), _trainer(cell="lstm", name="LSTM")


def test_compare_builds_one_linked_widget_per_run(trainers):
    cmp = RNNbow.compare(*trainers, horizon=3)
    assert isinstance(cmp, Comparison) and isinstance(cmp, ipywidgets.GridBox)
    assert len(cmp.widgets) == 2 and all(isinstance(w, RNNbow) for w in cmp.widgets)
    assert cmp.widgets[0].trainer is trainers[0] and cmp.widgets[1].trainer is trainers[1]
    groups = {w._link_group for w in cmp.widgets}
    assert len(groups) == 1 and groups.pop() == cmp.link_group != ""
    assert [w.horizon for w in cmp.widgets] == [3, 3]
    assert all(w.linked_scale for w in cmp.widgets)
    assert "repeat(2," in cmp.layout.grid_template_columns
    cmp.close()


def test_each_comparison_gets_its_own_group(trainers):
    first, second = RNNbow.compare(*trainers), RNNbow.compare(*trainers)
    assert first.link_group != second.link_group
    first.close()
    second.close()


def test_default_names_are_the_titles_else_run_numbers(trainers):
    cmp = RNNbow.compare(*trainers)
    assert cmp.names == ("vanilla", "LSTM")
    assert [w._link_name for w in cmp.widgets] == ["vanilla", "LSTM"]
    cmp.close()
    untitled = [Recording(3, "ab"), Recording(3, "ab")]
    cmp = RNNbow.compare(*untitled)
    assert cmp.names == ("run 1", "run 2")
    cmp.close()


def test_repeated_default_titles_are_made_unique():
    a, b = _trainer(4, name="same"), _trainer(4, name="same")
    cmp = RNNbow.compare(a, b)
    assert cmp.names == ("same (run 1)", "same (run 2)")
    cmp.close()


def test_given_names_become_the_headings(trainers):
    cmp = RNNbow.compare(*trainers, names=["tanh RNN", "LSTM cell"])
    assert [w._link_name for w in cmp.widgets] == ["tanh RNN", "LSTM cell"]
    cmp.close()


def test_selected_batch_sets_every_run_each_clamped_to_its_own_length(trainers):
    short = _trainer(5)
    cmp = RNNbow.compare(trainers[0], short)
    cmp.selected_batch = 3
    assert [w.selected_batch for w in cmp.widgets] == [3, 3]
    cmp.selected_batch = 9
    assert [w.selected_batch for w in cmp.widgets] == [9, 4]
    assert cmp.selected_batch == 9
    with pytest.raises(TypeError, match="selected_batch must be an int"):
        cmp.selected_batch = "3"
    cmp.close()


def test_a_selection_in_one_run_is_relayed_to_the_others(trainers):
    cmp = RNNbow.compare(*trainers)
    # As a browser write to the first widget arrives in the kernel:
    cmp.widgets[0].set_state({"selected_batch": 7})
    assert [w.selected_batch for w in cmp.widgets] == [7, 7]
    cmp.widgets[1].selected_batch = 2
    assert cmp.selected_batch == 2
    cmp.close()


def test_linked_scale_sets_all_and_can_start_off(trainers):
    cmp = RNNbow.compare(*trainers, linked_scale=False)
    assert [w.linked_scale for w in cmp.widgets] == [False, False]
    cmp.linked_scale = True
    assert [w.linked_scale for w in cmp.widgets] == [True, True]
    cmp.widgets[1].set_state({"linked_scale": False})
    assert cmp.widgets[0].linked_scale is False
    with pytest.raises(TypeError, match="linked_scale must be a bool"):
        cmp.linked_scale = 1
    cmp.close()


def test_three_runs_from_recordings_and_paths(trainers, tmp_path):
    path = tmp_path / "run.npz"
    trainers[0].recording.save(path)
    cmp = RNNbow.compare(trainers[0], trainers[1].recording, path, columns=3)
    assert len(cmp.widgets) == 3 and cmp.widgets[2].trainer is None
    assert len(cmp.widgets[2].recording) == len(trainers[0].recording)
    assert "repeat(3," in cmp.layout.grid_template_columns
    cmp.close()


def test_fewer_than_two_sources_is_a_clear_error(trainers):
    with pytest.raises(ValueError, match=r"sources: compare\(\) needs at least two runs.*got 1"):
        Comparison([RNNbow(trainers[0])])
    with pytest.raises(TypeError, match="missing 1 required positional"):
        RNNbow.compare(trainers[0])  # type: ignore[call-arg]


def test_duplicate_or_wrong_names_are_clear_errors(trainers):
    with pytest.raises(ValueError, match="names must be different: 'a' appears more than once"):
        RNNbow.compare(*trainers, names=["a", "a"])
    with pytest.raises(ValueError, match="names: got 3 names for 2 runs"):
        RNNbow.compare(*trainers, names=["a", "b", "c"])
    with pytest.raises(TypeError, match="names must all be str"):
        RNNbow.compare(*trainers, names=["a", 2])
    with pytest.raises(TypeError, match="names must be a list or tuple of str"):
        RNNbow.compare(*trainers, names="ab")


def test_unknown_options_are_named(trainers):
    expected = "unexpected keyword argument(s) colour, size; accepted: names, linked_scale"
    with pytest.raises(TypeError, match=re.escape(expected)):
        RNNbow.compare(*trainers, colour="red", size=3)
    with pytest.raises(ValueError, match="columns must be a positive int"):
        RNNbow.compare(*trainers, columns=0)


def test_a_bad_source_is_reported_by_the_widget(trainers):
    with pytest.raises(TypeError, match="source must be a CharRNNTrainer"):
        RNNbow.compare(trainers[0], 42)


def test_save_html_writes_one_page_with_every_run_in_one_group(trainers, tmp_path):
    cmp = RNNbow.compare(*trainers, names=["vanilla", "LSTM"])
    cmp.selected_batch = 4
    path = cmp.save_html(tmp_path / "compare.html")
    text = path.read_text(encoding="utf-8")
    assert "<title>vanilla vs LSTM</title>" in text
    data = json.loads(re.search(r'id="rnnbow-data">(.*?)</script>', text, re.S).group(1))
    assert len(data["runs"]) == 2
    states = [run["state"] for run in data["runs"]]
    assert {s["_link_group"] for s in states} == {cmp.link_group}
    assert [s["_link_name"] for s in states] == ["vanilla", "LSTM"]
    assert [s["selected_batch"] for s in states] == [4, 4]
    assert all(s["linked_scale"] is True for s in states)
    assert sum(block["count"] for block in data["runs"][1]["blocks"]) == len(trainers[1].recording)
    cmp.close()


def test_save_html_rejects_bad_arguments(trainers, tmp_path):
    cmp = RNNbow.compare(*trainers)
    with pytest.raises(TypeError, match="title must be a str or None"):
        cmp.save_html(tmp_path / "x.html", title=3)
    with pytest.raises(FileNotFoundError, match="path: the directory"):
        cmp.save_html(tmp_path / "missing" / "x.html")
    cmp.close()
