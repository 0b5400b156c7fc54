"""``python -m course_tools``: the instructors' and CI's command line (``run``, ``prepare-ci``,
``refresh-outputs``, ``fetch-data``, ``translate``). Nothing here imports TensorFlow: ``--help`` is quick."""

from __future__ import annotations

import argparse
import sys

from course_tools import nbcheck, runner, translate
from course_utils.params import DEFAULTS

# run's options for the contract parameters: (name, type, help); --mixed-precision is a flag.
RUN_OPTIONS = [
    ("epochs", int, "training epochs"),
    ("batch_size", int, "training batch size"),
    ("seed", int, "random seed"),
    ("dataset", str, "mnist or fashion_mnist"),
    ("data_source", str, "auto, offline, sample or full (the README's data policy)"),
    ("learning_rate", float, "Adam's step size"),
    ("strategy", str, "auto, default, mirrored or multiworker (09)"),
    ("image_path", str, "an image of a handwritten digit for 06"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_tools", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        allow_abbrev=False,  # a misspelt option (--epoch) is an error that names it, never a guess
        help="execute the notebooks with papermill and write an HTML report",
        description=(
            "Execute the notebooks in order into one folder: the executed notebooks, their HTML, index.html "
            "and summary.json. Stops at the first failing notebook. Exit status: 0 all ran, 1 a notebook "
            "failed, 2 bad options, 130 interrupted (Ctrl-C; the report says so)."
        ),
    )
    for name, kind, text in RUN_OPTIONS:
        default = getattr(DEFAULTS, name)
        run.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"{text} (default {default!r})")
    run.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, help="float16 compute (09)")
    run.add_argument("--only", action="append", metavar="LIST", help="notebooks by number or stem: 03,04")
    run.add_argument("--output", metavar="DIR", help=f"output folder (default {runner.DEFAULT_OUTPUT})")
    run.add_argument("--lang", choices=sorted(runner.LANGUAGES), default="en", help="zh: notebooks/zh")
    run.add_argument("--notebooks-dir", metavar="DIR", help="default: notebooks/ in the working folder")
    run.add_argument("--timeout", type=int, metavar="SECONDS", help="time limit for each cell")
    prepare = commands.add_parser("prepare-ci", help="papermill copies at CI's parameters for nbval")
    prepare.add_argument("--output", default="build/ci", metavar="DIR")
    prepare.add_argument("--notebooks-dir", default="notebooks", metavar="DIR")
    refresh = commands.add_parser(
        "refresh-outputs", help="re-make the committed outputs of the cells tagged nbval-check-output"
    )
    refresh.add_argument("--only", action="append", metavar="LIST")
    refresh.add_argument("--notebooks-dir", default="notebooks", metavar="DIR")
    commands.add_parser(
        "fetch-data", help="fetch what is reachable of each dataset; say which source serves it"
    )
    translation = commands.add_parser("translate", help="build notebooks/zh from locale/zh_CN")
    translation.add_argument(
        "--update", action="store_true", help="first merge changed English cells (fuzzy)"
    )
    return parser


def fetch_data() -> int:
    """``fetch-data`` (``make data``): fetch the full set of each dataset where a route reaches it, then say
    which source a notebook will now use (an ``offline`` load: no network)."""
    import contextlib
    import io

    from course_utils.data import DATASETS, DataUnavailableError, load_dataset

    for name, spec in DATASETS.items():
        print(f"--- {spec.title}")
        try:
            load_dataset(name, "full", scaled=False)
        except DataUnavailableError as exc:
            print(f"No full copy reachable, so the sample serves it. {exc}")
    print("\nWhich source now serves each dataset (without network):")
    for name, spec in DATASETS.items():
        with contextlib.redirect_stdout(io.StringIO()):
            source = load_dataset(name, "offline", scaled=False).source
        print(f"  {spec.title:<14} {source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Returns the exit status (0 ok, 1 failed, 2 bad options, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    if args.command == "fetch-data":
        return fetch_data()
    if args.command == "translate":
        return translate.main(update=args.update)
    if args.command == "prepare-ci":
        for path in nbcheck.prepare_ci(args.output, args.notebooks_dir):
            print(f"prepared {path}")
        return 0
    if args.command == "refresh-outputs":
        for path in nbcheck.refresh_outputs(args.notebooks_dir, only=args.only):
            print(f"refreshed {path}")
        return 0
    names = [name for name, _, _ in RUN_OPTIONS] + ["mixed_precision"]
    params = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    options = {"only": args.only, "notebooks_dir": args.notebooks_dir, "lang": args.lang}
    try:
        results = runner.run_course(args.output, params=params, timeout=args.timeout, **options)
    except ValueError as error:
        print(f"python -m course_tools run: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0 if all(result.status == runner.OK for result in results) else 1
