"""Training on tokens other than characters: words, token lists, and ids with a vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbow_widget import CharRNNTrainer, RNNbow, corpora
from rnnbow_widget.recording import Recording
from rnnbow_widget.vocabulary import split

TEXT = "the cat sat on the mat . the dog sat on the log . " * 20


def test_word_tokens_split_words_and_punctuation():
    assert split("x = f(a_1, b);\n  done", "word") == [
        "x", "=", "f", "(", "a_1", ",", "b", ")", ";", "done",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="tokens must be one of char, word, got 'words'"):
        CharRNNTrainer(TEXT, tokens="words")


def test_a_word_trainer_records_words():
    trainer = CharRNNTrainer(TEXT, tokens="word", hidden_size=8, seq_length=6, record_every=5)
    assert trainer.vocab == (".", "cat", "dog", "log", "mat", "on", "sat", "the")
    record = trainer.step()
    assert record.input_tokens == ["the", "cat", "sat", "on", "the", "mat"]
    assert record.target_tokens == ["cat", "sat", "on", "the", "mat", "."]
    assert record.inputs == "the cat sat on the mat"
    assert trainer.recording.vocab == trainer.vocab
    assert trainer.recording.meta["corpus_length"] == len(split(TEXT, "word"))
    trainer.train(200, progress=False)
    sample = trainer.sample(12, prime="the dog")
    assert len(sample.split(" ")) == 12 and set(sample.split(" ")) <= set(trainer.vocab)
    assert trainer.predict(["the", "cat", "sat"]) == trainer.predict("the cat sat")
    assert len(trainer.predict("the cat sat on").split(" ")) == 3
    with pytest.raises(
        ValueError, match=r"text holds 1 tokens outside the vocabulary, such as 'owl'"
    ):
        trainer.predict("the owl sat")


def test_token_lists_and_ids_with_a_vocabulary_train_the_same_model():
    words = split(TEXT, "word")
    by_text = CharRNNTrainer(TEXT, tokens="word", hidden_size=8, seq_length=6)
    by_list = CharRNNTrainer(words, hidden_size=8, seq_length=6)
    vocab = list(by_text.vocab)
    ids = np.array([vocab.index(w) for w in words])
    by_ids = CharRNNTrainer(ids, vocab=vocab, hidden_size=8, seq_length=6)
    for trainer in (by_text, by_list, by_ids):
        trainer.train(30, progress=False)
    np.testing.assert_array_equal(by_text.loss_history, by_list.loss_history)
    np.testing.assert_array_equal(by_text.loss_history, by_ids.loss_history)
    np.testing.assert_array_equal(by_text.params["W_hh"], by_ids.params["W_hh"])


def test_a_fixed_vocabulary_keeps_its_order_and_may_hold_unused_tokens():
    vocab = ["<pad>", "the", "cat", "sat", "on", "mat", "dog", "log", ".", "<eos>"]
    trainer = CharRNNTrainer(TEXT, tokens="word", vocab=vocab, hidden_size=8, seq_length=6)
    assert trainer.vocab == tuple(vocab)
    assert trainer.step().input_ids.tolist() == [1, 2, 3, 4, 1, 5]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"text": np.array([0, 1, 2] * 20)}, TypeError, r"token ids needs vocab=\[\.\.\.\]"),
        ({"text": np.array([0, 5] * 20), "vocab": ["a", "b"]}, ValueError, r"id 5, outside"),
        ({"text": ["a", "b", 3] * 20}, TypeError, r"text must be a str, a sequence of str"),
        ({"text": TEXT, "vocab": ["the", ""]}, ValueError, r"vocab\[1\] is the empty string"),
        ({"text": TEXT, "tokens": "word", "vocab": ["the"]}, ValueError, r"outside the vocab"),
        ({"text": []}, ValueError, r"text must not be empty"),
        ({"text": ["cat", "dog"], "seq_length": 4}, ValueError, r"at least .* = 5 tokens .*got 2"),
    ],
)
def test_bad_token_corpora_get_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        CharRNNTrainer(**{"hidden_size": 4, "seq_length": 3, **kwargs})


def test_character_trainers_are_unchanged():
    trainer = CharRNNTrainer("hello world " * 10, hidden_size=4, seq_length=5)
    assert trainer.vocab == " dehlorw" and isinstance(trainer.vocab, str)
    assert trainer.step().inputs == "hello"


def test_the_python_docs_corpus_is_english_prose_for_a_word_model():
    text = corpora.python_docs(max_chars=20_000)
    words = split(text, "word")
    assert len(text) == 20_000 and len(words) > 2_000
    assert {"the", "statement", "is"} <= set(words)
    trainer = CharRNNTrainer(text, tokens="word", hidden_size=16, seq_length=20)
    assert len(trainer.vocab) == len(set(words))


def test_a_word_recording_saves_loads_and_shows(tmp_path):
    trainer = CharRNNTrainer(TEXT, tokens="word", hidden_size=8, seq_length=6, record_every=1)
    trainer.train(3, progress=False)
    trainer.recording.save(tmp_path / "words.npz")
    back = Recording.load(tmp_path / "words.npz")
    assert back.vocab == trainer.vocab and back[2].input_tokens == trainer.recording[2].input_tokens
    w = RNNbow(tmp_path / "words.npz")
    assert w.view_state()["_meta"]["vocab"] == list(trainer.vocab)  # what the browser gets
