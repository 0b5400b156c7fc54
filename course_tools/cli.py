"""``python -m course_utils``: the instructors' command line (``run``, ``prepare-ci``, ``refresh-outputs``,
``fetch-data``, ``translate``).

It sits above every other module: it imports the runner, the CI checks (``nbcheck``), the data and the
translation build, and none of them imports it. Nothing here imports TensorFlow, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from course_utils import data, nbcheck, translate
from course_utils.data import DATA_SOURCES, DATASETS
from course_utils.params import DEFAULTS, STRATEGIES
from course_utils.runner import (
    DEFAULT_OUTPUT,
    OK,
    RUN_PARAMETERS,
    RunInterrupted,
    check_timeout,
    execute_plan,
    plan_run,
    run_folders,
)
from course_utils.translate import RUN_LANGUAGES


def _timeout_argument(text: str) -> int:
    """``--timeout``: a whole number of seconds, checked by the parser (exit status 2 otherwise)."""
    try:
        return check_timeout(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds, 1 or more, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m course_utils`` command line: ``run``, and the CI helpers ``prepare-ci`` and
    ``refresh-outputs`` (see ``course_utils.nbcheck``)."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils",
        description="Instructors' tools for the MNIST CNN course.",
        epilog="Run `python -m course_utils run --help` for the options of `run`.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="execute the notebooks with papermill and write an HTML index",
        description=(
            "Execute the course's notebooks in order with the given parameters, writing each executed "
            "notebook, its HTML, index.html and summary.json into the output folder. Stops at the first "
            "failing notebook. Exit status: 0 all ran, 1 a notebook failed, 2 invalid options, 130 or 143 "
            "interrupted (Ctrl-C or SIGTERM; the report then says so)."
        ),
    )
    run.add_argument("--epochs", type=int, metavar="N", help=f"training epochs (default {DEFAULTS.epochs})")
    run.add_argument(
        "--batch-size", type=int, metavar="N", help=f"training batch size (default {DEFAULTS.batch_size})"
    )
    run.add_argument("--seed", type=int, metavar="N", help=f"random seed (default {DEFAULTS.seed})")
    run.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"dataset: {', '.join(sorted(DATASETS))} (default {DEFAULTS.dataset})",
    )
    run.add_argument(
        "--data-source",
        metavar="SRC",
        help=f"where data comes from: {', '.join(DATA_SOURCES)} (default {DEFAULTS.data_source})",
    )
    run.add_argument(
        "--learning-rate",
        type=float,
        metavar="LR",
        help=f"Adam's step size, in (0, 1] (default {DEFAULTS.learning_rate})",
    )
    run.add_argument(
        "--strategy",
        metavar="NAME",
        help=f"how training is spread over devices: {', '.join(STRATEGIES)} (default {DEFAULTS.strategy})",
    )
    run.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        help="float16 compute with float32 outputs, for GPUs (default: off)",
    )
    run.add_argument(
        "--image-path",
        metavar="FILE",
        help="an image of a handwritten digit for 06_your_digit (default: the shipped examples)",
    )
    run.add_argument(
        "--only",
        action="append",
        metavar="LIST",
        help=(
            "run only these notebooks, by number or file stem, comma-separated (e.g. 03,04); repeatable. "
            f"Without --output, a partial run writes to its own folder ({DEFAULT_OUTPUT}-only-03-04)"
        ),
    )
    run.add_argument(
        "--output",
        metavar="DIR",
        help=(
            f"folder for executed notebooks, HTML, artifacts/ and index.html (default {DEFAULT_OUTPUT}); "
            "it must be new, empty or an earlier run's output"
        ),
    )
    run.add_argument("--lang", choices=RUN_LANGUAGES, default="en", help="en: notebooks/; zh: notebooks/zh")
    run.add_argument(
        "--notebooks-dir",
        metavar="DIR",
        help="folder holding the *.ipynb files (default: the course's notebooks/ folder)",
    )
    run.add_argument(
        "--timeout",
        type=_timeout_argument,
        metavar="SECONDS",
        help="time limit for each cell, in whole seconds (default: none)",
    )
    prepare = commands.add_parser(
        "prepare-ci",
        help="parameterise the notebooks for CI with papermill, without executing them",
        description=(
            "Write papermill-parameterised copies (epochs=1, offline data) for `pytest --nbval-lax`: every "
            "notebook, and the Chinese core notebooks 00-05 into <output>/zh."
        ),
    )
    prepare.add_argument("--output", default="build/ci", metavar="DIR", help="folder for the copies")
    refresh = commands.add_parser(
        "refresh-outputs",
        help="re-make the committed outputs of the nbval-checked cells after an intended change",
        description=(
            "Execute the notebooks at CI parameters and store back into notebooks/ only the outputs of cells "
            "tagged nbval-check-output; every other output is cleared."
        ),
    )
    refresh.add_argument("--only", action="append", metavar="LIST", help="refresh only these notebooks")
    commands.add_parser(
        "fetch-data", help="fetch what is reachable of each dataset; say which source serves it"
    )
    translation = commands.add_parser("translate", help="build notebooks/zh from locale/zh_CN (translate.py)")
    translation.add_argument(
        "--update", action="store_true", help="first merge changed English cells (fuzzy)"
    )
    return parser


def run_params(args: argparse.Namespace) -> dict:
    """The contract parameters given on the command line (``--learning-rate`` gives ``learning_rate``)."""
    return {name: getattr(args, name) for name in RUN_PARAMETERS if getattr(args, name) is not None}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_utils``; returns the exit status (0 ok, 1 failed, 2 bad options)."""
    args = build_parser().parse_args(argv)
    if args.command == "fetch-data":
        return data.fetch_data()
    if args.command == "translate":
        return translate.main(update=args.update)
    if args.command != "run":
        if args.command == "prepare-ci":
            prepared = nbcheck.prepare_ci_notebooks(args.output)
            prepared += nbcheck.prepare_ci_chinese_notebooks(Path(args.output) / "zh")
            for path in prepared:
                print(f"prepared {path}")
        else:
            for path in nbcheck.refresh_outputs(only=args.only):
                print(f"refreshed {path}")
        return 0
    params = run_params(args)
    try:
        notebooks_dir, output = run_folders(args.lang, args.notebooks_dir, args.output, args.only)
        plan = plan_run(
            output, params=params, only=args.only, notebooks_dir=notebooks_dir, timeout=args.timeout
        )
    except ValueError as exc:
        print(f"python -m course_utils run: error: {exc}", file=sys.stderr)
        return 2
    try:
        results = execute_plan(plan)
    except RunInterrupted as exc:
        return 128 + exc.signum
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    return 0 if all(result.status == OK for result in results) else 1
