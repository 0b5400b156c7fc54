"""The trained model's files: a killed save loses nothing, a user's files stay, two savers never mix, and
load_or_train loads what 04 saved or trains the same way. Real training on a slice of the offline sample."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import course_utils.training as training
from course_utils.data import load_dataset
from course_utils.params import check_params
from course_utils.training import (
    METADATA_FILE,
    MODEL_FILE,
    ArtifactError,
    load_or_train,
    load_trained_model,
    save_trained_model,
    saved_models,
    train_model,
)


@pytest.fixture(scope="module")
def small_data():
    """300 training and 100 test images of the real offline sample: an epoch takes a fraction of a second."""
    full = load_dataset("mnist", "sample")
    return dataclasses.replace(
        full,
        x_train=full.x_train[:300],
        y_train=full.y_train[:300],
        x_test=full.x_test[:100],
        y_test=full.y_test[:100],
    )


def course_params(folder, **values):
    return check_params(
        **{"epochs": 1, "batch_size": 64, "data_source": "sample", "artifacts_dir": str(folder), **values}
    )


@pytest.fixture(scope="module")
def trained(small_data, tmp_path_factory):
    return train_model(course_params(tmp_path_factory.mktemp("unused")), small_data)


def first_weights(model):
    return model.get_weights()[0]


def test_a_saved_model_loads_back_with_its_metadata(tmp_path, small_data, trained):
    params = course_params(tmp_path)
    path = save_trained_model(trained.model, trained.history, params, small_data, 0.5)
    metadata = json.loads((path.parent / METADATA_FILE).read_text())
    assert metadata["dataset"] == "mnist" and metadata["data_origin"] == "sample"
    assert metadata["parameters"] == {"epochs": 1, "batch_size": 64, "seed": 42, "learning_rate": 0.001}
    assert metadata["test_accuracy"] == 0.5 and metadata["epochs_trained"] == 1

    loaded = load_trained_model(params)
    assert loaded.history == trained.history and loaded.metadata["path"] == str(path)
    np.testing.assert_array_equal(first_weights(loaded.model), first_weights(trained.model))


class Killed(BaseException):
    """What a kill does to a save: it stops at once (no ``except Exception`` catches it)."""


@pytest.mark.parametrize("at", ["model.save", "os.replace"])
def test_a_save_killed_part_way_leaves_the_previous_model_current(
    tmp_path, small_data, trained, monkeypatch, at
):
    params = course_params(tmp_path)
    save_trained_model(trained.model, trained.history, params, small_data, 0.5)
    other = train_model(course_params(tmp_path, seed=7), small_data)

    def kill(*args, **kwargs):
        if at == "model.save":  # half a model file written, then killed
            args[0].write_bytes(b"PK\x03\x04 half a model")
        raise Killed

    if at == "model.save":
        monkeypatch.setattr(other.model, "save", lambda path, *a, **k: kill(path))
    else:
        monkeypatch.setattr(training.os, "replace", kill)
    with pytest.raises(Killed):
        save_trained_model(other.model, other.history, params, small_data, 0.9)
    monkeypatch.undo()

    # A kill leaves at most a hidden temporary folder (here it was removed); what loads is the old model.
    (tmp_path / ".saving-killed").mkdir(exist_ok=True)
    (tmp_path / ".saving-killed" / MODEL_FILE).write_bytes(b"PK half")
    loaded = load_trained_model(params)
    assert loaded.metadata["test_accuracy"] == 0.5
    np.testing.assert_array_equal(first_weights(loaded.model), first_weights(trained.model))


def test_saving_keeps_the_users_files_and_only_the_newest_saves(tmp_path, small_data, trained):
    params = course_params(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes")
    for name in ("backup", "model-mine", "model-20240101-000000-000000-old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keep.txt").write_text("mine")
    fashion = dataclasses.replace(small_data, name="fashion_mnist")
    kept = save_trained_model(trained.model, trained.history, params, fashion, 0.8)  # another dataset's model
    paths = [
        save_trained_model(trained.model, trained.history, params, small_data, a)
        for a in (0.1, 0.2, 0.3, 0.4)
    ]

    assert (tmp_path / "notes.txt").read_text() == "my notes"
    for name in ("backup", "model-mine", "model-20240101-000000-000000-old"):
        assert (tmp_path / name / "keep.txt").read_text() == "mine"
    assert saved_models(tmp_path, "mnist") == [p.parent for p in reversed(paths[1:])]
    assert saved_models(tmp_path, "fashion_mnist") == [kept.parent]  # only the same dataset's older saves go
    assert load_trained_model(params).metadata["test_accuracy"] == 0.4


def test_two_savers_at_once_each_get_a_whole_folder(tmp_path, small_data, trained):
    params = course_params(tmp_path)
    start = threading.Barrier(2)
    errors = []

    def save(accuracy):
        start.wait()
        try:
            save_trained_model(trained.model, trained.history, params, small_data, accuracy)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(a,)) for a in (0.6, 0.7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    folders = saved_models(tmp_path)
    accuracies = {json.loads((f / METADATA_FILE).read_text())["test_accuracy"] for f in folders}
    assert accuracies == {0.6, 0.7} and all(
        sorted(os.listdir(f)) == sorted(["history.json", "model.json", MODEL_FILE]) for f in folders
    )


def test_a_corrupt_model_file_is_named_with_the_fix(tmp_path, small_data, trained):
    params = course_params(tmp_path)
    path = save_trained_model(trained.model, trained.history, params, small_data, 0.5)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(ArtifactError, match=r"model\.keras could not be loaded .*re-run 04_compile_fit"):
        load_trained_model(params)


def test_load_or_train_trains_once_then_loads_and_never_uses_another_datasets_model(
    tmp_path, small_data, capsys
):
    params = course_params(tmp_path)
    first = load_or_train(params, small_data)
    assert "No saved mnist model in" in capsys.readouterr().out
    again = load_or_train(params, small_data)
    assert "Loaded the model trained by 04" in capsys.readouterr().out
    np.testing.assert_array_equal(first_weights(again.model), first_weights(first.model))

    fashion = course_params(tmp_path, dataset="fashion_mnist")
    assert load_trained_model(fashion) is None  # an MNIST model would give nonsense on clothes


def test_the_same_parameters_give_the_same_numbers(tmp_path, small_data):
    params = course_params(tmp_path)
    first, second = train_model(params, small_data), train_model(params, small_data)
    assert first.history == second.history


SAVER = """
import sys
import numpy as np
import course_utils
course_utils.quiet_tensorflow_logs()
from course_utils.data import DATASETS, Dataset
from course_utils.models import build_cnn
from course_utils.params import check_params
from course_utils.training import save_trained_model

params = check_params(artifacts_dir=sys.argv[1])
empty = np.zeros((1, 28, 28, 1), "float32")
labels = np.zeros(1, "int64")
data = Dataset(empty, labels, empty, labels, "none", DATASETS["mnist"].class_names)
model = build_cnn()
print("saving", flush=True)
for i in range(10_000):
    save_trained_model(model, {"loss": [float(i)]}, params, data, i / 10_000)
"""


def test_a_process_killed_while_saving_again_and_again_leaves_whole_models(tmp_path):
    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert saver.stdout.readline() == "saving\n"
        time.sleep(3)  # several saves done, one under way
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait()
    folders = saved_models(tmp_path)
    assert folders, "no save finished in 3 s"
    for folder in folders:  # every folder that loading may pick is a whole set
        assert sorted(os.listdir(folder)) == sorted(["history.json", "model.json", MODEL_FILE])
    loaded = load_trained_model(course_params(tmp_path))  # the newest: its history and metadata match
    assert loaded.history["loss"] == [round(loaded.metadata["test_accuracy"] * 10_000)]
