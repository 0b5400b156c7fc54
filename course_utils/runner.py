"""The instructors' runner: re-run every notebook with chosen parameters and publish an HTML index.

``python -m course_utils run --epochs 1`` executes ``notebooks/*.ipynb`` in order with papermill into
``build/course``, stops at the first failure, and writes ``index.html`` and ``summary.json`` there. Notebooks
call ``record_headline`` so the index can show each one's key figure. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import html
import json
import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

import course_utils
from course_utils.data import DATA_SOURCES, DATASETS
from course_utils.glossary import link_glossary_html, write_glossary_html
from course_utils.params import DEFAULTS, check_params

HEADLINE_MIME = "application/x-course-headline+json"
KERNEL_NAME = "python3"
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]
DEFAULT_OUTPUT = "build/course"
# Passed to every notebook (contract defaults where not given), with artifacts_dir = <output>/artifacts.
RUN_PARAMETERS = ("epochs", "batch_size", "seed", "dataset", "data_source")
OK, FAILED, NOT_RUN = "ok", "failed", "not run"


def default_notebooks_dir() -> Path:
    """The course's ``notebooks`` folder: beside the folder that holds the ``course_utils`` package."""
    return Path(course_utils.__file__).resolve().parents[1] / "notebooks"


def record_headline(name: str, value) -> None:
    """Record a notebook's key figure (e.g. test accuracy) for the runner's index page.

    Published as an invisible display output of type ``HEADLINE_MIME``, which the runner reads back from the
    executed notebook; outside IPython it does nothing.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"headline name must be a non-empty string, got {name!r}")
    if hasattr(value, "item"):  # a NumPy or TensorFlow scalar: make it a plain, JSON-safe Python number
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"headline value must be a number or a string, got {type(value).__name__}")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:  # plain Python: IPython's display() would print the dict
        return
    display({HEADLINE_MIME: {"name": name, "value": value}}, raw=True)


def format_headline(value) -> str:
    """A headline value as shown on the index: floats in [0, 1] as percentages with 2 decimals."""
    if isinstance(value, float):
        return f"{value:.2%}" if 0 <= value <= 1 else f"{value:.4g}"
    return str(value)


@dataclasses.dataclass
class NotebookResult:
    """What happened to one notebook: ``status`` is ``ok``, ``failed`` or ``not run``."""

    name: str  # file name, e.g. "04_training.ipynb"
    status: str = NOT_RUN
    seconds: float | None = None
    headline: dict | None = None  # {"name": ..., "value": ...}, the last one the notebook recorded
    error: str | None = None  # names the notebook, the failing cell and the exception


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """A validated run: everything ``run_course`` checks before executing anything."""

    output: Path
    notebooks_dir: Path
    notebooks: tuple[Path, ...]
    parameters: dict
    timeout: float | None


def _leading_number(stem: str) -> int | None:
    match = re.match(r"\d+", stem)
    return int(match.group()) if match else None


def _matches(entry: str, notebook: Path) -> bool:
    if entry in (notebook.stem, notebook.name):
        return True
    return entry.isdigit() and _leading_number(notebook.stem) == int(entry)


def find_notebooks(notebooks_dir: str | Path, only: Iterable[str] | None = None) -> list[Path]:
    """The ``*.ipynb`` files in ``notebooks_dir`` sorted by name, kept to those ``only`` names.

    An ``only`` entry (comma-separated lists allowed) is a notebook's number (``3`` or ``03``) or its stem;
    entries that match nothing raise ``ValueError`` naming them, so a typo cannot silently skip notebooks.
    """
    folder = Path(notebooks_dir).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"notebooks folder {folder} does not exist")
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"no notebooks (*.ipynb) in {folder}")
    if only is None:
        return notebooks
    wanted = [part.strip() for entry in only for part in str(entry).split(",") if part.strip()]
    if not wanted:
        raise ValueError("--only was given no notebook names")
    unmatched = [entry for entry in wanted if not any(_matches(entry, nb) for nb in notebooks)]
    if unmatched:
        raise ValueError(
            f"--only {', '.join(map(repr, unmatched))} matches no notebook in {folder}; "
            f"the notebooks are {', '.join(nb.stem for nb in notebooks)}"
        )
    return [nb for nb in notebooks if any(_matches(entry, nb) for entry in wanted)]


def plan_run(
    output: str | Path,
    *,
    params: Mapping,
    only: Iterable[str] | None = None,
    notebooks_dir: str | Path | None = None,
    timeout: float | None = None,
) -> RunPlan:
    """Validate everything up front (parameters, notebooks, output folder, timeout); raises ``ValueError``."""
    output = Path(output).expanduser().absolute()
    for folder in (output, *output.parents):  # the first existing one must be a folder
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"output {output} cannot be a folder: {folder} is a file")
            break
    given = dict(params)
    if "artifacts_dir" in given:
        raise ValueError("artifacts_dir is set by the runner (<output>/artifacts); choose --output instead")
    parameters = {name: given.pop(name, getattr(DEFAULTS, name)) for name in RUN_PARAMETERS}
    parameters.update(given)  # other contract names (learning_rate); check_params refuses unknown ones
    parameters["artifacts_dir"] = str(output / "artifacts")
    check_params(**parameters)
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    notebooks = find_notebooks(folder, only)
    return RunPlan(output, notebooks[0].parent, tuple(notebooks), parameters, timeout)


def run_course(
    output: str | Path,
    *,
    params: Mapping,
    only: Iterable[str] | None = None,
    notebooks_dir: str | Path | None = None,
    timeout: float | None = None,
) -> list[NotebookResult]:
    """Execute the course's notebooks in order into ``output`` and write its index; one result each.

    ``params`` holds contract parameters to override (defaults from ``course_utils.params.DEFAULTS``);
    ``timeout`` limits each cell, in seconds. Stops at the first failing notebook (the rest are "not run").
    Invalid options raise ``ValueError`` before any notebook runs.
    """
    plan = plan_run(output, params=params, only=only, notebooks_dir=notebooks_dir, timeout=timeout)
    return execute_plan(plan)


def execute_plan(plan: RunPlan) -> list[NotebookResult]:
    """Run a validated plan: progress on stdout, failure details on stderr, index.html and summary.json."""
    plan.output.mkdir(parents=True, exist_ok=True)
    write_glossary_html(plan.notebooks_dir, plan.output)  # the notebooks' glossary links land here
    results = [NotebookResult(nb.name) for nb in plan.notebooks]
    converted: set[str] = set()
    total = len(plan.notebooks)
    try:
        for number, (notebook, result) in enumerate(zip(plan.notebooks, results, strict=True), start=1):
            tag = f"[{number}/{total}] {notebook.name}"
            print(f"{tag} ...", flush=True)
            executed = plan.output / notebook.name
            _execute(notebook, executed, plan, result)
            result.headline = _read_headline(executed)
            if _write_html(executed):
                converted.add(notebook.name)
            if result.status == OK:
                print(f"{tag} ok in {result.seconds:.1f} s", flush=True)
                continue
            print(f"{tag} FAILED after {result.seconds:.1f} s", flush=True)
            print(
                f"{result.error}\nThe executed notebook, with the error: {executed}",
                file=sys.stderr,
                flush=True,
            )
            for later_number, later in enumerate(plan.notebooks[number:], start=number + 1):
                print(f"[{later_number}/{total}] {later.name} not run", flush=True)
            break
    finally:
        _write_summary(plan, results, converted)
    counts = {status: sum(r.status == status for r in results) for status in (OK, FAILED, NOT_RUN)}
    tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    print(f"Wrote {plan.output / 'index.html'} ({tally})", flush=True)
    return results


def _execute(notebook: Path, executed: Path, plan: RunPlan, result: NotebookResult) -> None:
    """Run one notebook with papermill, filling ``result``'s status, time and error."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=plan.parameters,
            cwd=str(plan.notebooks_dir),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            execution_timeout=plan.timeout,
            # ipykernel's start-up warning about unencrypted local TCP would print once per notebook.
            extra_arguments=KERNEL_QUIET,
        )
        result.status = OK
    except PapermillExecutionError as exc:
        result.status = FAILED
        result.error = (
            f"{notebook.name} failed at cell index {exc.cell_index} (In [{exc.exec_count}]): "
            f"{_first_line(exc.source)}\n{exc.ename}: {exc.evalue}"
        )
    except Exception as exc:  # a cell timeout, a dead kernel, a kernel that would not start
        result.status = FAILED
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result.error = f"{notebook.name} failed{_running_cell(executed)}\n{type(exc).__name__}: {first}"
    except KeyboardInterrupt:
        result.status, result.error = FAILED, f"{notebook.name} interrupted{_running_cell(executed)}"
        raise
    finally:
        result.seconds = time.perf_counter() - start


def _first_line(source: str, limit: int = 100) -> str:
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _read_notebook(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):  # not written (kernel never started) or unreadable
        return None


def _running_cell(executed: Path) -> str:
    """`` at cell index N: <first line>`` for the last cell papermill started, else ``""``."""
    nb = _read_notebook(executed)
    started = [
        (index, cell)
        for index, cell in enumerate(nb.cells if nb else [])
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return ""
    index, cell = started[-1]
    return f" at cell index {index}: {_first_line(cell.source)}"


def _read_headline(executed: Path) -> dict | None:
    """The last headline a notebook recorded, found in its code cells' display outputs."""
    nb = _read_notebook(executed)
    headline = None
    for cell in nb.cells if nb else []:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {}).get(HEADLINE_MIME)
            if isinstance(data, Mapping) and "name" in data and "value" in data:
                headline = {"name": data["name"], "value": data["value"]}
    return headline


def _write_html(executed: Path) -> bool:
    """Convert an executed notebook to ``<stem>.html`` beside it; False (with a warning) if that fails.

    Headline outputs are dropped first: they are meant to be invisible, and nbconvert warns about them.
    """
    from nbconvert import HTMLExporter

    nb = _read_notebook(executed)
    if nb is None:
        return False
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if HEADLINE_MIME not in o.get("data", {})]
    try:
        body, _ = HTMLExporter().from_notebook_node(nb)
        executed.with_suffix(".html").write_text(link_glossary_html(body), encoding="utf-8")
    except Exception as exc:  # a broken conversion must not hide the run's results
        print(f"warning: could not convert {executed.name} to HTML: {exc}", file=sys.stderr, flush=True)
        return False
    return True


def _summary(plan: RunPlan, results: list[NotebookResult], converted: set[str]) -> dict:
    """The run as plain data: what summary.json holds and index.html shows."""
    rows = []
    for result in results:
        row = dataclasses.asdict(result)
        row["seconds"] = None if result.seconds is None else round(result.seconds, 2)
        if result.headline is not None:
            row["headline"] = {**result.headline, "text": format_headline(result.headline["value"])}
        row["html"] = Path(result.name).with_suffix(".html").name if result.name in converted else None
        rows.append(row)
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "course_utils_version": course_utils.__version__,
        "parameters": plan.parameters,
        "notebooks_dir": str(plan.notebooks_dir),
        "notebooks": rows,
    }


def _write_summary(plan: RunPlan, results: list[NotebookResult], converted: set[str]) -> None:
    summary = _summary(plan, results, converted)
    (plan.output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (plan.output / "index.html").write_text(render_index(summary), encoding="utf-8")


def render_index(summary: dict) -> str:
    """The index page for a run summary (as in summary.json); every value is HTML-escaped."""
    e = html.escape
    params = "".join(
        f"<tr><th>{e(name)}</th><td><code>{e(str(value))}</code></td></tr>"
        for name, value in summary["parameters"].items()
    )
    rows = []
    for row in summary["notebooks"]:
        name = e(row["name"])
        cell = f'<a href="{e(quote(row["html"]))}">{name}</a>' if row["html"] else name
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
        headline = row["headline"]
        figure = f"{e(str(headline['name']))}: {e(headline['text'])}" if headline else ""
        status = row["status"]
        rows.append(
            f'<tr><td>{cell}</td><td class="{e(status.replace(" ", "-"))}">{e(status)}</td>'
            f'<td class="num">{seconds}</td><td>{figure}</td></tr>'
        )
    errors = "".join(
        f"<h2>{e(row['name'])} failed</h2><pre>{e(row['error'])}</pre>"
        for row in summary["notebooks"]
        if row["error"]
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Course run {e(summary["date"])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: left; }}
td.num {{ text-align: right; }}
.ok {{ color: #176f2c; }} .failed {{ color: #b00020; font-weight: bold; }} .not-run {{ color: #777; }}
</style>
</head>
<body>
<h1>Course run</h1>
<p>Run on {e(summary["date"])} with course_utils {e(summary["course_utils_version"])},
from <code>{e(summary["notebooks_dir"])}</code>.</p>
<h2>Parameters</h2>
<table>{params}</table>
<h2>Notebooks</h2>
<table>
<thead><tr><th>Notebook</th><th>Status</th><th>Time (s)</th><th>Headline</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
{errors}
</body>
</html>
"""


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
            "failing notebook. Exit status: 0 all ran, 1 a notebook failed, 2 invalid options."
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
        "--only",
        action="append",
        metavar="LIST",
        help="run only these notebooks, by number or file stem, comma-separated (e.g. 03,04); repeatable",
    )
    run.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"folder for executed notebooks, HTML, artifacts/ and index.html (default {DEFAULT_OUTPUT})",
    )
    run.add_argument(
        "--notebooks-dir",
        metavar="DIR",
        help="folder holding the *.ipynb files (default: the course's notebooks/ folder)",
    )
    run.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="time limit for each cell (default: none)"
    )
    prepare = commands.add_parser(
        "prepare-ci",
        help="parameterise the notebooks for CI with papermill, without executing them",
        description="Write papermill-parameterised copies (epochs=1, offline data) for `pytest --nbval-lax`.",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_utils``; returns the exit status (0 ok, 1 failed, 2 bad options)."""
    args = build_parser().parse_args(argv)
    if args.command != "run":
        from course_utils import nbcheck

        if args.command == "prepare-ci":
            for path in nbcheck.prepare_ci_notebooks(args.output):
                print(f"prepared {path}")
        else:
            for path in nbcheck.refresh_outputs(only=args.only):
                print(f"refreshed {path}")
        return 0
    params = {name: getattr(args, name) for name in RUN_PARAMETERS if getattr(args, name) is not None}
    try:
        plan = plan_run(
            args.output, params=params, only=args.only, notebooks_dir=args.notebooks_dir, timeout=args.timeout
        )
    except ValueError as exc:
        print(f"python -m course_utils run: error: {exc}", file=sys.stderr)
        return 2
    results = execute_plan(plan)
    return 0 if all(result.status == OK for result in results) else 1
