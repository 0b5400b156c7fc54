"""`pip install .` (not editable) works: both packages and their data are in the wheel, and the installed
packages find their catalog, templates and floors without the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_both_packages_and_their_data_and_works_installed(tmp_path):
    source = tmp_path / "source"  # a clean copy: no earlier build/ folder can slip stale files in
    for name in ("course_utils", "course_tools"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)], check=True
    )
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "course_utils/__init__.py",
        "course_utils/locale/zh_CN/LC_MESSAGES/course_utils.po",
        "course_utils/fashion_mnist_sample/fashion-mnist-sample.npz",
        "course_utils/sample_digits/digit_0_dark-on-light.png",
        "course_tools/__main__.py",
        "course_tools/runner.py",
        "course_tools/floors.csv",
        "course_tools/templates/index.html.j2",
        "course_tools/site.py",
        "course_tools/site_files/en/run.md",
        "course_tools/site_files/templates/lang-switch.html",
        "course_tools/jupyter_config/jupyter_server_config.py",
    ):
        assert expected in names, expected

    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    code = (
        "import course_utils, course_tools.runner as r\n"
        "from course_tools.floors import read_floors\n"
        "assert str(r.__file__).startswith(sys.argv[1]), r.__file__\n"
        "print(course_utils.set_language('zh_CN'), len(read_floors()) > 0)\n"
        "summary = {'language': 'zh_CN', 'parameters': {'epochs': 1}, 'lesson_epochs': 10, 'status': 'ok',\n"
        "           'date': 'today', 'notebooks_dir': 'x', 'notebooks': []}\n"
        "print('<h1>课程运行报告</h1>' in r.render_index(summary))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code, str(site)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["zh_CN", "True", "True"]
