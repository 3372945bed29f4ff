"""rnnbow_widget: see how a recurrent network learns, one itemized gradient at a time.

>>> from rnnbow_widget import CharRNNTrainer, RNNbow, corpora
>>> trainer = CharRNNTrainer(corpora.c_code(), hidden_size=100, seq_length=25)  # doctest: +SKIP
>>> RNNbow(trainer).display()                                                   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "CharRNNTrainer": ("rnnbow_widget.trainer", "CharRNNTrainer"),
    "Recording": ("rnnbow_widget.recording", "Recording"),
    "Record": ("rnnbow_widget.recording", "Record"),
    "RNNbow": ("rnnbow_widget.widget", "RNNbow"),
    "RunWriter": ("rnnbow_widget.rundir", "RunWriter"),
    "corpora": ("rnnbow_widget.corpora", None),
    "itemize": ("rnnbow_widget.itemize", None),
}

__all__ = ["CharRNNTrainer", "RNNbow", "Record", "Recording", "RunWriter", "corpora", "itemize"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import rnnbow_widget.itemize` does not pull in anywidget.
    if name not in _LAZY:
        raise AttributeError(f"module 'rnnbow_widget' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attr is None else getattr(module, attr)
