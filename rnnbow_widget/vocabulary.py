"""The vocabulary: the tokens a model reads and predicts, and their ids.

A token's id is its position in :attr:`Vocabulary.symbols`. A corpus is turned into ids in
one of three ways (:func:`prepare`): a string split into characters (the symbols are the
distinct characters, sorted by code point) or into words (``tokens="word"``: runs of letters,
digits and underscores, and single punctuation marks; whitespace only separates), a sequence
of tokens the user split, or ids with the vocabulary they index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["TOKENIZERS", "Vocabulary", "check_vocab", "prepare", "split"]

TOKENIZERS = ("char", "word")
"""How a string is split into tokens: one per character, or one per word or punctuation mark."""

_WORD = re.compile(r"\w+|[^\w\s]")


class Vocabulary:
    """Tokens and their ids.

    Examples
    --------
    >>> vocab, ids = Vocabulary.of_text("banana")
    >>> vocab.symbols, ids.tolist(), vocab.decode([2, 0])
    (('a', 'b', 'n'), [1, 0, 2, 0, 2, 0], 'na')
    >>> words, ids = Vocabulary.of_tokens(["the", "cat", "the", "end"])
    >>> words.symbols, ids.tolist(), words.decode([1, 0])
    (('cat', 'end', 'the'), [2, 0, 2, 1], 'end cat')
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = tuple(symbols)
        self._ids = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.is_characters = all(len(symbol) == 1 for symbol in self.symbols)
        """True when every token is one character: text is then the tokens joined as they
        are, and a string splits into its characters."""

    @classmethod
    def of_text(cls, text: str) -> tuple[Vocabulary, np.ndarray]:
        """The distinct characters of ``text``, sorted, and ``text`` as their ids."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        distinct, ids = np.unique(codes, return_inverse=True)
        return cls([chr(code) for code in distinct.tolist()]), ids.astype(np.intp, copy=False)

    @classmethod
    def of_tokens(cls, tokens: Sequence[str]) -> tuple[Vocabulary, np.ndarray]:
        """The distinct ``tokens``, sorted, and ``tokens`` as their ids."""
        vocabulary = cls(sorted(set(tokens)))
        return vocabulary, vocabulary.encode(tokens, "tokens")

    def __len__(self) -> int:
        return len(self.symbols)

    def split(self, text: str) -> list[str]:
        """``text`` as tokens of this vocabulary's kind: characters or words."""
        return list(text) if self.is_characters else split(text, "word")

    def encode_text(self, text: object, name: str) -> np.ndarray:
        """The ids of ``text``: a string split as :meth:`split` does, or a sequence of tokens;
        errors name ``name``."""
        if isinstance(text, str):
            return self.encode(self.split(text), name)
        if isinstance(text, Sequence) and all(isinstance(token, str) for token in text):
            return self.encode(text, name)
        raise TypeError(f"{name} must be a str or a sequence of str, got {type(text).__name__}")

    def encode(self, tokens: Iterable[str], name: str = "text") -> np.ndarray:
        """The ids of ``tokens``; a ``ValueError`` naming ``name`` lists any unknown ones."""
        tokens = list(tokens)
        unknown = sorted({t for t in tokens if t not in self._ids})
        if unknown and self.is_characters:
            raise ValueError(
                f"{name} holds symbols outside the vocabulary: {''.join(unknown)!r}; "
                f"{name} may only use the {len(self)} symbols of trainer.vocab"
            )
        if unknown:
            raise ValueError(
                f"{name} holds {len(unknown)} tokens outside the vocabulary, such as "
                f"{', '.join(map(repr, unknown[:5]))}; {name} may only use the {len(self)} "
                "tokens of trainer.vocab"
            )
        return np.array([self._ids[t] for t in tokens], dtype=np.intp)

    def decode(self, ids: Iterable[int]) -> str:
        """The tokens of ``ids`` as text: joined as they are for characters, with spaces
        between longer tokens."""
        return ("" if self.is_characters else " ").join(self.symbols[i] for i in ids)


def split(text: str, tokens: str) -> list[str]:
    """``text`` split into tokens: ``"char"`` one per character, ``"word"`` runs of letters,
    digits and underscores, and single punctuation marks (whitespace dropped).

    Examples
    --------
    >>> split("x = f(a, b);", "word")
    ['x', '=', 'f', '(', 'a', ',', 'b', ')', ';']
    """
    if tokens not in TOKENIZERS:
        raise ValueError(f"tokens must be one of {', '.join(TOKENIZERS)}, got {tokens!r}")
    return list(text) if tokens == "char" else _WORD.findall(text)


def prepare(corpus: Any, tokens: str = "char", vocab: Any = None) -> tuple[Vocabulary, np.ndarray]:
    """A training corpus as a vocabulary and the corpus's ids.

    Parameters
    ----------
    corpus : str, sequence of str, or array_like of int
        Text (split by ``tokens``), a sequence of tokens, or token ids (then ``vocab`` is
        required).
    tokens : {"char", "word"}, default "char"
        How a string corpus is split (:func:`split`).
    vocab : sequence of str, optional
        A fixed vocabulary: token ``i`` is ``vocab[i]``. Without it, the vocabulary is the
        corpus's distinct tokens, sorted.

    Raises
    ------
    TypeError, ValueError
        For a corpus of another type, an empty one, ids without ``vocab`` or out of its range,
        or tokens missing from ``vocab`` (each message names the argument).
    """
    if tokens not in TOKENIZERS:
        raise ValueError(f"tokens must be one of {', '.join(TOKENIZERS)}, got {tokens!r}")
    fixed = None if vocab is None else Vocabulary(check_vocab(vocab))
    if isinstance(corpus, np.ndarray) and corpus.dtype.kind in "iu":
        if fixed is None:
            raise TypeError("a corpus of token ids needs vocab=[...] (the token of each id)")
        vocabulary, ids = fixed, corpus.astype(np.intp).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(fixed)):
            bad = ids.min() if ids.min() < 0 else ids.max()
            raise ValueError(
                f"text holds id {bad}, outside the vocabulary of {len(fixed)} tokens "
                f"[0, {len(fixed) - 1}]"
            )
    elif isinstance(corpus, str) and fixed is None and tokens == "char":
        vocabulary, ids = Vocabulary.of_text(corpus)
    else:
        if isinstance(corpus, str):
            corpus = split(corpus, tokens)
        elif not isinstance(corpus, Sequence) or not all(isinstance(t, str) for t in corpus):
            raise TypeError(
                "text must be a str, a sequence of str tokens, or an int array of token ids "
                f"with vocab=; got {type(corpus).__name__}"
            )
        if fixed is None:
            vocabulary, ids = Vocabulary.of_tokens(corpus)
        else:
            vocabulary, ids = fixed, fixed.encode(corpus, "text")
    if len(ids) == 0:
        raise ValueError("text must not be empty: give the trainer a corpus to read")
    return vocabulary, ids


def check_vocab(vocab: Any) -> tuple[str, ...]:
    """``vocab`` as a tuple of distinct, non-empty str tokens (a str is a character
    vocabulary); a clear error otherwise."""
    if isinstance(vocab, str):
        vocab = tuple(vocab)  # a string is the natural spelling of a character vocabulary
    if not isinstance(vocab, Sequence):
        raise TypeError(f"vocab must be a sequence of str, got {type(vocab).__name__}")
    vocab = tuple(vocab)
    if not vocab:
        raise ValueError("vocab must hold at least one symbol, got an empty sequence")
    for i, symbol in enumerate(vocab):
        if not isinstance(symbol, str):
            raise TypeError(f"vocab[{i}] must be a str, got {type(symbol).__name__} {symbol!r}")
        if symbol == "":
            raise ValueError(
                f"vocab[{i}] is the empty string; every token needs a label (e.g. '<empty>')"
            )
    if len(set(vocab)) != len(vocab):
        seen: set[str] = set()
        duplicate = next(s for s in vocab if s in seen or seen.add(s))
        raise ValueError(f"vocab must not repeat symbols, got {duplicate!r} more than once")
    return vocab
