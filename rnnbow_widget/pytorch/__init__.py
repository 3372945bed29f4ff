"""RNNbow for your own PyTorch model: exact itemized gradients of ``nn.RNN``, ``nn.LSTM`` and
``nn.GRU``, on the model's device and in its dtype.

Needs PyTorch (``pip install "rnnbow_widget[torch]"``); ``import rnnbow_widget`` never imports
it.

>>> import torch
>>> from torch import nn
>>> from rnnbow_widget.pytorch import itemized_magnitudes
>>> rnn, decoder = nn.RNN(8, 16), nn.Linear(16, 5)
>>> x, y = torch.randn(10, 4, 8), torch.randint(0, 5, (10, 4))   # (n, B, input_size), (n, B)
>>> itemized_magnitudes(rnn, decoder, x, y).shape
(10, 10)

``magnitudes[t, j]`` is the size of the part of ``dL/dW_hh`` that the batch loss at step t
sends through step j. The cells are PyTorch's (:mod:`rnnbow_widget.pytorch.cells`); for one
layer, ``nn.RNN`` and ``nn.LSTM`` give the numbers of ``rnnbow_widget.itemize`` for the same
weights. ``nn.GRU`` applies its reset gate after the recurrent matmul, ``cells.gru`` before it:
they are different cells.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as error:
    raise ModuleNotFoundError(
        'rnnbow_widget.pytorch needs PyTorch: pip install "rnnbow_widget[torch]"', name="torch"
    ) from error

from rnnbow_widget.pytorch.itemize import (
    WRT_CHOICES,
    full_gradients,
    itemized_magnitudes,
    magnitudes_and_units,
)
from rnnbow_widget.pytorch.recorder import Recorder

__all__ = [
    "WRT_CHOICES",
    "Recorder",
    "full_gradients",
    "itemized_magnitudes",
    "magnitudes_and_units",
]
