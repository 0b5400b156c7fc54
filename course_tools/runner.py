"""The instructors' runner: re-run every notebook with chosen parameters and publish an HTML index.

``python -m course_utils run --epochs 1`` executes ``notebooks/*.ipynb`` in order with papermill into
``build/course`` (a partial run, ``--only``, into its own ``build/course-only-...``), stops at the first
failure, and keeps ``index.html`` and ``summary.json`` there up to date from the start ("running") to the
end ("ok", "failed" or "interrupted", on Ctrl-C and SIGTERM alike). Notebooks call
``course_utils.headline.record_headline`` so the index can show each one's key figure. The command line is
``course_utils.cli``. Nothing here imports TensorFlow (``tests/test_design.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import course_utils
from course_utils import floors
from course_utils.glossary import link_glossary_html, write_glossary_html
from course_utils.headline import HEADLINE_MIME, format_headline
from course_utils.i18n import translator
from course_utils.params import DEFAULTS, PARAMETER_NAMES, check_params, folder_write_problem
from course_utils.translate import RUN_LANGUAGES, TARGET_FOLDER, notebooks_language

KERNEL_NAME = "python3"
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]
DEFAULT_OUTPUT = "build/course"
# A run's parameters (contract defaults where not given), with artifacts_dir = <output>/artifacts; each
# notebook is given those its parameters cell declares.
RUN_PARAMETERS = tuple(name for name in PARAMETER_NAMES if name != "artifacts_dir")
OK, FAILED, NOT_RUN = "ok", "failed", "not run"
# The status of a run, and of a notebook, while it runs, and after Ctrl-C or SIGTERM stopped it.
RUNNING, INTERRUPTED = "running", "interrupted"
# Written by the runner into its output folder; a folder without it that holds anything is not the runner's.
MARKER = ".course-run.json"
MARKER_WRITER = "python -m course_utils run"


def default_notebooks_dir() -> Path:
    """The course's ``notebooks`` folder: beside the folder that holds the ``course_utils`` package."""
    return Path(course_utils.__file__).resolve().parents[1] / "notebooks"


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
    timeout: int | None
    partial: bool = False  # --only chose some of the notebooks, not all
    # Each notebook's share of ``parameters`` (by file name): only the names its parameters cell declares.
    notebook_parameters: Mapping[str, dict] = dataclasses.field(default_factory=dict)

    def parameters_for(self, notebook: Path) -> dict:
        """What papermill injects into ``notebook``: the run's parameters that the notebook declares."""
        if notebook.name in self.notebook_parameters:
            return self.notebook_parameters[notebook.name]
        return declared_subset(notebook, self.parameters)


class RunInterrupted(KeyboardInterrupt):
    """Raised in the runner by SIGINT (Ctrl-C) or SIGTERM, so the report can say the run was interrupted."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


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


def declared_parameters(notebook: str | Path) -> tuple[str, ...]:
    """The names that ``notebook``'s ``parameters`` cell assigns, in order, as papermill's
    ``inspect_notebook`` reads them (none when it has no such cell)."""
    import papermill

    return tuple(papermill.inspect_notebook(str(notebook)))


def declared_subset(notebook: str | Path, parameters: Mapping) -> dict:
    """The ``parameters`` that ``notebook`` declares: each notebook is given only those, so papermill never
    warns about a name it does not use (its ``check_params`` gives every other contract name its default)."""
    declared = declared_parameters(notebook)
    return {name: value for name, value in parameters.items() if name in declared}


def default_output(notebooks: Iterable[Path], partial: bool) -> Path:
    """``build/course`` for a full run; ``build/course-only-03-04-05`` for a partial one, so that a partial
    run never mixes with or replaces a full run's report."""
    if not partial:
        return Path(DEFAULT_OUTPUT)
    labels = [re.match(r"\d*", nb.stem).group() or nb.stem for nb in notebooks]
    return Path(f"{DEFAULT_OUTPUT}-only-{'-'.join(labels)}")


def run_folders(
    lang: str, notebooks_dir=None, output=None, only=None
) -> tuple[Path | None, Path | str | None]:
    """The notebooks folder and default output of ``run --lang zh``: ``notebooks/zh``, ``build/course-zh``.

    An explicit ``--notebooks-dir`` or ``--output`` wins. A Chinese run never writes into an English run's
    folder: its default output is the English default with ``-zh`` after ``course``.
    """
    if lang == "en" or lang not in RUN_LANGUAGES:
        return notebooks_dir, output
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir() / TARGET_FOLDER
    if output is None:
        notebooks = find_notebooks(folder, only)
        partial = len(notebooks) < len(find_notebooks(folder))
        default = default_output(notebooks, partial).as_posix()
        output = default.replace(DEFAULT_OUTPUT, f"{DEFAULT_OUTPUT}-{lang}", 1)
    return folder, output


def check_timeout(timeout) -> int | None:
    """A cell time limit as whole seconds (nbclient takes only integers); ``ValueError`` otherwise."""
    if timeout is None:
        return None
    valid = isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and math.isfinite(timeout)
    if not valid or timeout < 1 or timeout != int(timeout):
        raise ValueError(f"timeout must be a whole number of seconds, 1 or more, got {timeout!r}")
    return int(timeout)


def _read_marker(folder: Path) -> dict | None:
    """The runner's marker in ``folder`` (a stand-in for a report from before markers existed), else None."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        if isinstance(marker, dict) and marker.get("written_by") == MARKER_WRITER:
            return marker
    except (OSError, ValueError):
        pass
    try:  # an earlier runner's report: summary.json with the runner's own keys
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if (
            isinstance(summary, dict)
            and {"course_utils_version", "notebooks", "parameters"} <= summary.keys()
        ):
            return {"written_by": MARKER_WRITER, "partial": False, "files": []}
    except (OSError, ValueError):
        pass
    return None


def check_output_folder(output: Path, notebooks_dir: Path, *, partial: bool) -> None:
    """Refuse (``ValueError``, naming the folder) an output folder whose use could destroy files.

    Refused: the notebooks folder, a folder holding it or inside it, a folder holding files that are not
    the runner's earlier output (no marker), and, for a partial run, a folder holding a full run's report.
    """
    out = output.resolve()
    notebooks = notebooks_dir.resolve()
    if out == notebooks or out in notebooks.parents:
        raise ValueError(
            f"output {output} is (or holds) the notebooks folder {notebooks}: the executed copies would "
            f"replace the course's notebooks. Choose another folder, such as {DEFAULT_OUTPUT}"
        )
    if notebooks in out.parents:
        raise ValueError(
            f"output {output} is inside the notebooks folder {notebooks}; choose a folder outside it, "
            f"such as {DEFAULT_OUTPUT}"
        )
    for folder in (output, *output.parents):  # the first existing one must be a folder
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"output {output} cannot be a folder: {folder} is a file")
            break
    problem = folder_write_problem(output)
    if problem:
        raise ValueError(f"output {output} cannot be created and written: {problem}")
    if not output.is_dir() or not any(output.iterdir()):
        return
    marker = _read_marker(output)
    if marker is None:
        raise ValueError(
            f"output {output} already holds files that the runner did not write (it has no {MARKER}); "
            "choose a new or empty folder, so that nothing of yours is replaced"
        )
    if partial and not marker.get("partial"):
        raise ValueError(
            f"output {output} holds a full run's report, which a partial run (--only) would replace; "
            "leave out --output (a partial run then writes to its own folder) or choose another folder"
        )


def plan_run(
    output: str | Path | None,
    *,
    params: Mapping,
    only: Iterable[str] | None = None,
    notebooks_dir: str | Path | None = None,
    timeout: float | None = None,
) -> RunPlan:
    """Validate everything up front (parameters, notebooks, output folder, timeout); raises ``ValueError``.

    ``output=None`` chooses ``default_output``: a partial run (``only``) gets its own folder.
    """
    timeout = check_timeout(timeout)
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    notebooks = find_notebooks(folder, only)
    partial = len(notebooks) < len(find_notebooks(folder))
    if output is None:
        output = default_output(notebooks, partial)
    output = Path(output).expanduser().absolute()
    check_output_folder(output, notebooks[0].parent, partial=partial)
    given = dict(params)
    if "artifacts_dir" in given:
        raise ValueError("artifacts_dir is set by the runner (<output>/artifacts); choose --output instead")
    if isinstance(given.get("image_path"), str) and given["image_path"]:  # notebooks run in notebooks/
        given["image_path"] = str(Path(given["image_path"]).expanduser().absolute())
    parameters = {name: given.pop(name, getattr(DEFAULTS, name)) for name in RUN_PARAMETERS}
    parameters.update(given)  # names outside the contract: check_params refuses them
    parameters["artifacts_dir"] = str(output / "artifacts")
    check_params(**parameters)
    shares = {notebook.name: declared_subset(notebook, parameters) for notebook in notebooks}
    return RunPlan(output, notebooks[0].parent, tuple(notebooks), parameters, timeout, partial, shares)


def run_course(
    output: str | Path | None = None,
    *,
    params: Mapping,
    only: Iterable[str] | None = None,
    notebooks_dir: str | Path | None = None,
    timeout: float | None = None,
) -> list[NotebookResult]:
    """Execute the course's notebooks in order into ``output`` and write its index; one result each.

    ``params`` holds contract parameters to override (defaults from ``course_utils.params.DEFAULTS``);
    ``timeout`` limits each cell, in whole seconds. Stops at the first failing notebook (the rest are "not
    run"). Invalid options raise ``ValueError`` before any notebook runs; Ctrl-C or SIGTERM raise
    ``RunInterrupted`` after the report says so.
    """
    plan = plan_run(output, params=params, only=only, notebooks_dir=notebooks_dir, timeout=timeout)
    return execute_plan(plan)


def execute_plan(plan: RunPlan) -> list[NotebookResult]:
    """Run a validated plan: progress on stdout, failure details on stderr, index.html and summary.json.

    The report is written before the first notebook starts (status "running") and again as each one ends.
    On Ctrl-C or SIGTERM the run and the running notebook are marked "interrupted" (in the executed notebook,
    the cells that never ran are marked "not run"), the report is written, and ``RunInterrupted`` is raised.
    """
    plan.output.mkdir(parents=True, exist_ok=True)
    _claim_output(plan)
    write_glossary_html(plan.notebooks_dir, plan.output)  # the notebooks' glossary links land here
    results = [NotebookResult(nb.name) for nb in plan.notebooks]
    converted: set[str] = set()
    total = len(plan.notebooks)
    status = RUNNING
    _write_summary(plan, results, converted, status)
    try:
        with _signals_raise_run_interrupted():
            for number, (notebook, result) in enumerate(zip(plan.notebooks, results, strict=True), start=1):
                tag = f"[{number}/{total}] {notebook.name}"
                print(f"{tag} ...", flush=True)
                result.status = RUNNING
                _write_summary(plan, results, converted, status)
                executed = plan.output / notebook.name
                _execute(notebook, executed, plan, result)
                result.headline = _read_headline(executed)
                if _write_html(executed):
                    converted.add(notebook.name)
                if result.status == OK:
                    print(f"{tag} ok in {result.seconds:.1f} s", flush=True)
                    _write_summary(plan, results, converted, status)
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
        status = OK if all(result.status == OK for result in results) else FAILED
    except KeyboardInterrupt as exc:
        status = INTERRUPTED
        with _signals_ignored():
            _mark_interrupted(plan, results, converted, exc)
        raise
    except BaseException:
        status = FAILED
        raise
    finally:
        with _signals_ignored():
            _write_summary(plan, results, converted, status)
            counts = {s: sum(r.status == s for r in results) for s in (OK, FAILED, INTERRUPTED, NOT_RUN)}
            tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            print(f"Wrote {plan.output / 'index.html'} (run {status}: {tally})", flush=True)
    return results


def _mark_interrupted(plan: RunPlan, results: list[NotebookResult], converted: set[str], exc) -> None:
    """After Ctrl-C or SIGTERM: the running notebook's result and its unrun cells say what happened."""
    why = exc.args[0] if isinstance(exc, RunInterrupted) else "SIGINT"
    for result in results:
        if result.status not in (RUNNING, INTERRUPTED):
            continue
        executed = plan.output / result.name
        if result.status == RUNNING or not result.error:
            result.error = f"{result.name} interrupted ({why}){_running_cell(executed)}"
        result.status = INTERRUPTED
        if mark_unrun_cells(executed) and _write_html(executed):
            converted.add(result.name)
        print(f"{result.error}; the executed notebook so far: {executed}", file=sys.stderr, flush=True)


def mark_unrun_cells(executed: Path) -> bool:
    """In a notebook that papermill stopped part way, mark the cells it never started as "not run".

    papermill's clean-up marks every cell "completed" that did not fail, even those it never started (no start
    time): those are marked "not run", and the last one started, which was running when the run stopped,
    "interrupted". False if the notebook is unreadable.
    """
    import nbformat

    nb = _read_notebook(executed)
    if nb is None:
        return False
    states = [cell.get("metadata", {}).get("papermill") for cell in nb.cells]
    started = [state for state in states if state and state.get("start_time")]
    for state in states:
        if state is not None and not state.get("start_time"):
            state["status"] = NOT_RUN
    if started:
        started[-1]["status"] = INTERRUPTED
    nb.metadata.setdefault("papermill", {})["interrupted"] = True
    _atomic_write(executed, nbformat.writes(nb))
    return True


@contextmanager
def _signals_raise_run_interrupted() -> Iterator[None]:
    """While running, SIGINT and SIGTERM both raise ``RunInterrupted`` in the main thread (SIGTERM would
    otherwise end the process without a word, leaving an earlier run's report in place)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _quiet_kernel_teardown()
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _quiet_kernel_teardown() -> None:
    """Once the run is interrupted, the libraries' logs of the kernel they stop ("Kernel died", a task's
    traceback) are noise: the report and the runner's own line say what happened."""
    for name in ("asyncio", "nbclient", "papermill", "traitlets", "jupyter_client"):
        logging.getLogger(name).disabled = True


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM waits until the report is written (a fraction of a second)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _claim_output(plan: RunPlan) -> None:
    """Remove the files the runner's earlier run listed in its marker, then write this run's marker.

    Only files that the marker names and that the runner writes (executed notebooks, their HTML, the
    report) are removed, so an earlier run's notebooks never stand beside this run's report.
    """
    earlier = _read_marker(plan.output) or {}
    for name in earlier.get("files", []):
        path = plan.output / str(name)
        if path.parent == plan.output and path.name != MARKER and path.is_file():
            path.unlink()
    files = [
        name
        for nb in plan.notebooks
        for name in (nb.name, nb.with_suffix(".html").name, kernel_log_path(nb).name)
    ]
    marker = {
        "written_by": MARKER_WRITER,
        "about": "The runner wrote this folder; it may replace the files listed here when it runs again.",
        "course_utils_version": course_utils.__version__,
        "partial": plan.partial,
        "notebooks": [nb.name for nb in plan.notebooks],
        "files": [*files, "index.html", "summary.json", "glossary.html"],
    }
    _atomic_write(plan.output / MARKER, json.dumps(marker, indent=2) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` so that a reader (or a kill part way) sees the old file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _kernel_manager_class(log_path: Path):
    """jupyter_client's kernel manager, with the kernel process's own stdout and stderr sent to ``log_path``.

    Cells' outputs reach the notebook through Jupyter's messages, not through these; what the kernel process
    itself prints goes to the console otherwise: ipykernel's log (``[IPKernelApp] ERROR | KeyboardInterrupt
    caught in kernel.`` when jupyter_client interrupts it to shut it down), tracebacks of its output thread
    at shutdown (``RuntimeError: Event loop is closed``), and a copy of what C code and subprocesses write.
    """
    from jupyter_client.manager import AsyncKernelManager

    class CourseKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw) -> None:
            with open(log_path, "ab") as log:  # the kernel gets its own copy of the file descriptor
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super()._async_start_kernel(**kw)

    return CourseKernelManager


class EpochEcho:
    """Takes a kernel's stdout as papermill streams it and prints Keras' epoch lines as they come.

    With ``fit(verbose=2)`` Keras prints ``Epoch 3/10`` and then one line of figures; they are joined into
    one indented console line, so a long run shows that it is moving. Other output is not printed.
    """

    EPOCH = re.compile(r"^Epoch \d+/\d+$")
    FIGURES = re.compile(r"^\d+/\d+ - ")
    ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # Keras makes the step count bold where it thinks it can

    def __init__(self, stream=None, indent: str = "    "):
        self.stream = stream
        self.indent = indent
        self._partial = ""
        self._epoch: str | None = None

    def write(self, text: str) -> int:
        self._partial += text.replace("\r\n", "\n")
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._line(self.ANSI.sub("", line.rsplit("\r", 1)[-1]).strip())
        return len(text)

    def flush(self) -> None:
        """Called by papermill after every write; printing happens per complete line."""

    def close(self) -> None:
        """Print what is left at the end of a notebook (an epoch line without its figures)."""
        if self._partial:
            self.write("\n")
        self._flush_epoch()

    def _flush_epoch(self) -> None:
        if self._epoch:
            self._print(self._epoch.lower())
            self._epoch = None

    def _line(self, line: str) -> None:
        if self.EPOCH.match(line):
            self._flush_epoch()
            self._epoch = line
        elif self._epoch and self.FIGURES.match(line):
            self._print(f"{self._epoch.lower()}: {line}")
            self._epoch = None

    def _print(self, text: str) -> None:
        print(f"{self.indent}{text}", file=self.stream or sys.stdout, flush=True)


def _execute(notebook: Path, executed: Path, plan: RunPlan, result: NotebookResult) -> None:
    """Run one notebook with papermill, filling ``result``'s status, time and error."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    echo = EpochEcho()
    kernel_log = kernel_log_path(executed)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=plan.parameters_for(notebook),
            cwd=str(plan.notebooks_dir),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            stdout_file=echo,
            execution_timeout=plan.timeout,
            # ipykernel's start-up warning about unencrypted local TCP would print once per notebook.
            extra_arguments=KERNEL_QUIET,
            kernel_manager_class=_kernel_manager_class(kernel_log),
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
        if kernel_log.is_file() and kernel_log.stat().st_size:
            result.error += f"\nThe kernel's own log: {kernel_log}"
    except KeyboardInterrupt as exc:
        why = exc.args[0] if isinstance(exc, RunInterrupted) else "SIGINT"
        result.status = INTERRUPTED
        result.error = f"{notebook.name} interrupted ({why}){_running_cell(executed)}"
        raise
    finally:
        result.seconds = time.perf_counter() - start
        echo.close()
        if kernel_log.is_file() and not kernel_log.stat().st_size:
            kernel_log.unlink()


def kernel_log_path(executed: Path) -> Path:
    """Where the runner keeps what a notebook's kernel process printed itself: ``<stem>.kernel.log``."""
    return executed.with_name(f"{executed.stem}.kernel.log")


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


def _read_headlines(executed: Path) -> list[dict]:
    """Every headline a notebook recorded, in order, found in its code cells' display outputs."""
    nb = _read_notebook(executed)
    headlines = []
    for cell in nb.cells if nb else []:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {}).get(HEADLINE_MIME)
            if isinstance(data, Mapping) and "name" in data and "value" in data:
                headlines.append(dict(data))
    return headlines


def _read_headline(executed: Path) -> dict | None:
    """The last headline a notebook recorded: its main figure."""
    headlines = _read_headlines(executed)
    return headlines[-1] if headlines else None


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


def _headline_row(headline: Mapping, notebook: str, table: list[floors.Floor]) -> dict:
    """A recorded figure for the index: its text, and its learning floor where it was measured at CI's
    parameters."""
    row = {**headline, "text": format_headline(headline["value"])}
    floor = floors.floor_for({**headline, "notebook": notebook}, table)
    row["floor"] = None
    if floor is not None:
        value, measured = headline["value"], floor.floor is not None
        row["floor"] = {
            "value": floor.floor,
            "text": format_headline(floor.floor) if measured else None,
            "measured": [format_headline(v) for v in floor.measured],
            "passed": isinstance(value, (int, float)) and value >= floor.floor if measured else None,
            "note": floor.note,
        }
    return row


def _summary(plan: RunPlan, results: list[NotebookResult], converted: set[str]) -> dict:
    """The run as plain data: what summary.json holds and index.html shows."""
    table = floors.read_floors()
    rows = []
    for result in results:
        row = dataclasses.asdict(result)
        row["seconds"] = None if result.seconds is None else round(result.seconds, 2)
        recorded = _read_headlines(plan.output / result.name) if result.status != NOT_RUN else []
        if not recorded and result.headline is not None:
            recorded = [result.headline]
        row["headlines"] = [_headline_row(h, Path(result.name).stem, table) for h in recorded]
        row["headline"] = row["headlines"][-1] if row["headlines"] else None
        row["data"] = row["headline"].get("on") if row["headline"] else None
        row["html"] = Path(result.name).with_suffix(".html").name if result.name in converted else None
        rows.append(row)
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "course_utils_version": course_utils.__version__,
        "parameters": plan.parameters,
        "lesson_epochs": DEFAULTS.epochs,
        "notebooks_dir": str(plan.notebooks_dir),
        "language": notebooks_language(plan.notebooks),
        "notebooks": rows,
    }


def _write_summary(
    plan: RunPlan, results: list[NotebookResult], converted: set[str], status: str = OK
) -> None:
    """Write summary.json and index.html, each whole or not at all; ``status`` is the run's."""
    summary = _summary(plan, results, converted)
    summary["status"] = status  # running, ok, failed or interrupted
    summary["partial"] = plan.partial
    _atomic_write(plan.output / "summary.json", json.dumps(summary, indent=2) + "\n")
    _atomic_write(plan.output / "index.html", render_index(summary))


def render_index(summary: dict) -> str:
    """The index page for a run summary (as in summary.json): ``templates/index.html.j2``, autoescaped."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],  # headings in the run's language (course_utils.i18n)
    )
    gettext = translator(summary.get("language", "en"))
    environment.install_gettext_callables(
        gettext, lambda one, many, n: gettext(one if n == 1 else many), True
    )
    template = environment.get_template("index.html.j2")
    return template.render(summary=summary, floors_file=floors.FLOORS_FILE.name)
