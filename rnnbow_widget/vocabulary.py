"""The vocabulary: the symbols a model reads and predicts, and their ids.

A symbol's id is its position in :attr:`Vocabulary.symbols`. For a character model the
symbols are the distinct characters of the text, sorted by code point.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["Vocabulary"]


class Vocabulary:
    """Symbols and their ids.

    Examples
    --------
    >>> vocab, ids = Vocabulary.of_text("banana")
    >>> vocab.symbols, ids.tolist(), vocab.decode([2, 0])
    (('a', 'b', 'n'), [1, 0, 2, 0, 2, 0], 'na')
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = tuple(symbols)
        self._ids = {symbol: i for i, symbol in enumerate(self.symbols)}

    @classmethod
    def of_text(cls, text: str) -> tuple[Vocabulary, np.ndarray]:
        """The distinct characters of ``text``, sorted, and ``text`` as their ids."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        distinct, ids = np.unique(codes, return_inverse=True)
        return cls([chr(code) for code in distinct.tolist()]), ids.astype(np.intp, copy=False)

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, symbols: Iterable[str], name: str = "text") -> np.ndarray:
        """The ids of ``symbols``; a ``ValueError`` naming ``name`` lists any unknown ones."""
        symbols = list(symbols)
        unknown = sorted({s for s in symbols if s not in self._ids})
        if unknown:
            raise ValueError(
                f"{name} holds symbols outside the vocabulary: {''.join(unknown)!r}; "
                f"{name} may only use the {len(self)} symbols of trainer.vocab"
            )
        return np.array([self._ids[s] for s in symbols], dtype=np.intp)

    def decode(self, ids: Iterable[int]) -> str:
        """The symbols of ``ids``, joined."""
        return "".join(self.symbols[i] for i in ids)
