"""A pytest plugin that checks the notebooks' figures against their learning floors, after nbval.

Loaded by ``make test`` (``-p course_tools.floors_plugin``) with ``COURSE_HEADLINES_FILE`` set: it empties
that file at the start (the copies prepare-ci wrote append their figures to it, see ``course_tools.floors``)
and adds one last test, ``learning floors``, that fails when a figure is under its floor or missing. Without
the variable it does nothing. Under pytest-xdist the workers run the notebooks and the controller checks the
floors once every worker has finished, reported as the same ``learning floors`` test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_tools.floors import FLOORS_FILE, HEADLINES_FILE_VARIABLE, check_headlines, read_headlines

_NOTEBOOKS = pytest.StashKey[set]()


def _headlines_file() -> Path | None:
    value = os.environ.get(HEADLINES_FILE_VARIABLE)
    return Path(value).absolute() if value else None


def _problems(headlines: Path, notebooks) -> str | None:
    problems = check_headlines(read_headlines(headlines), notebooks)
    return f"Learning floors failed (figures from {headlines}):\n" + "\n".join(problems) if problems else None


class LearningFloors(pytest.Item):
    def __init__(self, *, notebooks: list[str], headlines: Path, **kwargs):
        super().__init__(**kwargs)
        self.notebooks, self.headlines = notebooks, headlines

    def runtest(self) -> None:
        message = _problems(self.headlines, self.notebooks)
        if message:
            raise pytest.fail.Exception(message, pytrace=False)

    def reportinfo(self):
        return FLOORS_FILE, None, f"learning floors of {len(self.notebooks)} notebook(s)"


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session) -> None:
    headlines = _headlines_file()
    if headlines is not None and not _is_worker(session.config):
        os.environ[HEADLINES_FILE_VARIABLE] = str(headlines)  # absolute, for the kernels
        headlines.parent.mkdir(parents=True, exist_ok=True)
        headlines.write_text("", encoding="utf-8")  # figures of an earlier session must not count


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    headlines = _headlines_file()
    notebooks = sorted({item.path.stem for item in items if item.path.suffix == ".ipynb"})
    if headlines is None or not notebooks or _is_worker(config):
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


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """On the xdist controller: remember which notebooks the workers collected."""
    paths = [nodeid.split("::")[0] for nodeid in ids]
    node.config.stash.setdefault(_NOTEBOOKS, set()).update(
        Path(p).stem for p in paths if p.endswith(".ipynb")
    )


def pytest_sessionfinish(session, exitstatus) -> None:
    """On the xdist controller, after every worker: the ``learning floors`` test, reported like any other."""
    config, headlines = session.config, _headlines_file()
    notebooks = sorted(config.stash.get(_NOTEBOOKS, set()))
    if headlines is None or not notebooks or not config.pluginmanager.hasplugin("dsession"):
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # interrupted or an internal error: the figures are incomplete
    message = _problems(headlines, notebooks)
    report = pytest.TestReport(
        nodeid="learning floors",
        location=(str(FLOORS_FILE), None, f"learning floors of {len(notebooks)} notebook(s)"),
        keywords={},
        outcome="failed" if message else "passed",
        longrepr=message,
        when="call",
    )
    config.hook.pytest_runtest_logreport(report=report)
    if message:
        session.testsfailed += 1
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
