"""Offline corpora: Python's own headers and stdlib, single files, and the long-range task."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np
import pytest

from rnnbow_widget import corpora


def fake_python_paths(monkeypatch, **paths: Path) -> None:
    """Make ``sysconfig.get_paths()`` report ``paths`` (e.g. include=tmp_path)."""
    real = sysconfig.get_paths()
    monkeypatch.setattr(
        sysconfig, "get_paths", lambda *a, **k: {**real, **{k: str(v) for k, v in paths.items()}}
    )


# ------------------------------------------------------------------ c_code
def test_c_code_reads_the_headers_of_the_running_python_in_sorted_order():
    include = Path(sysconfig.get_paths()["include"])
    headers = sorted(include.rglob("*.h"), key=lambda p: p.relative_to(include).as_posix())
    first = headers[0].read_text(encoding="utf-8")
    text = corpora.c_code(max_chars=len(first) + 50)
    assert text.startswith(first + "\n")
    assert "#define" in corpora.c_code(max_chars=20_000)


def test_c_code_without_limit_is_every_header_joined_by_newlines():
    include = Path(sysconfig.get_paths()["include"])
    headers = sorted(include.rglob("*.h"), key=lambda p: p.relative_to(include).as_posix())
    texts = []
    for path in headers:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            pass  # skipped by design
    assert len(corpora.c_code(max_chars=None)) == sum(map(len, texts)) + len(texts) - 1


def test_c_code_is_cut_to_max_chars_and_deterministic():
    assert len(corpora.c_code(max_chars=12_345)) == 12_345
    assert corpora.c_code(max_chars=3000) == corpora.c_code(max_chars=3000)


def test_c_code_walks_subfolders_and_skips_files_that_are_not_utf8(tmp_path, monkeypatch):
    (tmp_path / "a.h").write_text("int a;", encoding="utf-8")
    (tmp_path / "b.h").write_bytes(b'char *s = "\xff\xfe";')  # not UTF-8
    (tmp_path / "cpython").mkdir()
    (tmp_path / "cpython" / "c.h").write_text("int c;", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a header", encoding="utf-8")
    fake_python_paths(monkeypatch, include=tmp_path)
    assert corpora.c_code() == "int a;\nint c;"


def test_c_code_without_an_include_folder_names_it_and_the_alternatives(tmp_path, monkeypatch):
    fake_python_paths(monkeypatch, include=tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"no C header \(include\) folder.*from_file"):
        corpora.c_code()


def test_c_code_with_an_empty_include_folder_says_no_header_was_found(tmp_path, monkeypatch):
    fake_python_paths(monkeypatch, include=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no readable \.h file under .*python_code"):
        corpora.c_code()


@pytest.mark.parametrize(
    "max_chars, error, message",
    [
        (0, ValueError, r"max_chars must be >= 1 \(or None for everything\), got 0"),
        (-5, ValueError, "got -5"),
        ("100", TypeError, "max_chars must be an int or None, got str '100'"),
        (True, TypeError, "max_chars must be an int or None, got bool True"),
    ],
)
def test_bad_max_chars_is_rejected_by_every_reader(max_chars, error, message, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello", encoding="utf-8")
    for read in (corpora.c_code, corpora.python_code, lambda **k: corpora.from_file(path, **k)):
        with pytest.raises(error, match=message):
            read(max_chars=max_chars)


# ------------------------------------------------------------------ python_code
def test_python_code_reads_the_stdlib():
    text = corpora.python_code(max_chars=50_000)
    assert len(text) == 50_000
    assert "def " in text and "import " in text


def test_python_code_skips_site_packages_and_caches(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("A = 1", encoding="utf-8")
    for folder, name in [("site-packages", "b.py"), ("__pycache__", "c.py"), ("json", "d.py")]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(name.upper(), encoding="utf-8")
    fake_python_paths(monkeypatch, stdlib=tmp_path)
    assert corpora.python_code() == "A = 1\nD.PY"


def test_python_code_without_stdlib_sources_says_so(tmp_path, monkeypatch):
    fake_python_paths(monkeypatch, stdlib=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no readable \.py file under"):
        corpora.python_code()


# ------------------------------------------------------------------ from_file
def test_from_file_returns_the_text_cut_to_max_chars(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("naïve text\n", encoding="utf-8")
    assert corpora.from_file(path) == "naïve text\n"
    assert corpora.from_file(str(path), max_chars=3) == "naï"


def test_from_file_decodes_with_the_given_encoding(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("café".encode("latin-1"))
    assert corpora.from_file(path, encoding="latin-1") == "café"
    with pytest.raises(
        ValueError, match=r"latin\.txt' is not valid utf-8 text.*encoding='latin-1'"
    ):
        corpora.from_file(path)


def test_from_file_errors_name_the_path_and_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no corpus file at '.*gone\.txt'"):
        corpora.from_file(tmp_path / "gone.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt' is empty"):
        corpora.from_file(empty)
    with pytest.raises(ValueError, match="is a directory; pass the path of a text file"):
        corpora.from_file(tmp_path)
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        corpora.from_file(empty, encoding="klingon")


# ------------------------------------------------------------------ long_range
def test_long_range_has_the_requested_length_and_is_reproducible_per_seed():
    text = corpora.long_range(7, length=1001, seed=3)
    assert len(text) == 1001
    assert text == corpora.long_range(7, length=1001, seed=3)
    assert text != corpora.long_range(7, length=1001, seed=4)


def test_long_range_line_is_key_noise_marker_key():
    line = corpora.long_range(6, length=8, seed=0)  # exactly one episode
    key, noise, marker, answer, end = line[0], line[1:5], line[5], line[6], line[7]
    assert key in "ABCD"
    assert set(noise) <= set("abcdefgh") and len(noise) == 4
    assert (marker, answer, end) == ("?", key, "\n")


@pytest.mark.parametrize("distance", [2, 3, 25, 60])
def test_every_dependent_character_repeats_the_one_distance_steps_earlier(distance):
    text = corpora.long_range(distance, length=5000, seed=distance)
    positions = corpora.long_range_dependents(text, distance)
    assert len(positions) == 5000 // (distance + 2)  # one per complete episode
    for p in positions:
        assert text[p] == text[p - distance]
        assert text[p - 1] == "?"


@pytest.mark.parametrize("distance", [3, 10])
def test_nothing_between_key_and_answer_reveals_the_key(distance):
    text = corpora.long_range(distance, length=3000, seed=1)
    for p in corpora.long_range_dependents(text, distance):
        between = text[p - distance + 1 : p]
        assert not set(between) & set("ABCD"), between


def test_long_range_keys_are_roughly_uniform_so_guessing_gives_one_in_four():
    text = corpora.long_range(5, length=70_000, seed=0)
    answers = [text[p] for p in corpora.long_range_dependents(text, 5)]
    shares = [answers.count(k) / len(answers) for k in "ABCD"]
    assert min(shares) > 0.22 and max(shares) < 0.28


def test_long_range_with_the_smallest_length_holds_one_answer():
    text = corpora.long_range(4, length=5, seed=0)
    np.testing.assert_array_equal(corpora.long_range_dependents(text, 4), [4])


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((1,), ValueError, r"distance must be >= 2 \(key, \.\.\., marker, answer\), got 1"),
        ((2.5,), TypeError, "distance must be an int, got float 2.5"),
        ((10, 10), ValueError, r"length must be >= distance \+ 1 = 11 to hold one answer, got 10"),
        ((10, "big"), TypeError, "length must be an int, got str 'big'"),
    ],
)
def test_long_range_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        corpora.long_range(*args)


def test_dependents_of_a_hand_written_text():
    #       0123456789012
    text = "Bba?B\nDhh?D\nA"
    np.testing.assert_array_equal(corpora.long_range_dependents(text, 4), [4, 10])


def test_dependents_work_on_a_slice_that_starts_mid_episode():
    text = corpora.long_range(5, length=300, seed=2)
    whole = corpora.long_range_dependents(text, 5)
    part = corpora.long_range_dependents(text[3:], 5)
    np.testing.assert_array_equal(part, whole[whole - 3 >= 5] - 3)


def test_dependents_skip_a_marker_at_the_very_end():
    assert list(corpora.long_range_dependents("Cab?C\nAab?", 4)) == [4]


def test_dependents_with_the_wrong_distance_say_which_distance_to_pass():
    text = corpora.long_range(6, length=100, seed=0)
    with pytest.raises(
        ValueError, match=r"not made by long_range\(distance=5\).*pass the distance"
    ):
        corpora.long_range_dependents(text, 5)


def test_dependents_reject_text_that_is_not_a_string():
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        corpora.long_range_dependents(b"A?A", 2)
