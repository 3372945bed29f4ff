"""Write docs/api.md from the numpy-style docstrings of the public API.

Run ``python scripts/gen_api.py`` after changing a public docstring; ``tests/test_docs.py``
fails when docs/api.md is out of date or a public name has no docstring.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api.md"

# (module, names) in reading order; None = every public function of the module (its __all__
# when it has one).
SECTIONS: list[tuple[str, str, list[str] | None]] = [
    ("Training", "rnnbow_widget.trainer", ["CharRNNTrainer", "TrainingDivergedError"]),
    ("The widget", "rnnbow_widget.widget", ["RNNbow"]),
    ("Comparing runs", "rnnbow_widget.compare", None),
    ("Recordings", "rnnbow_widget.recording", ["Recording", "Record"]),
    ("Run directories", "rnnbow_widget.rundir", ["RunWriter", "RunReader", "RunInUseError"]),
    ("Vocabularies", "rnnbow_widget.vocabulary", ["Vocabulary", "split", "prepare"]),
    ("Corpora", "rnnbow_widget.corpora", None),
    (
        "Itemized gradients",
        "rnnbow_widget.itemize",
        ["itemized_gradients", "itemize_cache", "magnitudes_from_cache", "ItemizedGradients"],
    ),
    (
        "Your own PyTorch model",
        "rnnbow_widget.pytorch",
        ["itemized_magnitudes", "magnitudes_and_units", "full_gradients", "Recorder"],
    ),
    ("Per-record metrics", "rnnbow_widget.metrics", None),
    ("Cells", "rnnbow_widget.cells", ["get_cell", "check_params"]),
    (
        "The vanilla cell",
        "rnnbow_widget.cells.rnn",
        ["init_params", "forward", "backward", "Cache"],
    ),
    ("The LSTM cell", "rnnbow_widget.cells.lstm", ["init_params", "forward", "backward", "Cache"]),
    ("The GRU cell", "rnnbow_widget.cells.gru", ["init_params", "forward", "backward", "Cache"]),
    ("Optimizers", "rnnbow_widget.optim", None),
    ("HTML export", "rnnbow_widget.export", ["write_page"]),
]


def public_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and getattr(value, "__module__", None) == module.__name__
        ]
    return list(names)


def signature(obj: object, name: str) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def property_doc(cls: type, name: str) -> str:
    """The docstring of property ``name``, inherited from a base class when it overrides one."""
    for base in cls.__mro__:
        member = vars(base).get(name)
        if isinstance(member, property) and inspect.getdoc(member):
            return inspect.getdoc(member) or ""
    return ""


def members(cls: type) -> list[tuple[str, object]]:
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            out.append((name, value))
    return out


def render() -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python scripts/gen_api.py`; do not edit by hand.",
        "",
    ]
    for title, module_name, names in SECTIONS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        lines += [f"## {title} (`{module_name}`)", ""]
        for name in names or public_names(module):
            obj = getattr(module, name)
            lines += [f"### `{signature(obj, name)}`", "", inspect.getdoc(obj) or "", ""]
            if inspect.isclass(obj):
                for member_name, member in members(obj):
                    if member_name == "__init__":
                        continue
                    if isinstance(member, property):
                        heading = f"{name}.{member_name}  (property)"
                        doc = property_doc(obj, member_name)
                    else:
                        heading = signature(member, f"{name}.{member_name}")
                        # getattr on the class lets an override inherit its base's docstring
                        doc = inspect.getdoc(getattr(obj, member_name)) or ""
                    lines += [f"#### `{heading}`", "", doc, ""]
    return "\n".join(lines).rstrip() + "\n"


def undocumented() -> list[str]:
    missing = []
    for _, module_name, names in SECTIONS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for name in names or public_names(module):
            obj = getattr(module, name)
            if not inspect.getdoc(obj):
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for member_name, member in members(obj):
                    if isinstance(member, property):
                        documented = bool(property_doc(obj, member_name))
                    else:
                        documented = bool(inspect.getdoc(getattr(obj, member_name)))
                    if member_name != "__init__" and not documented:
                        missing.append(f"{module_name}.{name}.{member_name}")
    return missing


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
