"""Learners install what they use: the test and lint tools are only in requirements-dev.txt."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = {"pytest", "pytest-xdist", "nbval", "playwright", "ruff", "import-linter"}


def _names(path: Path) -> set[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {line.split("~=")[0].strip().lower() for line in lines if line and not line.startswith("-")}


def test_the_learners_set_holds_no_test_tools_and_the_others_read_it():
    assert _names(ROOT / "requirements.txt") & DEV_TOOLS == set()
    assert DEV_TOOLS <= _names(ROOT / "requirements-dev.txt")
    assert (ROOT / "requirements-dev.txt").read_text().count("-r requirements.txt") == 1
    assert "- -r requirements.txt" in (ROOT / "environment.yml").read_text()
