"""Training that survives interruption (a real kill included), safe artifacts, clear errors for bad ones."""

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import course_utils.training as training
from course_utils.data import load_dataset
from course_utils.models import build_cnn, compile_cnn
from course_utils.params import check_params
from course_utils.training import (
    EPOCHS_FILE,
    HISTORY_FILE,
    LOCK_FILE,
    METADATA_FILE,
    MODEL_FILE,
    RUN_FILE,
    SAVED_SET,
    ArtifactError,
    ReleaseArtifactsLock,
    ResumeGuard,
    backup_dir,
    best_model_path,
    load_or_train,
    load_trained_model,
    save_trained_model,
    train_model,
    training_callbacks,
)

# Keras 3.15 saving TensorFlow variables trips NumPy 2's __array__(copy=...) deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy:DeprecationWarning"
)

WORKER = Path(__file__).with_name("resume_worker.py")
METRICS = {"loss", "accuracy", "val_loss", "val_accuracy"}


class Interrupted(Exception):
    """Stands for the learner pressing stop, or the kernel dying, during an epoch."""


class InterruptAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupted(f"stopped during epoch {epoch + 1}")


class EpochsRun(keras.callbacks.Callback):
    """Records the (0-based) epochs a fit actually runs."""

    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


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


def course_params(tmp_path, **values):
    return check_params(
        **{"epochs": 5, "batch_size": 64, "data_source": "sample", "artifacts_dir": str(tmp_path), **values}
    )


def fit(model, params, data, *extra):
    """Notebook 04's fit, with ``training_callbacks(params)``: the History and the epochs it ran."""
    run = EpochsRun()
    history = model.fit(
        data.x_train,
        data.y_train,
        epochs=params.epochs,
        batch_size=params.batch_size,
        validation_data=(data.x_test, data.y_test),
        callbacks=[*training_callbacks(params), run, *extra],
        verbose=0,
    )
    return history, run.epochs


def new_model(params):
    return compile_cnn(build_cnn(), learning_rate=params.learning_rate)


def interrupted_run(params, data, at_epoch):
    """A fit stopped during epoch ``at_epoch + 1``, so ``at_epoch`` epochs are done and backed up.

    Returns the model, to re-run ``fit`` with as a learner re-runs the cell (and fast: no new tracing).
    """
    model = new_model(params)
    with pytest.raises(Interrupted):
        fit(model, params, data, InterruptAt(at_epoch))
    return model


# --- resuming --------------------------------------------------------------------------------------------


def test_training_callbacks_back_up_each_epoch_and_keep_the_best_model(tmp_path):
    params = course_params(tmp_path)
    guard, backup, best, board, release = training_callbacks(params)
    assert isinstance(guard, ResumeGuard) and guard.folder == backup_dir(params) == tmp_path / "backup"
    assert isinstance(backup, keras.callbacks.BackupAndRestore) and backup.save_freq == "epoch"
    assert backup.backup_dir == str(tmp_path / "backup")
    assert isinstance(best, keras.callbacks.ModelCheckpoint) and best.filepath == str(tmp_path / "best.keras")
    assert (best.monitor, best.mode, best.save_best_only) == ("val_accuracy", "max", True)
    assert isinstance(board, keras.callbacks.TensorBoard)
    assert isinstance(release, ReleaseArtifactsLock)  # last: the lock goes after the backup is removed
    # Per-epoch work only: nothing of ours runs after every batch.
    assert all(
        getattr(ResumeGuard, hook) is getattr(keras.callbacks.Callback, hook)
        for hook in ("on_train_batch_begin", "on_train_batch_end")
    )


def test_rerunning_an_interrupted_fit_resumes_and_returns_every_epoch(tmp_path, small_data, capsys):
    params = course_params(tmp_path)
    model = new_model(params)
    with pytest.raises(Interrupted):
        fit(model, params, small_data, InterruptAt(3))
    earlier = json.loads((backup_dir(params) / EPOCHS_FILE).read_text())
    assert len(earlier) == 3 and set(earlier[0]) == METRICS

    history, epochs_run = fit(model, params, small_data)  # the learner re-runs the same cell

    out = capsys.readouterr().out
    assert out.count("Resuming") == 1
    assert f"Resuming from the backup in {backup_dir(params)}: epoch 3 of 5 done." in out
    assert epochs_run == [3, 4]
    assert history.epoch == [0, 1, 2, 3, 4]
    assert set(history.history) == METRICS and all(len(v) == 5 for v in history.history.values())
    assert history.history["loss"][:3] == [e["loss"] for e in earlier]
    assert not backup_dir(params).exists()  # BackupAndRestore deletes it when training ends
    assert keras.saving.load_model(best_model_path(params)).count_params() == model.count_params()

    history, epochs_run = fit(model, params, small_data)  # a later fit of the same model starts at epoch 1
    assert epochs_run == [0, 1, 2, 3, 4] and len(history.history["loss"]) == 5
    assert "Resuming" not in capsys.readouterr().out


def test_a_fresh_model_resumes_from_the_backups_weights(tmp_path, small_data):
    params = course_params(tmp_path, epochs=3)
    interrupted_run(params, small_data, at_epoch=2)
    backup = new_model(params)
    backup.optimizer.build(backup.trainable_variables)
    backup.load_weights(backup_dir(params) / "latest.weights.h5")
    model = new_model(params)  # the kernel died: everything is built again
    fresh = model.get_weights()
    at_start = {}

    class WeightsAtEpochStart(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            at_start[epoch] = self.model.get_weights()

    _, epochs_run = fit(model, params, small_data, WeightsAtEpochStart())

    assert epochs_run == [2]
    assert not np.allclose(fresh[0], backup.get_weights()[0])
    for restored, backed_up in zip(at_start[2], backup.get_weights(), strict=True):
        np.testing.assert_array_equal(restored, backed_up)


def test_the_best_model_is_not_overwritten_by_a_worse_epoch_after_resuming(tmp_path, small_data):
    params = course_params(tmp_path, epochs=3)
    model = interrupted_run(params, small_data, at_epoch=2)
    # Pretend the interrupted run had reached a validation accuracy no later epoch can beat.
    log = backup_dir(params) / EPOCHS_FILE
    epochs = json.loads(log.read_text())
    epochs[0]["val_accuracy"] = 1.0
    log.write_text(json.dumps(epochs))
    best = best_model_path(params)
    before = best.read_bytes()

    history, epochs_run = fit(model, params, small_data)

    assert epochs_run == [2] and history.history["val_accuracy"][0] == 1.0
    assert best.read_bytes() == before


@pytest.mark.parametrize(
    ("change", "said"), [({"epochs": 4}, "epochs 5 → 4"), ({"batch_size": 100}, "batch_size 64 → 100")]
)
def test_a_backup_of_other_parameters_is_set_aside_not_resumed(tmp_path, small_data, capsys, change, said):
    params = course_params(tmp_path)
    model = interrupted_run(params, small_data, at_epoch=2)
    changed = dataclasses.replace(params, **change)

    history, epochs_run = fit(model, changed, small_data)

    out = capsys.readouterr().out
    assert f"Not resuming the backup in {backup_dir(params)}: the parameters changed (" in out
    assert said in out and "Training from epoch 1" in out and "Resuming" not in out
    assert epochs_run == list(range(changed.epochs)) and len(history.history["loss"]) == changed.epochs
    aside = tmp_path / "backup-abandoned-1"
    assert f"(old one: {aside})" in out
    assert len(json.loads((aside / EPOCHS_FILE).read_text())) == 2  # kept, not deleted
    assert json.loads((aside / RUN_FILE).read_text())["epochs"] == 5


def test_a_backup_cut_short_by_a_kill_falls_back_to_the_one_before(tmp_path, small_data, capsys):
    params = course_params(tmp_path)
    model = interrupted_run(params, small_data, at_epoch=3)
    weights = backup_dir(params) / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # killed while writing epoch 3

    history, epochs_run = fit(model, params, small_data)

    out = capsys.readouterr().out
    assert "epoch 2 of 5 done (the latest backup was cut short; using the one before it)." in out
    assert epochs_run == [2, 3, 4] and len(history.history["loss"]) == 5


def test_an_unreadable_backup_is_set_aside_and_training_starts_afresh(tmp_path, small_data, capsys):
    params = course_params(tmp_path, epochs=3)
    model = interrupted_run(params, small_data, at_epoch=2)
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        (backup_dir(params) / name).write_text('{"epo')

    history, epochs_run = fit(model, params, small_data)

    assert "its files are unreadable" in capsys.readouterr().out
    assert epochs_run == [0, 1, 2] and len(history.history["loss"]) == 3


@pytest.mark.slow
def test_a_killed_training_process_finishes_only_the_remaining_epochs_when_rerun(tmp_path, small_data):
    arrays = {name: getattr(small_data, name) for name in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(tmp_path / "data.npz", **arrays)
    command = [sys.executable, "-u", str(WORKER), str(tmp_path / "data.npz"), str(tmp_path), "6"]
    progress = tmp_path / "backup" / "training_metadata.json"
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240  # TensorFlow alone takes 30 s to import on a loaded 2-core host
            while epochs_backed_up(progress) < 2:
                assert first.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "the worker did not finish 2 epochs in time"
                time.sleep(0.05)
            os.kill(first.pid, signal.SIGKILL)
        finally:
            first.kill()
            first.wait()
    assert first.returncode == -signal.SIGKILL
    assert not (tmp_path / MODEL_FILE).exists()
    assert (tmp_path / LOCK_FILE).exists()  # the killed run's lock file is left behind; it must not block

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    resumed = re.search(r"Resuming from the backup in .*backup: epoch (\d) of 6 done", rerun.stdout)
    assert resumed, rerun.stdout
    done = int(resumed[1])
    assert 2 <= done < 6
    assert [int(k) for k in re.findall(r"RAN EPOCH (\d)", rerun.stdout)] == list(range(done + 1, 7))
    history = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert set(history) == METRICS and all(len(values) == 6 for values in history.values())
    assert json.loads((tmp_path / METADATA_FILE).read_text())["epochs_trained"] == 6
    assert not (tmp_path / "backup").exists()


def epochs_backed_up(metadata: Path) -> int:
    try:
        return json.loads(metadata.read_text())["epoch"]
    except (OSError, ValueError, KeyError):  # not there yet, or caught mid-write
        return 0


def test_train_model_builds_and_compiles_inside_the_strategy_scope(tmp_path, small_data):
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    params = course_params(tmp_path, epochs=1)
    trained = train_model(params, small_data, strategy=strategy)
    assert trained.model.distribute_strategy is strategy
    assert len(trained.history["loss"]) == 1 and trained.metadata["dataset"] == "mnist"


# --- saved artifacts -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory, small_data):
    """A folder holding a model trained for one epoch and saved by ``save_trained_model``."""
    folder = tmp_path_factory.mktemp("saved")
    params = course_params(folder, epochs=1)
    trained = train_model(params, small_data)
    save_trained_model(trained.model, trained.history, params, small_data, 0.5)
    return folder


@pytest.fixture
def saved(tmp_path, saved_folder):
    """A copy of ``saved_folder`` this test may damage, and the parameters that load it."""
    folder = tmp_path / "artifacts"
    shutil.copytree(saved_folder, folder)
    return folder, course_params(folder, epochs=1)


def test_a_model_saved_before_the_key_was_renamed_loads_with_its_data_origin(saved):
    folder, params = saved
    metadata = json.loads((folder / METADATA_FILE).read_text())
    old_style = {("data_source" if key == "data_origin" else key): value for key, value in metadata.items()}
    (folder / METADATA_FILE).write_text(json.dumps(old_style, indent=1))  # as course_utils wrote it before

    trained = load_trained_model(params)
    assert trained.metadata["data_origin"] == "sample" and "data_source" not in trained.metadata
    assert trained.metadata["dataset"] == "mnist" and trained.metadata["sha256"] == metadata["sha256"]


def test_a_saved_model_carries_its_metadata_and_loads_back(saved, small_data):
    folder, params = saved
    assert sorted(p.name for p in folder.iterdir() if not p.is_dir()) == sorted(
        ["best.keras", HISTORY_FILE, METADATA_FILE, MODEL_FILE]
    )
    metadata = json.loads((folder / METADATA_FILE).read_text())
    assert metadata["dataset"] == "mnist" and metadata["data_origin"] == "sample"
    assert "data_source" not in metadata  # the parameter of that name is the mode asked for (run.json)
    assert metadata["parameters"] == {"epochs": 1, "batch_size": 64, "seed": 42, "learning_rate": 0.001}
    assert metadata["test_accuracy"] == 0.5 and metadata["epochs_trained"] == 1
    assert {"python", "keras", "tensorflow", "numpy", "course_utils"} <= set(metadata["versions"])
    assert metadata["class_names"] == [str(d) for d in range(10)]

    trained = load_trained_model(params)
    assert trained.metadata == metadata and set(trained.history) == METRICS
    assert trained.model.predict(small_data.x_test[:2], verbose=0).shape == (2, 10)


def test_a_crash_while_saving_leaves_the_previous_model_usable(saved, small_data, monkeypatch):
    folder, params = saved
    before = load_trained_model(params)
    model = before.model

    def crash(path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a model")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_trained_model(model, {"loss": [9.0]}, params, small_data, 0.99)

    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary left
    after = load_trained_model(params)
    assert after.metadata["test_accuracy"] == 0.5 and after.history == before.history
    np.testing.assert_array_equal(after.model.get_weights()[0], before.model.get_weights()[0])


def test_a_truncated_model_file_is_named_with_the_fix(saved):
    folder, params = saved
    path = folder / MODEL_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(ArtifactError, match=r"model\.keras could not be loaded .*re-run 04_compile_fit"):
        load_trained_model(params)


def test_a_model_file_of_garbage_bytes_is_named_with_the_fix(saved):
    folder, params = saved
    (folder / MODEL_FILE).write_bytes(os.urandom(2048))
    with pytest.raises(ArtifactError, match=re.escape(str(folder / MODEL_FILE)) + ".*corrupt"):
        load_trained_model(params)


def test_a_model_trained_on_another_dataset_is_refused(saved):
    folder, _ = saved
    params = course_params(folder, epochs=1, dataset="fashion_mnist", data_source="offline")
    with pytest.raises(ArtifactError, match="trained on 'mnist', but dataset is 'fashion_mnist'"):
        load_trained_model(params)


def test_a_model_without_its_metadata_is_refused(saved):
    folder, params = saved
    (folder / METADATA_FILE).unlink()
    with pytest.raises(ArtifactError, match=r"has no model\.json beside it.*re-run 04_compile_fit"):
        load_trained_model(params)


@pytest.mark.parametrize("content", ['{"loss": [0.5, 0.4', '["loss"]'])
def test_a_corrupt_history_file_is_named_with_the_fix(saved, content):
    folder, params = saved
    (folder / HISTORY_FILE).write_text(content)
    with pytest.raises(ArtifactError, match=r"history\.json is not .*re-run 04_compile_fit"):
        load_trained_model(params)


def test_load_or_train_trains_and_saves_once_then_loads(tmp_path, small_data, capsys):
    params = course_params(tmp_path, epochs=1)
    trained = load_or_train(params, small_data)
    assert "No saved model in" in capsys.readouterr().out
    assert trained.metadata["epochs_trained"] == 1 and (tmp_path / MODEL_FILE).exists()

    again = load_or_train(params, small_data)
    assert "Loaded the model trained by 04" in capsys.readouterr().out
    np.testing.assert_array_equal(again.model.get_weights()[0], trained.model.get_weights()[0])


def test_training_callbacks_have_no_per_batch_hooks(tmp_path):
    """Per-batch hooks run Python after every batch (TensorBoard even logs each one): about 5% slower."""
    base = keras.callbacks.Callback
    for callback in training_callbacks(check_params(artifacts_dir=str(tmp_path))):
        for hook in ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end"):
            assert getattr(type(callback), hook) is getattr(base, hook), (type(callback).__name__, hook)


def test_the_same_parameters_give_the_same_numbers(tmp_path, small_data):
    runs = []
    for name in ("first", "second"):
        params = check_params(epochs=2, batch_size=32, seed=7, artifacts_dir=str(tmp_path / name))
        runs.append(train_model(params, small_data))
    assert runs[0].history == runs[1].history
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = train_model(check_params(epochs=2, seed=8, artifacts_dir=str(tmp_path / "other")), small_data)
    assert other.history != runs[0].history


# --- folders the course did not write; two runs at once -----------------------------------------------


def test_a_backup_folder_the_course_did_not_write_is_left_alone(tmp_path, small_data):
    params = course_params(tmp_path, epochs=1)
    theirs = tmp_path / "backup"
    theirs.mkdir()
    (theirs / "important.txt").write_text("my notes")
    (theirs / "latest.weights.h5").write_bytes(b"not the course's")

    with pytest.raises(ArtifactError) as info:
        fit(new_model(params), params, small_data)

    message = str(info.value)
    assert str(theirs) in message and "not made by course_utils" in message and "Rename" in message
    assert sorted(p.name for p in theirs.iterdir()) == ["important.txt", "latest.weights.h5"]
    assert (theirs / "important.txt").read_text() == "my notes"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("backup-")]  # nothing set aside either

    for path in theirs.iterdir():  # an empty folder holds nothing to lose: training uses it
        path.unlink()
    _, epochs_run = fit(new_model(params), params, small_data)
    assert epochs_run == [0]


def test_set_aside_backups_never_replace_one_another(tmp_path, small_data, capsys):
    theirs = tmp_path / "backup-abandoned"  # a folder of the user's, with the old unnumbered name
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    five, four = course_params(tmp_path), course_params(tmp_path, epochs=4)
    interrupted_run(five, small_data, at_epoch=2)
    interrupted_run(four, small_data, at_epoch=2)  # sets the epochs=5 backup aside
    interrupted_run(five, small_data, at_epoch=2)  # sets the epochs=4 backup aside

    out = capsys.readouterr().out
    first, second = tmp_path / "backup-abandoned-1", tmp_path / "backup-abandoned-2"
    assert f"(old one: {first})" in out and f"(old one: {second})" in out
    assert json.loads((first / RUN_FILE).read_text())["epochs"] == 5
    assert json.loads((second / RUN_FILE).read_text())["epochs"] == 4
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_a_second_run_on_the_same_artifacts_dir_is_refused_at_once_naming_the_process(tmp_path, small_data):
    arrays = {name: getattr(small_data, name) for name in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(tmp_path / "data.npz", **arrays)
    artifacts = tmp_path / "artifacts"
    command = [sys.executable, "-u", str(WORKER), str(tmp_path / "data.npz"), str(artifacts), "12"]
    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240  # TensorFlow alone takes 30 s to import on a loaded 2-core host
            while "RAN EPOCH 2" not in log_path.read_text():
                assert first.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the first run did not start training in time"
                time.sleep(0.05)
            params = course_params(artifacts, epochs=12)
            started = time.monotonic()
            with pytest.raises(ArtifactError) as info:
                fit(new_model(params), params, small_data)
            refused_after = time.monotonic() - started
            assert first.poll() is None, "the first run ended before the second one started"
            first.wait(timeout=120)
        finally:
            first.kill()
            first.wait()

    message = str(info.value)
    assert str(artifacts) in message and f"process {first.pid} on {socket.gethostname()}" in message
    assert refused_after < 5
    output = log_path.read_text()
    assert first.returncode == 0 and "DONE" in output, output  # the first run was not disturbed
    assert len(json.loads((artifacts / HISTORY_FILE).read_text())["loss"]) == 12


def test_a_lock_left_by_a_dead_process_does_not_block(tmp_path, small_data):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = {"pid": int(ended.stdout), "host": socket.gethostname(), "command": "python killed.py"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(dead))
    params = course_params(tmp_path, epochs=1)

    _, epochs_run = fit(new_model(params), params, small_data)

    assert epochs_run == [0]
    assert not (tmp_path / LOCK_FILE).exists()  # released when training ended


def test_the_same_process_may_fit_again_after_an_interrupted_fit(tmp_path, small_data):
    params = course_params(tmp_path, epochs=3)
    model = interrupted_run(params, small_data, at_epoch=1)  # the learner pressed stop: the lock stays held
    _, epochs_run = fit(model, params, small_data)  # and runs the cell again in the same kernel
    assert epochs_run == [1, 2] and not (tmp_path / LOCK_FILE).exists()


# --- saving the set of files as a whole -----------------------------------------------------------------


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even an ``except Exception`` clean-up."""


def new_set(params, small_data):
    """A model other than ``saved``'s (other weights), with a two-epoch history and accuracy 0.99."""
    keras.utils.set_random_seed(3)
    model = new_model(params)
    model.optimizer.build(model.trainable_variables)  # saved with its optimizer's state, as after fit
    return model, {"loss": [9.0, 8.0]}, 0.99


def which_set(trained, old, new_weights) -> str:
    """ "old" or "new" when the loaded model, history and metadata all come from one save, else "mixed"."""
    weights = trained.model.get_weights()[0]

    def side(is_old: bool, is_new: bool) -> str:
        return "old" if is_old else "new" if is_new else "neither"

    accuracy = trained.metadata["test_accuracy"]
    parts = {
        side(accuracy == 0.5, accuracy == 0.99),
        side(trained.history == old.history, trained.history == {"loss": [9.0, 8.0]}),
        side(np.array_equal(weights, old.model.get_weights()[0]), np.array_equal(weights, new_weights)),
    }
    return parts.pop() if len(parts) == 1 else "mixed"


@pytest.mark.slow
@pytest.mark.parametrize("killed_at", [1, 2, 3, 4, 5])
def test_a_save_killed_at_any_rename_loads_as_the_old_or_the_new_set(
    saved, small_data, monkeypatch, killed_at
):
    folder, params = saved
    old = load_trained_model(params)
    model, history, accuracy = new_set(params, small_data)
    renames = []
    real_replace = os.replace

    def replace_until_killed(src, dst):
        renames.append(dst)
        if len(renames) == killed_at:
            raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_until_killed)
    try:
        save_trained_model(model, history, params, small_data, accuracy)
    except Killed:
        pass
    monkeypatch.setattr(os, "replace", real_replace)

    state = which_set(load_trained_model(params), old, model.get_weights()[0])
    assert state in ("old", "new"), renames
    save_trained_model(model, history, params, small_data, accuracy)  # the next save clears any leftover
    assert sorted(p.name for p in folder.iterdir()) == sorted(["best.keras", "logs", *SAVED_SET])
    assert which_set(load_trained_model(params), old, model.get_weights()[0]) == "new"


def test_a_model_file_from_another_save_is_refused(saved, small_data, tmp_path):
    folder, params = saved
    other = tmp_path / "other"
    model, history, accuracy = new_set(params, small_data)
    save_trained_model(model, history, course_params(other, epochs=1), small_data, accuracy)
    shutil.copy(other / MODEL_FILE, folder / MODEL_FILE)  # a valid model, beside another save's model.json
    with pytest.raises(ArtifactError, match=re.escape(str(folder / MODEL_FILE)) + ".*not the file saved"):
        load_trained_model(params)


def test_leftovers_of_interrupted_saves_are_cleared_and_only_those(saved, small_data):
    folder, params = saved
    legacy = folder / ".model-k2j4h5g6.keras"  # a temporary of course_utils before 0.2
    legacy.write_bytes(b"PK half a model")
    theirs = folder / ".saving-notes"  # named like ours but without the course's marker
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    model, history, accuracy = new_set(params, small_data)

    def killed_after_staging(*args, **kwargs):
        raise Killed

    original = training._commit_staged_set
    training._commit_staged_set = killed_after_staging
    try:
        with pytest.raises(Killed):
            save_trained_model(model, history, params, small_data, accuracy)
    finally:
        training._commit_staged_set = original
    staged = [p for p in folder.iterdir() if p.name.startswith(".saving-") and p != theirs]
    assert len(staged) == 1  # the interrupted save's staging folder

    save_trained_model(model, history, params, small_data, accuracy)

    assert not legacy.exists() and not staged[0].exists()
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]


# --- a model that does not fit the data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "classes", "said"),
    [((32, 32, 1), 10, "input shape (32, 32, 1)"), ((28, 28, 1), 5, "5 classes")],
)
def test_a_model_whose_input_or_class_count_does_not_fit_the_data_is_refused_at_load(
    tmp_path, small_data, shape, classes, said
):
    params = course_params(tmp_path, epochs=1)
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(classes)])
    save_trained_model(model, {"loss": [1.0]}, params, small_data, 0.5)
    for load in (lambda: load_trained_model(params), lambda: load_or_train(params, small_data)):
        with pytest.raises(ArtifactError) as info:
            load()
        message = str(info.value)
        assert str(tmp_path / MODEL_FILE) in message and said in message
        assert "(28, 28, 1)" in message and "10 classes" in message and "re-run 04_compile_fit" in message
