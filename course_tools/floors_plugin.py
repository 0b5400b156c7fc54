"""A pytest plugin that checks the notebooks' headline figures against their learning floors, after nbval.

Loaded by ``make test`` (``-p course_utils.floors_plugin``) with ``COURSE_HEADLINES_FILE`` set: it empties
that file, tells each notebook's kernel which notebook it runs (``COURSE_NOTEBOOK``, set before nbval starts
the kernel), and adds one last test, ``learning floors``, that fails when a figure is under its floor or
missing. Without the variable it does nothing.

Under pytest-xdist (``-n 2 --dist loadscope``: each notebook runs whole on one worker) the workers only run
the notebooks, and the floors are checked by the controller once every worker has finished, reported as the
same ``learning floors`` test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_utils.floors import (
    FLOORS_FILE,
    HEADLINES_FILE_VARIABLE,
    NOTEBOOK_VARIABLE,
    check_headlines,
    read_headlines,
)


def _headlines_file() -> Path | None:
    value = os.environ.get(HEADLINES_FILE_VARIABLE)
    return Path(value).absolute() if value else None


class FloorsFailed(Exception):
    """Figures under their floors or missing; the message lists each."""


class LearningFloors(pytest.Item):
    """Checks the figures that the notebooks run in this session recorded."""

    def __init__(self, *, notebooks: list[str], headlines: Path, **kwargs):
        super().__init__(**kwargs)
        self.notebooks = notebooks
        self.headlines = headlines

    def runtest(self) -> None:
        problems = check_headlines(read_headlines(self.headlines), self.notebooks)
        if problems:
            raise FloorsFailed("\n".join(problems))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, FloorsFailed):
            return f"Learning floors failed (figures from {self.headlines}):\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return FLOORS_FILE, None, f"learning floors of {len(self.notebooks)} notebook(s)"


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _is_xdist_controller(config) -> bool:
    return config.pluginmanager.hasplugin("dsession")


def _notebook_stems(nodeids) -> set[str]:
    return {
        Path(nodeid.split("::")[0]).stem for nodeid in nodeids if nodeid.split("::")[0].endswith(".ipynb")
    }


def pytest_sessionstart(session) -> None:
    headlines = _headlines_file()
    if headlines is not None and not _is_xdist_worker(session.config):
        # Absolute, for the kernels: nbval starts each one in its notebook's folder.
        os.environ[HEADLINES_FILE_VARIABLE] = str(headlines)
        # Figures from an earlier session must not stand in for missing ones.
        headlines.parent.mkdir(parents=True, exist_ok=True)
        headlines.write_text("", encoding="utf-8")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    headlines = _headlines_file()
    notebooks = sorted({item.path.stem for item in items if item.path.suffix == ".ipynb"})
    if headlines is None or not notebooks or _is_xdist_worker(config):
        return
    items.append(
        LearningFloors.from_parent(
            session,
            name="learning floors",
            nodeid="learning floors",
            notebooks=notebooks,
            headlines=headlines,
        )
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    if _headlines_file() is not None and item.path.suffix == ".ipynb":
        os.environ[NOTEBOOK_VARIABLE] = item.path.stem  # inherited by the kernel nbval starts next


_COLLECTED_NOTEBOOKS = pytest.StashKey[set]()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """On the xdist controller: remember which notebooks the workers collected."""
    node.config.stash.setdefault(_COLLECTED_NOTEBOOKS, set()).update(_notebook_stems(ids))


def pytest_sessionfinish(session, exitstatus) -> None:
    """On the xdist controller, after every worker: the ``learning floors`` test, reported like any other."""
    config = session.config
    headlines = _headlines_file()
    notebooks = sorted(config.stash.get(_COLLECTED_NOTEBOOKS, set()))
    if headlines is None or not notebooks or not _is_xdist_controller(config):
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # interrupted or an internal error: the figures are incomplete
    problems = check_headlines(read_headlines(headlines), notebooks)
    longrepr = None
    if problems:
        longrepr = f"Learning floors failed (figures from {headlines}):\n" + "\n".join(problems)
    report = pytest.TestReport(
        nodeid="learning floors",
        location=(str(FLOORS_FILE), None, f"learning floors of {len(notebooks)} notebook(s)"),
        keywords={},
        outcome="failed" if problems else "passed",
        longrepr=longrepr,
        when="call",
    )
    config.hook.pytest_runtest_logreport(report=report)
    if problems:
        session.testsfailed += 1
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
