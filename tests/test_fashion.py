"""Fashion-MNIST is a drop-in dataset: the core notebooks run unchanged with ``dataset="fashion_mnist"``."""

import json
from pathlib import Path

import pytest

from course_utils.data import DATASETS
from course_utils.runner import OK, run_course

FASHION_DIR = Path(DATASETS["fashion_mnist"].system_dirs[0])
CORE = ["00", "01", "02", "03", "04", "05"]

pytestmark = pytest.mark.skipif(
    not FASHION_DIR.is_dir(),
    reason=f"no local Fashion-MNIST at {FASHION_DIR}: install the Debian package dataset-fashion-mnist",
)


def test_core_notebooks_run_on_fashion_mnist(tmp_path):
    params = {"epochs": 1, "dataset": "fashion_mnist", "data_source": "offline"}
    results = run_course(output=tmp_path, params=params, only=CORE)

    assert [r.name[:2] for r in results] == CORE
    assert all(r.status == OK for r in results), [(r.name, r.status, r.error) for r in results]
    trained = next(r for r in results if r.name.startswith("04"))
    assert trained.headline is not None and trained.headline["name"] == "test accuracy"
    assert 0.5 < trained.headline["value"] <= 1  # one epoch on 60,000 images: far above chance (0.1)
    # 04 saved a model that knows it was trained on Fashion-MNIST, so 05 loaded the right one.
    metadata = json.loads((tmp_path / "artifacts" / "model.json").read_text())
    assert metadata["dataset"] == "fashion_mnist" and metadata["class_names"][0] == "T-shirt/top"
