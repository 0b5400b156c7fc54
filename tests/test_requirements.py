"""requirements.txt and environment.yml must pin the same packages at the same versions."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {
    "tensorflow",
    "jupyterlab",
    "matplotlib",
    "nbval",
    "papermill",
    "ipykernel",
    "mlxtend",
    "scikit-learn",
    "pytest",
    "ruff",
}


def pins(lines):
    found = {}
    for line in lines:
        line = line.split("#")[0].strip().removeprefix("- ").strip()
        if "~=" in line:
            name, version = line.split("~=")
            found[name.strip().lower()] = version.strip()
    return found


def test_requirements_pin_every_package_with_compatible_release():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and ln[0] != "#"]
    assert all("~=" in ln for ln in lines), [ln for ln in lines if "~=" not in ln]
    assert REQUIRED <= set(pins(lines))
    assert pins(lines)["tensorflow"].startswith("2.21")


def test_environment_yml_matches_requirements():
    reqs = pins((ROOT / "requirements.txt").read_text().splitlines())
    conda_text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in conda_text and "python=3.11" in conda_text
    assert pins(conda_text.split("pip:", 1)[1].splitlines()) == reqs
