"""The instructors' runner: execute the notebooks with papermill into one folder, with an HTML report.

``python -m course_tools run --epochs 1`` executes ``notebooks/*.ipynb`` (``--lang zh``: ``notebooks/zh``)
in order into ``build/course``: each executed notebook, its HTML, ``index.html`` and ``summary.json``. It
stops at the first failing notebook and names its cell; on Ctrl-C the report says "interrupted". It never
writes into the notebooks' folder. Each notebook's figures (``floors.csv``) are read by a cell appended to the
runner's copy and removed again once they are read. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from course_tools import floors
from course_tools.glossary import link_glossary_html, write_glossary_html
from course_tools.messages import translator
from course_utils.params import DEFAULTS, PARAMETER_NAMES, check_params

DEFAULT_OUTPUT = "build/course"
KERNEL_QUIET = ["--IPKernelApp.log_level=CRITICAL"]  # ipykernel's own log: start-up warnings, teardown
LANGUAGES = {"en": "", "zh": "zh"}  # --lang: the notebooks' subfolder
REPORT_LANGUAGES = {"en": "en", "zh": "zh_CN"}
OK, FAILED, NOT_RUN, RUNNING, INTERRUPTED = "ok", "failed", "not run", "running", "interrupted"


@dataclasses.dataclass
class NotebookResult:
    name: str  # file name, e.g. "04_compile_fit.ipynb"
    status: str = NOT_RUN
    seconds: float | None = None
    figures: list = dataclasses.field(default_factory=list)
    error: str | None = None  # names the notebook, the failing cell and the exception
    html: str | None = None


def find_notebooks(folder: str | Path, only: Iterable[str] | None = None) -> list[Path]:
    """The ``*.ipynb`` in ``folder`` by name, kept to those ``only`` names by number (``3``, ``03``) or stem
    (comma-separated lists allowed); an entry that matches nothing is a ``ValueError`` naming it."""
    folder = Path(folder)
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"no notebooks (*.ipynb) in {folder.absolute()}")
    if only is None:
        return notebooks

    def matches(entry: str, notebook: Path) -> bool:
        number = re.match(r"\d+", notebook.stem)
        return entry == notebook.stem or (entry.isdigit() and bool(number) and int(number[0]) == int(entry))

    wanted = [part.strip() for entry in only for part in entry.split(",") if part.strip()]
    unmatched = [entry for entry in wanted if not any(matches(entry, nb) for nb in notebooks)]
    if unmatched or not wanted:
        raise ValueError(
            f"--only {', '.join(map(repr, unmatched))} matches no notebook; "
            f"the notebooks are {', '.join(nb.stem for nb in notebooks)}"
        )
    return [nb for nb in notebooks if any(matches(entry, nb) for entry in wanted)]


def check_output(output: Path, notebooks_dir: Path) -> None:
    """Refuse an output folder that is, holds or lies inside the notebooks' folder (its copies would
    replace the notebooks, or land among them)."""
    out, source = output.resolve(), notebooks_dir.resolve()
    if out == source or out in source.parents or source in out.parents:
        raise ValueError(
            f"output {output} is, holds or lies inside the notebooks folder {source}: the runner never "
            f"writes there. Choose another folder, such as {DEFAULT_OUTPUT}"
        )


def declared_subset(notebook: Path, parameters: Mapping) -> dict:
    """The ``parameters`` that ``notebook``'s parameters cell declares (papermill warns about others)."""
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    return {name: value for name, value in parameters.items() if name in declared}


def run_parameters(params: Mapping, output: Path) -> dict:
    """Every contract parameter (defaults where not given), checked; ``ValueError`` names a bad one."""
    given = dict(params)
    if given.get("image_path"):  # the notebooks run in their own folder
        given["image_path"] = str(Path(given["image_path"]).expanduser().absolute())
    parameters = {name: getattr(DEFAULTS, name) for name in PARAMETER_NAMES} | given
    parameters["artifacts_dir"] = str(output.absolute() / "artifacts")
    check_params(**parameters)
    return parameters


def run_course(
    output: str | Path | None = None,
    *,
    params: Mapping,
    only: Iterable[str] | None = None,
    notebooks_dir: str | Path | None = None,
    lang: str = "en",
    timeout: int | None = None,
) -> list[NotebookResult]:
    """Execute the notebooks in order into ``output`` and write its report; one result each.

    Bad options raise ``ValueError`` before anything runs. Ctrl-C ends the run with ``KeyboardInterrupt``
    after the report says "interrupted". ``notebooks_dir`` defaults to ``notebooks`` (``notebooks/zh`` for
    ``lang="zh"``) in the working folder, ``output`` to ``build/course`` (``build/course-zh``).
    """
    folder = Path(notebooks_dir or Path("notebooks", LANGUAGES[lang]))
    output = Path(output or (DEFAULT_OUTPUT + ("-zh" if lang == "zh" else "")))
    notebooks = find_notebooks(folder, only)
    check_output(output, folder)
    parameters = run_parameters(params, output)
    output.mkdir(parents=True, exist_ok=True)
    write_glossary_html(folder, output)  # the notebooks' glossary links land here
    results = [NotebookResult(nb.name) for nb in notebooks]
    report = {
        "parameters": parameters,
        "notebooks_dir": str(folder.absolute()),
        "language": REPORT_LANGUAGES[lang],
    }
    write_report(output, report, results, RUNNING)
    status = INTERRUPTED
    try:
        for number, (notebook, result) in enumerate(zip(notebooks, results, strict=True), start=1):
            print(f"[{number}/{len(notebooks)}] {notebook.name} ...", flush=True)
            result.status = RUNNING
            write_report(output, report, results, RUNNING)
            _execute(notebook, output, declared_subset(notebook, parameters), timeout, result)
            print(f"[{number}/{len(notebooks)}] {notebook.name} {result.status} in {result.seconds:.1f} s")
            if result.status != OK:
                print(result.error, file=sys.stderr, flush=True)
                break
        status = OK if all(r.status == OK for r in results) else FAILED
    finally:
        write_report(output, report, results, status)
        print(f"report: {output / 'index.html'} ({status})", flush=True)
    return results


def _execute(notebook: Path, output: Path, parameters: dict, timeout: int | None, result: NotebookResult):
    """Run one notebook with papermill into ``output``: status, time, error, figures and HTML."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    executed = output / notebook.name
    nb = nbformat.read(notebook, as_version=4)
    floors.add_figures_cell(nb, notebook.stem)
    nbformat.write(nb, executed)
    # The runner reads its figures from the executed notebook; CI's figures file is for prepare-ci's copies.
    ci_figures_file = os.environ.pop(floors.HEADLINES_FILE_VARIABLE, None)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            executed,
            executed,
            parameters=parameters,
            cwd=str(notebook.parent),
            progress_bar=False,
            execution_timeout=timeout,
            extra_arguments=KERNEL_QUIET,
        )
        result.status = OK
    except PapermillExecutionError as error:
        result.status = INTERRUPTED if error.ename == "KeyboardInterrupt" else FAILED
        line = next((text for text in error.source.splitlines() if text.strip()), "")
        result.error = (
            f"{notebook.name} failed at cell {error.cell_index} (In [{error.exec_count}]): {line}\n"
            f"{error.ename}: {error.evalue}"
        )
    except KeyboardInterrupt:
        result.status = INTERRUPTED
        result.error = f"{notebook.name} interrupted (Ctrl-C)"
        raise
    except Exception as error:  # a cell timeout, a kernel that died or would not start
        result.status = FAILED
        result.error = f"{notebook.name} failed: {type(error).__name__}: {error}"
    finally:
        if ci_figures_file is not None:
            os.environ[floors.HEADLINES_FILE_VARIABLE] = ci_figures_file
        result.seconds = time.perf_counter() - start
        _finish(executed, result)


def _finish(executed: Path, result: NotebookResult) -> None:
    """Take the figures out of the executed copy (the figures cell is removed) and convert it to HTML."""
    import nbformat
    from nbconvert import HTMLExporter

    try:
        nb = nbformat.read(executed, as_version=4)
        result.figures = floors.take_figures(nb)
        nbformat.write(nb, executed)
        body, _ = HTMLExporter().from_notebook_node(nb)
        executed.with_suffix(".html").write_text(link_glossary_html(body), encoding="utf-8")
        result.html = executed.with_suffix(".html").name
    except Exception as error:  # a broken conversion must not hide the run's results
        print(f"warning: {executed.name}: {type(error).__name__}: {error}", file=sys.stderr)


def _figure_row(figure: Mapping, table: list[floors.Floor]) -> dict:
    floor = next((f for f in table if f.matches(figure)), None)
    row = {**figure, "text": floors.format_value(figure["value"]), "floor": None}
    if floor is not None:
        row["floor"] = {"text": floors.format_value(floor.floor), "passed": figure["value"] >= floor.floor}
    return row


def write_report(output: Path, report: Mapping, results: list[NotebookResult], status: str) -> None:
    """``summary.json`` and ``index.html``: the run's status, parameters and each notebook's result."""
    table = floors.read_floors()
    summary = {
        **report,
        "status": status,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "lesson_epochs": DEFAULTS.epochs,
        "versions": _versions(),
        "notebooks": [
            {**dataclasses.asdict(r), "figures": [_figure_row(f, table) for f in r.figures]} for r in results
        ],
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (output / "index.html").write_text(render_index(summary), encoding="utf-8")


def _versions() -> dict:
    """The versions the kernels run with (the runner's own environment), without importing TensorFlow."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "course-utils"):
        try:
            found[name.replace("-", "_")] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name.replace("-", "_")] = "?"
    return found


def render_index(summary: Mapping) -> str:
    """The index page (``templates/index.html.j2``), autoescaped, headings in the run's language."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(translator(summary["language"]), None, newstyle=True)
    return environment.get_template("index.html.j2").render(
        summary=summary, floors_file=floors.FLOORS_FILE.name
    )
