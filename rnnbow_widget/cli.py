"""The ``rnnbow`` command: train the paper's demo, or export a saved recording to HTML.

::

    rnnbow demo                       # H=100, n=25, a record every 100 chunks, on C code
    rnnbow demo --steps 5000 --out quick.html
    rnnbow export run.npz run.html    # a recording saved with Recording.save
    rnnbow export runs/exp1 run.html  # a run directory (RunWriter, trainer run_dir=)

Errors about files (missing, unreadable, not a recording) print one line and exit with
status 2, like a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rnnbow_widget.recording import Recording

DEMO_STEPS = 20_000
DEMO_HIDDEN_SIZE = 100
DEMO_SEQ_LENGTH = 25
DEMO_RECORD_EVERY = 100
DEMO_OUT = "rnnbow-demo.html"


class CommandError(Exception):
    """A problem the user can fix (a path, a value): reported in one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rnnbow`` command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str or None, optional
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for usage errors and missing or invalid files, 130 if interrupted.

    Examples
    --------
    >>> main(["export", "run.npz", "run.html"])  # doctest: +SKIP
    wrote run.html (1,200 records); open it in a browser: file:///.../run.html
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error already printed
        return int(exit_request.code or 0)
    try:
        return args.run(args)
    except CommandError as error:
        print(f"rnnbow: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnbow: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnbow",
        description="See how a recurrent network learns: itemized BPTT gradients (RNNbow).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a character RNN on C code and write an HTML page of its gradients",
        description=(
            "Train a vanilla RNN on the bundled C code (the paper's setup by default), print "
            "a few samples, and write a self-contained HTML page of the recorded gradients."
        ),
    )
    demo.add_argument(
        "--steps",
        type=_positive_int,
        default=DEMO_STEPS,
        metavar="N",
        help=f"training chunks (default {DEMO_STEPS})",
    )
    demo.add_argument(
        "--hidden-size",
        type=_positive_int,
        default=DEMO_HIDDEN_SIZE,
        metavar="H",
        help=f"hidden units (default {DEMO_HIDDEN_SIZE})",
    )
    demo.add_argument(
        "--seq-length",
        type=_positive_int,
        default=DEMO_SEQ_LENGTH,
        metavar="n",
        help=f"characters per chunk (default {DEMO_SEQ_LENGTH})",
    )
    demo.add_argument(
        "--record-every",
        type=_positive_int,
        default=DEMO_RECORD_EVERY,
        metavar="R",
        help=f"record one chunk in R (default {DEMO_RECORD_EVERY})",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--out", default=DEMO_OUT, metavar="PATH", help=f"HTML file to write (default {DEMO_OUT})"
    )
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(run=_run_demo)

    export = commands.add_parser(
        "export",
        help="write a saved recording (.npz) or a run directory as a self-contained HTML page",
        description="Write a recording saved with Recording.save, or a run directory (RunWriter, "
        "CharRNNTrainer(run_dir=...)), as an offline HTML page.",
    )
    export.add_argument(
        "recording", metavar="RECORDING", help="a .npz saved by Recording.save, or a run directory"
    )
    export.add_argument("out", metavar="OUT", help="the HTML file to write")
    export.add_argument("--title", default=None, help="page title (default: the run's title)")
    export.set_defaults(run=_run_export)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _run_demo(args: argparse.Namespace) -> int:
    from rnnbow_widget import corpora
    from rnnbow_widget.trainer import CharRNNTrainer

    out = _output_path(args.out)
    text = corpora.c_code()
    try:
        trainer = CharRNNTrainer(
            text,
            hidden_size=args.hidden_size,
            seq_length=args.seq_length,
            record_every=args.record_every,
            seed=args.seed,
            name=f"C code, vanilla RNN, H={args.hidden_size}, n={args.seq_length}",
        )
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None
    print(
        f"training a vanilla RNN (H={args.hidden_size}, n={args.seq_length}) on "
        f"{len(text):,} characters of C code for {args.steps:,} chunks, "
        f"recording one in {args.record_every}"
    )
    loss = trainer.train(args.steps, progress=not args.no_progress)
    print(f"mean loss over the run: {loss:.3f} (smoothed, at the end: {trainer.smooth_loss:.3f})")
    for number in range(1, 4):
        sample = trainer.sample(160, temperature=0.8)
        print(f"--- sample {number} ---\n{sample}")
    print("---")
    _write_html(trainer.recording, out, None)
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from rnnbow_widget.recording import Recording
    from rnnbow_widget.rundir import RunReader, is_run_dir

    source = Path(args.recording)
    if not source.exists():
        raise CommandError(f"recording {str(source)!r} does not exist")
    if not source.is_file() and not is_run_dir(source):
        raise CommandError(f"recording {str(source)!r} is neither a file nor a run directory")
    out = _output_path(args.out)
    try:
        if source.is_file():
            recording = Recording.load(source)
        else:
            reader = RunReader(source)
            reader.poll()
            recording = reader.recording
            for problem in reader.problems:
                print(f"rnnbow export: {problem}", file=sys.stderr)
    except (ValueError, OSError) as error:
        raise CommandError(str(error).splitlines()[0]) from None
    _write_html(recording, out, args.title)
    return 0


def _output_path(text: str) -> Path:
    out = Path(text)
    if out.is_dir():
        raise CommandError(f"output {text!r} is a directory; give a file name such as run.html")
    if not out.parent.is_dir():
        raise CommandError(f"output directory {str(out.parent)!r} does not exist")
    return out


def _write_html(recording: Recording, out: Path, title: str | None) -> None:
    from rnnbow_widget.widget import RNNbow

    try:
        RNNbow(recording).save_html(out, title=title)
    except OSError as error:
        raise CommandError(f"cannot write {str(out)!r}: {error.strerror or error}") from None
    print(
        f"wrote {out} ({len(recording):,} records); open it in a browser: {out.resolve().as_uri()}"
    )


if __name__ == "__main__":
    sys.exit(main())
