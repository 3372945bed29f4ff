"""The ``rnnbow`` command: demo and export, and one-line errors with exit status 2."""

from __future__ import annotations

import numpy as np

from rnnbow_widget import cli, corpora
from rnnbow_widget.recording import Recording

SMALL_C = 'int main(void) {\n  for (int i = 0; i < 10; i++) printf("%d\\n", i);\n}\n' * 40


def make_recording(count: int = 3) -> Recording:
    rng = np.random.default_rng(0)
    recording = Recording(4, "abcd", meta={"title": "saved run"})
    for i in range(count):
        recording.append(
            step=i,
            offset=i,
            inputs=rng.integers(0, 4, 4),
            targets=rng.integers(0, 4, 4),
            predictions=rng.integers(0, 4, 4),
            losses=rng.random(4),
            magnitudes=np.tril(rng.random((4, 4))),
            grad_norm=1.0,
            clipped=False,
            smooth_loss=1.0,
        )
    return recording


def test_export_writes_html_and_says_how_to_open_it(tmp_path, capsys):
    source, out = tmp_path / "run.npz", tmp_path / "run.html"
    make_recording(3).save(source)
    assert cli.main(["export", str(source), str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "RNNbowStandalone.mount" in page
    assert "<title>saved run</title>" in page
    printed = capsys.readouterr().out
    assert "3 records" in printed and out.resolve().as_uri() in printed


def test_export_title_option_sets_the_page_title(tmp_path):
    source, out = tmp_path / "run.npz", tmp_path / "run.html"
    make_recording(1).save(source)
    assert cli.main(["export", str(source), str(out), "--title", "Lesson 3"]) == 0
    assert "<title>Lesson 3</title>" in out.read_text(encoding="utf-8")


def test_export_of_a_missing_file_is_one_line_and_status_2(tmp_path, capsys):
    status = cli.main(["export", str(tmp_path / "missing.npz"), str(tmp_path / "o.html")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1
    assert error.startswith("rnnbow: error: recording ") and "missing.npz' does not exist" in error
    assert "Traceback" not in error
    assert not (tmp_path / "o.html").exists()


def test_export_of_a_file_that_is_not_a_recording_is_one_line(tmp_path, capsys):
    bogus = tmp_path / "notes.npz"
    bogus.write_text("just some text", encoding="utf-8")
    status = cli.main(["export", str(bogus), str(tmp_path / "o.html")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1
    assert "cannot load recording" in error and "not an .npz archive" in error


def test_export_of_a_directory_that_is_no_run_is_refused(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path), str(tmp_path / "o.html")]) == 2
    assert "is neither a file nor a run directory" in capsys.readouterr().err


def test_export_into_a_missing_directory_is_refused(tmp_path, capsys):
    source = tmp_path / "run.npz"
    make_recording(1).save(source)
    assert cli.main(["export", str(source), str(tmp_path / "no" / "o.html")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "output directory" in error and "does not exist" in error


def test_missing_command_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "usage: rnnbow" in capsys.readouterr().err


def test_non_positive_steps_are_a_usage_error(capsys):
    assert cli.main(["demo", "--steps", "0"]) == 2
    assert "expected a positive integer, got 0" in capsys.readouterr().err


def test_help_exits_zero(capsys):
    assert cli.main(["demo", "--help"]) == 0
    assert "--record-every" in capsys.readouterr().out


def test_demo_trains_prints_samples_and_writes_the_page(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(corpora, "c_code", lambda *args, **kwargs: SMALL_C)
    out = tmp_path / "demo.html"
    argv = ["demo", "--steps", "60", "--hidden-size", "8", "--seq-length", "10"]
    argv += ["--record-every", "20", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "H=8, n=10" in printed
    assert printed.count("--- sample") == 3
    assert "3 records" in printed and out.resolve().as_uri() in printed
    assert "C code, vanilla RNN, H=8, n=10" in out.read_text(encoding="utf-8")


def test_demo_defaults_are_the_papers_setup(capsys):
    assert cli.main(["demo", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for option, default in [
        ("--hidden-size H hidden units", "100"),
        ("--seq-length n characters per chunk", "25"),
        ("--record-every R record one chunk in R", "100"),
        ("--steps N training chunks", "20000"),
        ("--out PATH HTML file to write", "rnnbow-demo.html"),
    ]:
        assert f"{option} (default {default})" in help_text


def test_demo_refuses_an_output_directory_before_training(tmp_path, capsys, monkeypatch):
    def no_corpus(*args, **kwargs):
        raise AssertionError("the corpus must not be read when the output is invalid")

    monkeypatch.setattr(corpora, "c_code", no_corpus)
    assert cli.main(["demo", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
