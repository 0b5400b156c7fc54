"""A notebook's key figure (its headline), recorded for the runner's index, CI's floors and the reader.

Lesson notebooks import ``record_headline`` from here, not from the instructors' runner: this module needs
only the data description and the floors table, and imports no TensorFlow.
"""

from __future__ import annotations

import os

from course_utils import floors
from course_utils.data import Dataset, describe_test_data

HEADLINE_MIME = "application/x-course-headline+json"


def record_headline(name: str, value, data=None, params=None) -> None:
    """Record a notebook's key figure, and the data it was measured on, for the runner's index and CI.

    ``data`` is the ``Dataset`` whose test set gave the figure, or words naming other data; ``params`` the
    notebook's checked parameters. Prints the figure with its data; under IPython it also publishes an
    invisible display output of type ``HEADLINE_MIME``, which the runner reads back from the executed
    notebook. When ``COURSE_HEADLINES_FILE`` is set (``make test``), the figure, its notebook and parameters
    are appended to that file for the learning floors check (``course_utils.floors``).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"headline name must be a non-empty string, got {name!r}")
    if hasattr(value, "item"):  # a NumPy or TensorFlow scalar: make it a plain, JSON-safe Python number
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"headline value must be a number or a string, got {type(value).__name__}")
    if data is None or isinstance(data, str):
        on, dataset = data, getattr(params, "dataset", None)
    elif isinstance(data, Dataset):
        on, dataset = describe_test_data(data), data.name
    else:
        raise TypeError(f"headline data must be a Dataset or a string, got {type(data).__name__}")
    record = floors.headline_record(
        name, value, on, dataset, params, notebook=os.environ.get(floors.NOTEBOOK_VARIABLE) or None
    )
    headlines_file = os.environ.get(floors.HEADLINES_FILE_VARIABLE)
    if headlines_file:
        floors.append_headline(record, headlines_file)
    print(f"{name}: {format_headline(value)}" + (f" on {on}" if on else ""))
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:  # plain Python: IPython's display() would print the dict
        return
    display({HEADLINE_MIME: record}, raw=True)


def format_headline(value) -> str:
    """A headline value as shown on the index: fractions (-1 to 1) as percentages with 2 decimals."""
    return floors.format_value(value)
