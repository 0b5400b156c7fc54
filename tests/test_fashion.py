"""Fashion-MNIST is a drop-in dataset: the core notebooks run unchanged with ``dataset="fashion_mnist"``, on
the sample the course ships when no full copy is there; and the tool that makes that sample."""

import dataclasses
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from idx_files import write_idx

from course_tools.runner import OK, run_course
from course_utils import data
from course_utils.data import DATASETS, IDX_FILES
from course_utils.sources import ChecksumError
from course_utils.training import saved_models

CORE = ["00", "01", "02", "03", "04", "05"]
TOOL = Path(__file__).resolve().parents[1] / "tools" / "make_fashion_sample.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("make_fashion_sample", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_core_notebooks_run_on_fashion_mnist(tmp_path):
    params = {"epochs": 1, "dataset": "fashion_mnist", "data_source": "offline"}
    results = run_course(output=tmp_path, params=params, only=CORE)

    assert [r.name[:2] for r in results] == CORE
    assert all(r.status == OK for r in results), [(r.name, r.status, r.error) for r in results]
    trained = next(r for r in results if r.name.startswith("04"))
    [figure] = trained.figures
    assert figure["name"] == "test accuracy" and figure["dataset"] == "fashion_mnist"
    assert 0.5 < figure["value"] <= 1  # one epoch, even on the 4,000-image sample: far above 0.1
    # 04 saved a model that knows it was trained on Fashion-MNIST, so 05 loaded the right one.
    [saved] = saved_models(tmp_path / "artifacts")
    metadata = json.loads((saved / "model.json").read_text())
    assert metadata["dataset"] == "fashion_mnist" and metadata["class_names"][0] == "T-shirt/top"


def fake_published_files(folder, monkeypatch, per_class_train=450, per_class_test=120):
    """Four IDX files shaped like Fashion-MNIST's (more than enough of each class), trusted as published."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    y_train = rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), per_class_train))
    y_test = rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), per_class_test))
    # each image carries its own index in its first two pixels, so the test can tell which were picked
    x_train = np.zeros((len(y_train), 28, 28), np.uint8)
    x_train[:, 0, 0], x_train[:, 0, 1] = np.divmod(np.arange(len(y_train)), 256)
    x_test = np.full((len(y_test), 28, 28), 255, np.uint8)
    for name, array in zip(IDX_FILES, (x_train, y_train, x_test, y_test), strict=True):
        write_idx(folder / name, array)
    checksums = {name: (hashlib.sha256((folder / name).read_bytes()).hexdigest(),) for name in IDX_FILES}
    spec = dataclasses.replace(DATASETS["fashion_mnist"], checksums=checksums)
    monkeypatch.setitem(DATASETS, "fashion_mnist", spec)
    return x_train, y_train


def test_the_sample_tool_picks_400_and_100_of_each_class_and_gives_the_same_bytes_each_run(
    tmp_path, monkeypatch
):
    tool = load_tool()
    x_train, y_train = fake_published_files(tmp_path / "published", monkeypatch)
    first = tool.make_sample(tmp_path / "published", tmp_path / "a.npz")
    second = tool.make_sample(tmp_path / "published", tmp_path / "b.npz")
    assert first.read_bytes() == second.read_bytes()
    with np.load(first, allow_pickle=False) as sample:
        assert np.bincount(sample["y_train"]).tolist() == [400] * 10
        assert np.bincount(sample["y_test"]).tolist() == [100] * 10
        assert sample["x_train"].dtype == np.uint8 and sample["x_test"].shape == (1000, 28, 28)
        # real images, unchanged, each with its own label, none twice
        picked = sample["x_train"][:, 0, 0].astype(int) * 256 + sample["x_train"][:, 0, 1]
        assert len(set(picked.tolist())) == 4000
        np.testing.assert_array_equal(y_train[picked], sample["y_train"])
        np.testing.assert_array_equal(x_train[picked], sample["x_train"])


def test_the_sample_tool_refuses_files_that_are_not_the_published_ones(tmp_path, monkeypatch):
    tool = load_tool()
    fake_published_files(tmp_path / "published", monkeypatch)
    write_idx(tmp_path / "published" / IDX_FILES[1], np.zeros(4500, np.uint8))  # changed after "publishing"
    with pytest.raises(ChecksumError, match=IDX_FILES[1]):
        tool.make_sample(tmp_path / "published", tmp_path / "sample.npz")
    assert not (tmp_path / "sample.npz").exists()


def published_folder():
    folder = os.environ.get("FASHION_MNIST_DATA_DIR")
    if folder and all((Path(folder) / name).is_file() for name in IDX_FILES):
        return Path(folder)
    return None


@pytest.mark.skipif(
    published_folder() is None,
    reason="the published Fashion-MNIST files are not here ($FASHION_MNIST_DATA_DIR)",
)
def test_the_sample_tool_remakes_the_shipped_file_from_the_published_one(tmp_path):
    remade = load_tool().make_sample(published_folder(), tmp_path / "sample.npz")
    assert hashlib.sha256(remade.read_bytes()).hexdigest() == data.FASHION_SAMPLE_SHA256
