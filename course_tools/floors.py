"""Learning floors: the lowest figure each notebook may reach at CI's parameters and still teach.

CI's notebook check compares structure and fixed outputs; a change that stops the model learning (a wrong
learning rate, shuffled labels) keeps both. So ``floors.csv`` lists, per notebook, figures read from the
notebook's own variables (its ``expression`` column), the dataset, data source and CI epochs they were
measured at, the three values measured there and the floor set below them by a stated margin.

The notebooks do not record anything. The tools append one cell to THEIR copies (``figures_cell``; prepare-ci
for nbval, and the runner): it evaluates the expressions in the kernel after the notebook's last cell, prints
the figures as JSON and, under ``make test``, appends them to the file named by ``HEADLINES_FILE_VARIABLE``,
which the floors plugin checks.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from course_utils.params import DEFAULTS

FLOORS_FILE = Path(__file__).with_name("floors.csv")
# Set (by `make test`) to a file: the figures cell appends one JSON line per figure to it.
HEADLINES_FILE_VARIABLE = "COURSE_HEADLINES_FILE"
# The tag of the cell the tools append to their copies (the runner removes it from the notebook it keeps).
FIGURES_TAG = "course-figures"
# Floors hold only where these keep their lesson values (CI changes only epochs and data_source).
FIXED_PARAMETERS = {name: getattr(DEFAULTS, name) for name in ("batch_size", "seed", "learning_rate")}
_KEYS = ("dataset", "data_source", "epochs", *FIXED_PARAMETERS)


@dataclasses.dataclass(frozen=True)
class Floor:
    """One row of the floors table."""

    notebook: str  # stem, e.g. "04_compile_fit"
    figure: str
    expression: str  # evaluated in the notebook's kernel after its last cell
    dataset: str
    data_source: str
    epochs: int
    measured: tuple[float, ...]  # the values the floor was set from (three runs)
    margin: float
    floor: float
    note: str = ""

    def parameters(self) -> str:
        fixed = ", ".join(f"{name}={value}" for name, value in FIXED_PARAMETERS.items())
        return f"dataset={self.dataset}, data_source={self.data_source}, epochs={self.epochs}, {fixed}"

    def matches(self, record: Mapping) -> bool:
        """Whether a recorded figure was measured where this floor holds."""
        wanted = {"notebook": self.notebook, "name": self.figure, "dataset": self.dataset}
        wanted |= {"data_source": self.data_source, "epochs": self.epochs, **FIXED_PARAMETERS}
        return all(record.get(key) == value for key, value in wanted.items())


def read_floors(path: str | os.PathLike = FLOORS_FILE) -> list[Floor]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            Floor(
                notebook=row["notebook"],
                figure=row["figure"],
                expression=row["expression"],
                dataset=row["dataset"],
                data_source=row["data_source"],
                epochs=int(row["epochs"]),
                measured=tuple(float(value) for value in row["measured"].split()),
                margin=float(row["margin"]),
                floor=float(row["floor"]),
                note=row["note"],
            )
            for row in csv.DictReader(handle)
        ]


def figures_cell(notebook: str, floors: Iterable[Floor] | None = None) -> str | None:
    """The code of the cell that records ``notebook``'s figures (a stem), or None when it has no floors.

    The dataset is that of the notebook's ``data`` where it has one (08 loads Fashion-MNIST whatever
    ``params.dataset`` says), else ``params.dataset``; the other parameters are the notebook's ``params``.
    """
    floors = read_floors() if floors is None else floors
    figures = list(dict.fromkeys((f.figure, f.expression) for f in floors if f.notebook == notebook))
    if not figures:
        return None
    return f"""\
# Added by course_tools to its copy of the notebook: the figures the learning floors check (floors.csv).
import json as _json, os as _os
_figures = []
for _name, _expression in {figures!r}:
    _figure = {{"notebook": {notebook!r}, "name": _name, "value": float(eval(_expression))}}
    _figure.update({{_key: getattr(params, _key) for _key in {_KEYS!r}}})
    _figure["dataset"] = getattr(globals().get("data"), "name", params.dataset)
    _figure["data"] = getattr(globals().get("data"), "source", None)  # in words: the full set or a sample
    _figures.append(_figure)
if _os.environ.get({HEADLINES_FILE_VARIABLE!r}):
    with open(_os.environ[{HEADLINES_FILE_VARIABLE!r}], "a", encoding="utf-8") as _file:
        _file.writelines(_json.dumps(_figure) + "\\n" for _figure in _figures)
print(_json.dumps(_figures))"""


def add_figures_cell(nb, notebook: str) -> bool:
    """Append the figures cell to a notebook node (a copy); False when the notebook has no floors."""
    import nbformat

    source = figures_cell(notebook)
    if source is not None:
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [FIGURES_TAG]}))
    return source is not None


def take_figures(nb) -> list[dict]:
    """Remove the figures cell from an executed notebook node; the figures it printed ([] if none)."""
    figures = []
    for cell in [c for c in nb.cells if FIGURES_TAG in c.get("metadata", {}).get("tags", [])]:
        nb.cells.remove(cell)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                figures += json.loads(output["text"].strip().splitlines()[-1])
    return figures


def read_headlines(path: str | os.PathLike) -> list[dict]:
    """The figures in CI's headlines file, in the order they were recorded ([] when there is no file)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def format_value(value) -> str:
    """A figure as the index and the messages show it: fractions (-1 to 1) as percentages."""
    if isinstance(value, float) and -1 <= value <= 1:
        return f"{value:.2%}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def check_headlines(
    records: Iterable[Mapping], notebooks: Iterable[str], floors: Iterable[Floor] | None = None
) -> list[str]:
    """What fails the floors, one message each (empty when all pass).

    ``notebooks`` are the stems of the notebooks that ran: each of their floors needs a figure recorded at
    the floor's parameters (the last one counts), at or above the floor.
    """
    floors = read_floors() if floors is None else list(floors)
    records, notebooks = list(records), set(notebooks)
    problems = []
    for floor in (f for f in floors if f.notebook in notebooks):
        found = [r for r in records if floor.matches(r)]
        where = f"{floor.notebook}: {floor.figure}"
        if not found:
            seen = [
                r for r in records if (r.get("notebook"), r.get("name")) == (floor.notebook, floor.figure)
            ]
            at = ", ".join(f"{key}={seen[-1].get(key)}" for key in _KEYS) if seen else None
            problems.append(
                f"{where}: no figure recorded at {floor.parameters()}"
                + (f"; it was recorded at other parameters: {at}" if at else " (the notebook did not finish)")
                + f". Its floor is in {FLOORS_FILE.name}."
            )
        elif found[-1]["value"] < floor.floor:
            measured = ", ".join(format_value(v) for v in floor.measured)
            problems.append(
                f"{where} {format_value(found[-1]['value'])} is under its floor {format_value(floor.floor)} "
                f"at {floor.parameters()} (measured {measured}; margin {format_value(floor.margin)}; "
                f"{FLOORS_FILE.name}). The notebook no longer teaches what it did: check its last change."
            )
    return problems
