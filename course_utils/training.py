"""Training and the trained model's artifacts: the lesson's recipe, resumable; saving safely; loading back.

Notebook 04 shows the recipe itself (build, compile, fit with ``training_callbacks``); 05 and later notebooks
call ``load_or_train`` so they run on their own when 04 has not been run. Training survives an interruption:
re-running the same ``fit`` continues from the last finished epoch and returns the whole history.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import keras

import course_utils
from course_utils.data import Dataset
from course_utils.env import set_seed, versions
from course_utils.models import build_cnn, compile_cnn
from course_utils.params import CourseParams

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
METADATA_FILE = "model.json"
BEST_MODEL_FILE = "best.keras"  # the epoch with the best val_accuracy, kept by ModelCheckpoint
BACKUP_DIR = "backup"  # Keras' BackupAndRestore state; deleted when training ends normally
ABANDONED_SUFFIX = "-abandoned"  # a backup not resumed (parameters changed) is moved to backup-abandoned
RUN_FILE = "run.json"  # beside the backup: the parameters of the run it belongs to
EPOCHS_FILE = "epochs.json"  # beside the backup: each finished epoch's logs, for the full history
_KERAS_BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")  # BackupAndRestore's, plus ".bkp"
_RERUN = "re-run 04_compile_fit.ipynb to train and save the model again"


class ArtifactError(RuntimeError):
    """A saved model that cannot be used; the message names the file and the fix."""


@dataclass
class TrainedModel:
    """A trained model with its per-epoch history and what it was trained on."""

    model: keras.Model
    history: dict[str, list[float]]
    metadata: dict


def fit_verbosity() -> int:
    """One line per epoch: readable live in JupyterLab and short in executed notebooks (papermill, CI).

    Keras' animated progress bar (``verbose=1``) stores thousands of lines in an executed notebook.
    """
    return 2


# --- where training writes --------------------------------------------------------------------------------


def tensorboard_dir(params: CourseParams) -> Path:
    """Where TensorBoard logs go: ``artifacts_dir/logs``, one sub-folder per run."""
    return Path(params.artifacts_dir).expanduser() / "logs"


def backup_dir(params: CourseParams) -> Path:
    """Where an unfinished training run keeps its state: ``artifacts_dir/backup``."""
    return Path(params.artifacts_dir).expanduser() / BACKUP_DIR


def best_model_path(params: CourseParams) -> Path:
    """The model of the epoch with the best validation accuracy so far: ``artifacts_dir/best.keras``."""
    return Path(params.artifacts_dir).expanduser() / BEST_MODEL_FILE


def tensorboard_runs(params: CourseParams) -> list[str]:
    """The run folders under ``artifacts_dir/logs`` that TensorBoard will list."""
    logs = tensorboard_dir(params)
    return sorted(p.name for p in logs.iterdir() if p.is_dir()) if logs.is_dir() else []


def _tensorflow_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


# --- callbacks ------------------------------------------------------------------------------------------


class _EpochOnly:
    """Leaves out a Keras callback's per-batch hooks, for callbacks that act once per epoch.

    While any callback has a batch hook, Keras waits for every batch's result before starting the next one
    (and TensorBoard writes per-batch scalars even when logging per epoch): 5-6% of the throughput here.
    """

    on_batch_begin = keras.callbacks.Callback.on_batch_begin
    on_batch_end = keras.callbacks.Callback.on_batch_end
    on_train_batch_begin = keras.callbacks.Callback.on_train_batch_begin
    on_train_batch_end = keras.callbacks.Callback.on_train_batch_end


class EpochBackupAndRestore(_EpochOnly, keras.callbacks.BackupAndRestore):
    """Keras' ``BackupAndRestore`` saving once per epoch, without per-batch hooks."""


class EpochModelCheckpoint(_EpochOnly, keras.callbacks.ModelCheckpoint):
    """Keras' ``ModelCheckpoint`` saving once per epoch, without per-batch hooks."""


class EpochTensorBoard(_EpochOnly, keras.callbacks.TensorBoard):
    """Keras' ``TensorBoard`` logging per epoch, without per-batch hooks (no graph, no per-batch scalars)."""


def training_callbacks(params: CourseParams) -> list[keras.callbacks.Callback]:
    """Keras' callbacks for the lesson's ``fit``: resume after an interruption, keep the best model, log.

    ``ResumeGuard`` (below), ``BackupAndRestore`` (the state after each epoch, in ``artifacts_dir/backup``),
    ``ModelCheckpoint`` (``best.keras``, best ``val_accuracy``) and, with TensorFlow, ``TensorBoard`` (a new
    folder per run under ``artifacts_dir/logs``). All act once per epoch, so they cost next to nothing.
    """
    backup = EpochBackupAndRestore(
        backup_dir=str(backup_dir(params)), save_freq="epoch", double_checkpoint=True
    )
    best = EpochModelCheckpoint(
        str(best_model_path(params)), monitor="val_accuracy", mode="max", save_best_only=True
    )
    callbacks = [ResumeGuard(params, backup, best), backup, best]
    if _tensorflow_available():  # TensorBoard writes through TensorFlow's summary API
        run = tensorboard_dir(params) / _dt.datetime.now().strftime("run-%Y%m%d-%H%M%S-%f")
        callbacks.append(EpochTensorBoard(log_dir=str(run), write_graph=False))
    return callbacks


class _NotResumable(Exception):
    """Why a backup cannot be resumed, in words for the one line printed."""


class ResumeGuard(keras.callbacks.Callback):
    """Makes ``BackupAndRestore`` safe for learners: says when it resumes, refuses stale backups, and keeps
    the whole history.

    It must come before the ``BackupAndRestore`` it guards in the callbacks list. At the start of ``fit`` it
    checks the backup: made by a run with the same parameters (else moved to ``backup-abandoned``, said in
    one line), readable (else the previous backup, else a fresh start), and prints "Resuming from the backup
    in ...: epoch k of n done". After each epoch it appends the epoch's logs to ``epochs.json`` beside the
    backup (atomically, before the backup is written), and at the end it puts the epochs of the interrupted
    run in front of the ``History`` that ``fit`` returns, so ``history.history`` covers every epoch.
    """

    def __init__(
        self,
        params: CourseParams,
        backup: keras.callbacks.BackupAndRestore,
        checkpoint: keras.callbacks.ModelCheckpoint | None = None,
    ):
        super().__init__()
        self.course_params = params
        self.folder = Path(backup.backup_dir)
        self.checkpoint = checkpoint
        self._initial_best = checkpoint.best if checkpoint is not None else None
        self.epoch_logs: list[dict[str, float]] = []  # every finished epoch of this run, resumed ones first
        self.resumed_epochs = 0

    def signature(self) -> dict:
        """What must be the same for a backup to be resumed: the parameters and the shape of the run."""
        p = self.course_params
        return {
            "epochs": self.params.get("epochs"),
            "steps_per_epoch": self.params.get("steps"),
            "batch_size": p.batch_size,
            "seed": p.seed,
            "dataset": p.dataset,
            "data_source": p.data_source,
            "learning_rate": p.learning_rate,
            "mixed_precision": p.mixed_precision,
            "model": self.model.name,
            "model_parameters": int(self.model.count_params()),
        }

    def on_train_begin(self, logs=None):
        # Keras never resets the epoch BackupAndRestore restores; without this a second fit of the same model
        # would start where the resumed one did.
        self.model._initial_epoch = None
        self.epoch_logs, self.resumed_epochs = [], 0
        if self.checkpoint is not None:
            self.checkpoint.best = self._initial_best
        signature = self.signature()
        if self.folder.exists():
            try:
                done, earlier, note = _resumable_state(self.folder, signature)
            except _NotResumable as reason:
                self._set_aside(reason)
            else:
                self.epoch_logs, self.resumed_epochs = earlier, done
                self._restore_best(earlier)
                total = signature["epochs"]
                print(f"Resuming from the backup in {self.folder}: epoch {done} of {total} done{note}.")
        _write_json(self.folder / RUN_FILE, signature)
        _write_json(self.folder / EPOCHS_FILE, self.epoch_logs)

    def _set_aside(self, reason: _NotResumable) -> None:
        if not any((self.folder / name).exists() for name in _KERAS_BACKUP_FILES):
            shutil.rmtree(self.folder)  # no epoch had finished: nothing worth keeping
            return
        aside = self.folder.with_name(self.folder.name + ABANDONED_SUFFIX)
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(self.folder, aside)
        print(
            f"Not resuming the backup in {self.folder}: {reason}. Training from epoch 1 (old one: {aside})."
        )

    def _restore_best(self, earlier: list[dict[str, float]]) -> None:
        """ModelCheckpoint forgets its best score when the process dies: give it the interrupted run's."""
        if self.checkpoint is None:
            return
        scores = [e[self.checkpoint.monitor] for e in earlier if self.checkpoint.monitor in e]
        if scores:
            self.checkpoint.best = min(scores) if self.checkpoint.mode == "min" else max(scores)

    def on_epoch_end(self, epoch, logs=None):
        del self.epoch_logs[epoch:]  # epochs are numbered from 0, resumed ones included
        self.epoch_logs.append(dict(_scalars(logs or {})))
        _write_json(self.folder / EPOCHS_FILE, self.epoch_logs)

    def on_train_end(self, logs=None):
        history = getattr(self.model, "history", None)
        if not self.resumed_epochs or not isinstance(history, keras.callbacks.History):
            return
        earlier = _as_history(self.epoch_logs[: self.resumed_epochs])
        for key, values in earlier.items():
            history.history[key] = values + list(history.history.get(key, []))
        history.epoch = list(range(self.resumed_epochs)) + list(getattr(history, "epoch", []))


def _resumable_state(folder: Path, signature: dict) -> tuple[int, list[dict[str, float]], str]:
    """(epochs done, their logs, a note) of the backup in ``folder``; ``_NotResumable`` says why not."""
    run = _json_or_none(folder / RUN_FILE)
    if not isinstance(run, dict):
        raise _NotResumable("it has no readable record of the parameters it was made with")
    if run != signature:
        changed = ", ".join(
            f"{key} {run.get(key)!r} → {value!r}" for key, value in signature.items() if run.get(key) != value
        )
        raise _NotResumable(f"the parameters changed ({changed})")
    note = ""
    done = _backup_epoch(folder, "")
    if done is None:
        done = _backup_epoch(folder, ".bkp")
        if done is None:
            raise _NotResumable("its files are unreadable (cut short when training was interrupted?)")
        for name in _KERAS_BACKUP_FILES:
            os.replace(folder / (name + ".bkp"), folder / name)
        note = " (the latest backup was cut short; using the one before it)"
    earlier = _json_or_none(folder / EPOCHS_FILE)
    if not isinstance(earlier, list) or len(earlier) < done or not all(isinstance(e, dict) for e in earlier):
        raise _NotResumable(f"its {EPOCHS_FILE} does not hold the {done} finished epochs")
    return done, earlier[:done], note


def _backup_epoch(folder: Path, suffix: str) -> int | None:
    """The epochs done according to BackupAndRestore's files (``suffix`` ".bkp": the previous ones), or None
    when they are missing or unreadable (as after a kill while they were written)."""
    import h5py  # Keras' own dependency for .weights.h5 files

    metadata = _json_or_none(folder / ("training_metadata.json" + suffix))
    epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        return None
    try:
        with h5py.File(folder / ("latest.weights.h5" + suffix), "r"):
            pass
    except OSError:
        return None
    return epoch


def _scalars(logs: dict):
    """(name, float) for each logged value that is one number (a metric could log a vector: not kept)."""
    for key, value in logs.items():
        try:
            yield key, float(value)
        except (TypeError, ValueError):
            continue


def _as_history(epoch_logs: Iterable[dict[str, float]]) -> dict[str, list[float]]:
    history: dict[str, list[float]] = {}
    for logs in epoch_logs:
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
    return history


# --- the recipe -------------------------------------------------------------------------------------------


def train_model(
    params: CourseParams,
    dataset: Dataset,
    build_model: Callable[..., keras.Model] = build_cnn,
    *,
    extra_callbacks: Iterable[keras.callbacks.Callback] = (),
    strategy=None,
) -> TrainedModel:
    """The lesson's recipe in one call: seed, build, compile, fit with the test set as validation data.

    ``build_model(num_classes=...)`` makes the model; given a ``tf.distribute.Strategy`` it is built and
    compiled inside ``strategy.scope()``. Fits with ``training_callbacks(params)``, then ``extra_callbacks``,
    so an interrupted call resumes when called again, and the history returned covers every epoch.
    """
    set_seed(params.seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = build_model(num_classes=dataset.num_classes)
        if not model.built:  # BackupAndRestore restores weights into a built model only
            model.build((None, *dataset.x_train.shape[1:]))
        compile_cnn(model, learning_rate=params.learning_rate)
    # Under a strategy, batch_size is each replica's share: the global batch grows with the replicas.
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=params.epochs,
        batch_size=params.batch_size * replicas,
        validation_data=(dataset.x_test, dataset.y_test),
        callbacks=[*training_callbacks(params), *extra_callbacks],
        verbose=fit_verbosity(),
    )
    return TrainedModel(model, dict(history.history), _metadata(params, dataset))


def fit_seed_model(params: CourseParams, dataset: Dataset, *, strategy=None) -> TrainedModel:
    """The course's CNN trained as ``params.strategy`` and ``params.mixed_precision`` say.

    Goes through ``course_utils.distribute.train_with_strategy`` unless a strategy is given.
    """
    if strategy is not None:
        return train_model(params, dataset, build_cnn, strategy=strategy)
    from course_utils.distribute import train_with_strategy  # distribute builds on this module

    return train_with_strategy(params, dataset)


# --- saving and loading -----------------------------------------------------------------------------------


def _atomic_write_all(writers: dict[Path, Callable[[Path], object]]) -> None:
    """Write each file to a temporary beside it, then rename them all into place.

    A crash while writing (the slow part) leaves every previous file whole and no temporary behind.
    """
    temporaries: dict[Path, Path] = {}
    try:
        for path, write in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
            os.close(fd)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would make a shared artifacts folder unreadable to others
            temporaries[path] = Path(tmp)
            write(Path(tmp))
        for path, tmp in temporaries.items():
            os.replace(tmp, path)
    finally:
        for tmp in temporaries.values():
            if tmp.exists():
                tmp.unlink()


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename: a crash leaves the old file whole."""
    _atomic_write_all({path: write})


def _write_json(path: Path, value) -> None:
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(value, indent=1)))


def _metadata(params: CourseParams, dataset: Dataset) -> dict:
    return {
        "dataset": dataset.name,
        "data_source": dataset.origin,
        "data_description": dataset.source,
        "class_names": list(dataset.class_names),
        "parameters": {
            "epochs": params.epochs,
            "batch_size": params.batch_size,
            "seed": params.seed,
            "learning_rate": params.learning_rate,
        },
    }


def save_trained_model(
    model: keras.Model, history, params: CourseParams, dataset: Dataset, test_accuracy: float
) -> Path:
    """Save the model, its history and a metadata file (parameters, data, versions, accuracy) atomically.

    ``history`` is ``fit``'s ``History`` or its ``.history`` dict; with ``training_callbacks`` it covers every
    epoch, resumed ones included. Returns the model's path.
    """
    folder = params.artifacts_path
    history = getattr(history, "history", history)
    history = {key: [float(v) for v in values] for key, values in history.items()}
    metadata = {
        **_metadata(params, dataset),
        "epochs_trained": max((len(values) for values in history.values()), default=0),
        "test_accuracy": float(test_accuracy),
        "versions": {**versions(), "course_utils": course_utils.__version__},
    }
    _atomic_write_all(
        {
            folder / MODEL_FILE: lambda tmp: model.save(tmp),
            folder / HISTORY_FILE: lambda tmp: tmp.write_text(json.dumps(history, indent=1)),
            folder / METADATA_FILE: lambda tmp: tmp.write_text(json.dumps(metadata, indent=1)),
        }
    )
    return folder / MODEL_FILE


def load_trained_model(params: CourseParams) -> TrainedModel | None:
    """The model saved by 04 under ``artifacts_dir``, or None when there is none.

    Loads with Keras' ``safe_mode``. Raises ``ArtifactError`` naming the file and the fix for a corrupt or
    truncated file, a missing or unreadable ``model.json``, or a model trained on another dataset than
    ``params.dataset``.
    """
    folder = Path(params.artifacts_dir).expanduser()
    model_path = folder / MODEL_FILE
    if not model_path.exists():
        return None
    metadata_path = folder / METADATA_FILE
    if not metadata_path.exists():
        raise ArtifactError(
            f"{model_path} has no {METADATA_FILE} beside it, so what it was trained on is unknown: {_RERUN}."
        )
    metadata = _read_json(metadata_path)
    if not isinstance(metadata, dict) or not isinstance(metadata.get("dataset"), str):
        raise ArtifactError(f"{metadata_path} does not say which dataset the model was trained on: {_RERUN}.")
    trained_on = metadata["dataset"]
    if trained_on != params.dataset:
        raise ArtifactError(
            f"{model_path} was trained on {trained_on!r}, but dataset is {params.dataset!r}: its predictions "
            f"would be nonsense. Re-run 04_compile_fit.ipynb with dataset={params.dataset!r}, or use another "
            "artifacts_dir."
        )
    history_path = folder / HISTORY_FILE
    history = _read_json(history_path) if history_path.exists() else {}
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ArtifactError(f"{history_path} is not a history (metric names and per-epoch lists): {_RERUN}.")
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as exc:
        raise ArtifactError(
            f"{model_path} could not be loaded ({type(exc).__name__}: {exc}). The file is corrupt, truncated "
            f"or not a model saved by 04: {_RERUN}."
        ) from exc
    return TrainedModel(model, history, metadata)


def _json_or_none(path: Path):
    """The JSON in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{path} is not readable JSON ({exc}): {_RERUN}.") from exc


def load_or_train(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The saved model when 04 has run; otherwise train it here through the same recipe, and say so."""
    trained = load_trained_model(params)
    if trained is not None:
        accuracy = trained.metadata.get("test_accuracy")
        note = f" (test accuracy {accuracy:.2%})" if isinstance(accuracy, (int, float)) else ""
        print(f"Loaded the model trained by 04 from {Path(params.artifacts_dir) / MODEL_FILE}{note}.")
        return trained
    print(f"No saved model in {params.artifacts_dir}: training it now as 04 does ({params.epochs} epochs).")
    trained = fit_seed_model(params, dataset)
    _, accuracy = trained.model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    save_trained_model(trained.model, trained.history, params, dataset, accuracy)
    trained.metadata = _read_json(params.artifacts_path / METADATA_FILE)
    return trained
