"""The vanilla recurrent cell under its first name.

``rnnbow_widget.model`` is :mod:`rnnbow_widget.cells.rnn`, the paper's cell: read that module
for the equations, the forward pass and BPTT. This name stays for the code that imported it.
"""

from rnnbow_widget.cells.base import PARAM_NAMES
from rnnbow_widget.cells.rnn import (
    ACTIVATIONS,
    Cache,
    backward,
    forward,
    init_params,
    initial_state,
    lag_steps,
    recurrent_blocks,
)

__all__ = [
    "ACTIVATIONS",
    "PARAM_NAMES",
    "Cache",
    "backward",
    "forward",
    "init_params",
    "initial_state",
    "lag_steps",
    "recurrent_blocks",
]
