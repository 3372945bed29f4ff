"""Run directories: written as they grow, read and followed by others, and their faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnbow_widget import CharRNNTrainer, RNNbow, payload
from rnnbow_widget.cli import main as cli_main
from rnnbow_widget.rundir import RunInUseError, RunReader, RunWriter

REPO = Path(__file__).resolve().parents[1]
VOCAB = ["<eos>", "the", "cat", "sat"]
N = 4


def fields(step: int) -> dict:
    rng = np.random.default_rng(step)
    return dict(
        step=step,
        inputs=rng.integers(0, 4, N),
        targets=rng.integers(0, 4, N),
        predictions=rng.integers(0, 4, N),
        losses=rng.random(N),
        magnitudes=np.tril(rng.random((N, N))),
    )


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_reader_sees_whole_shards_in_order_and_the_finish(tmp_path):
    run = tmp_path / "run"
    writer = RunWriter(run, seq_length=N, vocab=VOCAB, meta={"title": "t"}, flush_seconds=3600)
    for step in range(3):
        writer.append(**fields(step))
    reader = RunReader(run)
    assert reader.poll() == 0  # nothing flushed yet
    writer.flush()
    writer.append(**fields(3))
    writer.flush()
    assert reader.poll() == 4 and not reader.finished
    assert [r.step for r in reader.recording] == [0, 1, 2, 3]
    np.testing.assert_allclose(reader.recording[2].magnitudes, fields(2)["magnitudes"], rtol=1e-6)
    assert reader.recording.meta == {"title": "t"} and reader.recording.vocab == tuple(VOCAB)
    writer.close()
    assert reader.finished and reader.poll() == 0 and reader.problems == []


def test_flush_seconds_zero_writes_every_record_at_once(tmp_path):
    with RunWriter(tmp_path / "r", seq_length=N, vocab=VOCAB, flush_seconds=0) as writer:
        writer.append(**fields(0))
        assert RunReader(tmp_path / "r").poll() == 1


WRITER_SCRIPT = """
import sys, time, numpy as np
from rnnbow_widget.rundir import RunWriter
writer = RunWriter(sys.argv[1], seq_length=4, vocab=["<eos>", "the", "cat", "sat"],
                   flush_seconds=3600)
def record(step):
    return dict(step=step, inputs=[1, 2, 3, 0], targets=[2, 3, 0, 1], predictions=[2, 2, 0, 1],
                losses=[1.0, 1.0, 1.0, 1.0], magnitudes=np.tril(np.ones((4, 4))))
for step in range(10):
    writer.append(**record(step))
writer.flush()
for step in range(10, 15):
    writer.append(**record(step))   # in memory when the process is killed
print("ready", flush=True)
time.sleep(60)
"""


def start_writer(run: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(run)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def test_a_killed_writer_loses_only_its_unwritten_shard_and_a_later_writer_continues(tmp_path):
    run = tmp_path / "run"
    process = start_writer(run)
    try:
        with pytest.raises(RunInUseError, match=rf"written by process {process.pid}"):
            RunWriter(run)  # a second writer while the first lives
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # a shard the killed process was in the middle of writing: a temporary file, never read
    (run / ".shard-00000001.npz.x1y2.tmp").write_bytes(b"PK\x03\x04 half a shard")
    reader = RunReader(run)
    assert reader.poll() == 10 and not reader.finished and reader.problems == []
    with RunWriter(run) as later:  # the dead writer's lock does not block it
        later.append(**fields(10))
    assert reader.poll() == 1 and reader.finished
    assert [r.step for r in reader.recording] == list(range(11))


def test_a_corrupt_or_foreign_shard_is_reported_and_skipped(tmp_path):
    run = tmp_path / "run"
    with RunWriter(run, seq_length=N, vocab=VOCAB, flush_seconds=3600) as writer:
        for step in range(3):
            writer.append(**fields(step))
            writer.flush()
    (run / "shard-00000001.npz").write_bytes(b"not a zip at all")
    np.savez(run / "shard-00000003.npz", x=np.zeros(3))  # someone else's npz
    reader = RunReader(run)
    assert reader.poll() == 2
    assert [r.step for r in reader.recording] == [0, 2]
    assert len(reader.problems) == 2
    assert reader.problems[0].startswith("shard-00000001.npz skipped:")
    assert "not an .npz archive" in reader.problems[0]
    assert reader.problems[1].startswith("shard-00000003.npz skipped:")
    w = RNNbow(run)
    assert w.view_state()["_meta"].get("problems") is None  # a finished run is not followed
    assert len(w.recording) == 2


def test_a_second_writer_in_the_same_process_gets_a_clear_error(tmp_path):
    first = RunWriter(tmp_path / "run", seq_length=N, vocab=VOCAB)
    with pytest.raises(RunInUseError, match="another RunWriter of this process"):
        RunWriter(tmp_path / "run")
    first.close()
    RunWriter(tmp_path / "run").close()  # free again


def test_runs_that_do_not_exist_or_do_not_match_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no saved recording \(\.npz\) or run directory"):
        RNNbow(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no run directory at"):
        RunReader(tmp_path / "nowhere")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    with pytest.raises(FileNotFoundError, match=r"holds no run\.json: not a run directory"):
        RunReader(tmp_path / "notes")
    with pytest.raises(ValueError, match="is not empty and holds no run"):
        RunWriter(tmp_path / "notes", seq_length=N, vocab=VOCAB)
    RunWriter(tmp_path / "run", seq_length=N, vocab=VOCAB).close()
    with pytest.raises(ValueError, match="holds chunks of 4 steps over 4 tokens; this writer"):
        RunWriter(tmp_path / "run", seq_length=5, vocab=VOCAB)
    with pytest.raises(TypeError, match="a new run needs seq_length= and vocab="):
        RunWriter(tmp_path / "fresh")


def small_trainer(run_dir: Path, **options) -> CharRNNTrainer:
    """A tiny character model writing to ``run_dir`` (H = 8, n = 6)."""
    text = "int main(void) { return 0; }\n" * 40
    return CharRNNTrainer(text, hidden_size=8, seq_length=6, run_dir=run_dir, **options)


def test_a_trainer_writes_its_records_to_its_run_dir(tmp_path):
    trainer = small_trainer(tmp_path / "run", record_every=5)
    trainer.train(40, progress=False)  # the end of train() writes what is pending
    reader = RunReader(tmp_path / "run")
    assert reader.poll() == len(trainer.recording) == 8
    for mine, theirs in zip(trainer.recording, reader.recording, strict=True):
        assert (mine.step, mine.inputs, mine.offset) == (theirs.step, theirs.inputs, theirs.offset)
        np.testing.assert_array_equal(mine.magnitudes, theirs.magnitudes)
    assert reader.recording.meta["hidden_size"] == 8 and not reader.finished
    trainer.run.close()
    assert reader.finished


def test_a_trainers_per_unit_data_reach_the_reader_for_the_drilldown(tmp_path):
    # room for 12 records' units
    trainer = small_trainer(
        tmp_path / "run", record_every=1, units_budget_mb=12 * 21 * 8 * 2 / 2**20
    )
    trainer.run.flush_seconds = 0  # a shard per record: the units of each are still held
    trainer.train(40, progress=False)
    trainer.run.close()
    reader = RunReader(tmp_path / "run")
    reader.poll()
    assert reader.problems == []
    mine, theirs = trainer.recording.units, reader.recording.units
    assert theirs is not None and theirs.hidden_size == 8
    # thinned within the writer's budget, evenly, the newest kept
    assert len(theirs) <= 13 and 39 in theirs.indices
    common = set(mine.indices) & set(theirs.indices)
    assert len(common) >= 5
    for index in common:
        np.testing.assert_array_equal(theirs.get(index), mine.get(index))
    # the widget answers the drilldown from the run directory
    content, buffers = payload.units_message(RNNbow(tmp_path / "run").recording, 39)
    assert content["available"] is True and len(buffers) == 1


def test_the_widget_follows_a_run_until_it_is_finished(tmp_path):
    run = tmp_path / "run"
    writer = RunWriter(run, seq_length=N, vocab=VOCAB, flush_seconds=0)
    writer.append(**fields(0))
    w = RNNbow(run)
    assert len(w.recording) == 1 and w.following
    writer.append(**fields(1))
    writer.append(**fields(2))
    assert wait_for(lambda: w.view_state()["_record_count"] == 3)
    (run / "shard-00000009.npz").write_bytes(b"garbage")
    assert wait_for(lambda: "problems" in w.view_state()["_meta"])
    assert w.view_state()["_meta"]["problems"][0].startswith("shard-00000009.npz skipped")
    writer.close()
    assert wait_for(lambda: not w.following)
    stopped = RNNbow(run)  # finished: shown, not followed
    assert not stopped.following and len(stopped.recording) == 3


def test_stop_following_keeps_what_arrived(tmp_path):
    run = tmp_path / "run"
    writer = RunWriter(run, seq_length=N, vocab=VOCAB, flush_seconds=0)
    writer.append(**fields(0))
    w = RNNbow(run)
    w.stop_following()
    assert not w.following
    writer.append(**fields(1))
    time.sleep(1.2)
    assert len(w.recording) == 1
    writer.close()


def test_export_and_compare_take_run_directories(tmp_path, capsys):
    for name in ("a", "b"):
        with RunWriter(tmp_path / name, seq_length=N, vocab=VOCAB) as writer:
            for step in range(3):
                writer.append(**fields(step))
    assert cli_main(["export", str(tmp_path / "a"), str(tmp_path / "a.html")]) == 0
    assert "3 records" in capsys.readouterr().out
    assert (tmp_path / "a.html").stat().st_size > 10_000
    comparison = RNNbow.compare(tmp_path / "a", tmp_path / "b")
    assert [len(w.recording) for w in comparison.widgets] == [3, 3]


def test_the_run_directory_example_in_the_module_runs():
    import doctest

    from rnnbow_widget import rundir

    assert doctest.testmod(rundir).failed == 0


def test_nothing_is_written_for_an_empty_flush(tmp_path):
    with RunWriter(tmp_path / "run", seq_length=N, vocab=VOCAB) as writer:
        writer.flush()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["finished", "run.json"]


def test_run_files_get_the_mode_a_plain_open_would(tmp_path):
    previous = os.umask(0o022)
    try:
        with RunWriter(tmp_path / "run", seq_length=N, vocab=VOCAB) as writer:
            writer.append(**fields(0))
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
    assert modes == {"run.json": 0o644, "shard-00000000.npz": 0o644, "finished": 0o644}


def test_a_followed_directory_that_disappears_is_reported_and_no_longer_followed(tmp_path):
    import shutil

    run = tmp_path / "run"
    writer = RunWriter(run, seq_length=N, vocab=VOCAB, flush_seconds=0)
    writer.append(**fields(0))
    w = RNNbow(run)
    assert w.following
    writer.close(finished=False)
    shutil.rmtree(run)
    assert wait_for(lambda: not w.following)
    assert "the run directory cannot be read" in w.view_state()["_meta"]["problems"][0]
    assert len(w.recording) == 1  # what arrived stays
