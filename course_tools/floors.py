"""Learning floors: the lowest headline figure each notebook may reach at CI's parameters and still teach.

CI's notebook check compares structure and fixed outputs; a change that stops the model learning (a wrong
learning rate, shuffled labels) keeps both. So each notebook's headline figures (``record_headline``) are
checked against the table in ``floors.csv``: one row per notebook, figure, dataset, data source and CI epochs,
with the three values measured there and the floor set below them by a stated margin. The check reads the
figures that the CI run already wrote (``HEADLINES_FILE_VARIABLE``); nothing is executed twice.
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
# Set (by `make test`) to a file: record_headline then appends one JSON line per figure to it.
HEADLINES_FILE_VARIABLE = "COURSE_HEADLINES_FILE"
# Set to the running notebook's name (stem) by the pytest plugin before nbval starts its kernel.
NOTEBOOK_VARIABLE = "COURSE_NOTEBOOK"
# Floors hold only where these keep their lesson values (CI changes only epochs and data_source).
FIXED_PARAMETERS = {name: getattr(DEFAULTS, name) for name in ("batch_size", "seed", "learning_rate")}


@dataclasses.dataclass(frozen=True)
class Floor:
    """One row of the floors table; ``floor`` is None while the figure is still to be measured."""

    notebook: str  # stem, e.g. "04_compile_fit"
    figure: str  # the name given to record_headline
    dataset: str
    data_source: str
    epochs: int
    measured: tuple[float, ...]  # the values the floor was set from (three runs)
    margin: float | None
    floor: float | None
    note: str = ""

    def parameters(self) -> str:
        """The parameters the floor holds for, as ``name=value`` pairs."""
        fixed = ", ".join(f"{name}={value}" for name, value in FIXED_PARAMETERS.items())
        return f"dataset={self.dataset}, data_source={self.data_source}, epochs={self.epochs}, {fixed}"

    def matches(self, record: Mapping) -> bool:
        """Whether a recorded figure (see ``headline_record``) was measured where this floor holds."""
        return (
            record.get("notebook") == self.notebook
            and record.get("name") == self.figure
            and record.get("dataset") == self.dataset
            and record.get("data_source") == self.data_source
            and record.get("epochs") == self.epochs
            and all(record.get(name) == value for name, value in FIXED_PARAMETERS.items())
        )


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def read_floors(path: str | os.PathLike = FLOORS_FILE) -> list[Floor]:
    """The floors table; ``measured`` is a space-separated list of values, empty while not measured."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            Floor(
                notebook=row["notebook"],
                figure=row["figure"],
                dataset=row["dataset"],
                data_source=row["data_source"],
                epochs=int(row["epochs"]),
                measured=tuple(float(value) for value in row["measured"].split()),
                margin=_number(row["margin"]),
                floor=_number(row["floor"]),
                note=row["note"],
            )
            for row in csv.DictReader(handle)
        ]


def floor_for(record: Mapping, floors: Iterable[Floor] | None = None) -> Floor | None:
    """The floor that holds for a recorded figure, or None (another notebook, figure or parameters)."""
    floors = read_floors() if floors is None else floors
    return next((floor for floor in floors if floor.matches(record)), None)


def headline_record(name: str, value, on: str | None, dataset: str | None, params, notebook: str | None):
    """A recorded figure as plain data: what CI's headlines file holds and the runner's index reads."""
    record = {"notebook": notebook, "name": name, "value": value, "on": on, "dataset": dataset}
    if params is not None:
        for key in ("data_source", "epochs", *FIXED_PARAMETERS):
            record[key] = getattr(params, key)
    return record


def append_headline(record: Mapping, path: str | os.PathLike) -> None:
    """Append one recorded figure to CI's headlines file, one JSON object per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(record)) + "\n")


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

    ``notebooks`` are the stems of the notebooks that ran: each of their floors needs a recorded figure at
    the floor's parameters (the last one recorded counts), at or above the floor. Rows still to be measured
    (no floor) only need the figure.
    """
    floors = read_floors() if floors is None else list(floors)
    records = list(records)
    problems = []
    for notebook in notebooks:
        for floor in (f for f in floors if f.notebook == notebook):
            found = [r for r in records if floor.matches(r)]
            if not found:
                seen = [r for r in records if r.get("notebook") == notebook and r.get("name") == floor.figure]
                at = (
                    f"; it was recorded at other parameters: {_parameters_of(seen[-1])}"
                    if seen
                    else " (no record_headline call reached it)"
                )
                problems.append(
                    f"{notebook}: no {floor.figure!r} figure recorded at {floor.parameters()}{at}. "
                    f"Its floor is in {FLOORS_FILE.name}."
                )
                continue
            record = found[-1]
            value = record.get("value")
            if floor.floor is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < floor.floor:
                measured = ", ".join(format_value(v) for v in floor.measured)
                on = f" on {record['on']}" if record.get("on") else ""
                problems.append(
                    f"{notebook}: {floor.figure} {format_value(value)}{on} is under its floor "
                    f"{format_value(floor.floor)} at {floor.parameters()} (measured {measured}; "
                    f"margin {format_value(floor.margin)}; {FLOORS_FILE.name}). The notebook no longer "
                    "teaches what it did: check its last change."
                )
    return problems


def _parameters_of(record: Mapping) -> str:
    keys = ("dataset", "data_source", "epochs", *FIXED_PARAMETERS)
    return ", ".join(f"{key}={record.get(key)}" for key in keys)
