"""Training and the trained model's files: the lesson's recipe, saving safely, loading back.

Each save writes a new folder: ``model.keras``, ``history.json`` and ``model.json`` go into a hidden
temporary folder in ``artifacts_dir``, and one ``os.replace`` then renames it to ``model-<time>-<random>``.
Loading takes the newest such folder trained on the same dataset. So a save killed part way leaves the
models saved before it as they were (and at most a hidden ``.saving-*`` folder that nothing reads), two
kernels saving at once each get a folder of their own, and nothing else in ``artifacts_dir`` is touched.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import keras

from course_utils import distribute
from course_utils.data import Dataset
from course_utils.env import set_seed, versions
from course_utils.i18n import N_, _
from course_utils.models import TrainedModel, build_cnn, compile_cnn
from course_utils.params import CourseParams

MODEL_FILE, HISTORY_FILE, METADATA_FILE = "model.keras", "history.json", "model.json"
SAVED = re.compile(r"model-\d{8}-\d{6}-\d{6}-[a-z0-9_]{8}")  # what save_trained_model makes; nothing else
KEEP_SAVED = 3  # a save removes the course's older saved folders beyond the newest three
_RERUN = N_("re-run 04_compile_fit.ipynb to train and save the model again")


class ArtifactError(RuntimeError):
    """A saved model that cannot be used; the message names the file and the fix."""


def backup_dir(params: CourseParams) -> Path:
    """Where Keras' ``BackupAndRestore`` may keep an unfinished run's state: ``artifacts_dir/backup``."""
    return Path(params.artifacts_dir).expanduser() / "backup"


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

    Given a ``tf.distribute.Strategy``, the model is built and compiled inside ``strategy.scope()`` and
    ``batch_size`` is each replica's share of the global batch.
    """
    set_seed(params.seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = compile_cnn(build_model(num_classes=dataset.num_classes), learning_rate=params.learning_rate)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=params.epochs,
        batch_size=params.batch_size * replicas,
        validation_data=(dataset.x_test, dataset.y_test),
        callbacks=list(extra_callbacks),
        verbose=2,  # one line per epoch: Keras' progress bar would store thousands of lines in a notebook
    )
    return TrainedModel(model, dict(history.history), _metadata(params, dataset))


def train_with_strategy(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The lesson's training under ``params.strategy`` and ``params.mixed_precision``.

    The default and mirrored strategies use ``train_model`` (Keras' ``fit``); multiworker uses
    ``distribute.train_custom_loop``, because ``fit`` fails there with Keras 3 (see its docstring).
    """
    strategy = distribute.make_strategy(params.strategy)  # first: multiworker must start before other TF work
    batch = distribute.global_batch_size(params.batch_size, strategy)
    with distribute.mixed_precision_policy(params.mixed_precision):
        if params.strategy == "multiworker":
            set_seed(params.seed)
            return distribute.train_custom_loop(
                strategy,
                lambda: distribute.build_cnn_for_policy(dataset.num_classes),
                (dataset.x_train, dataset.y_train),
                epochs=params.epochs,
                global_batch=batch,
                learning_rate=params.learning_rate,
                seed=params.seed,
            )
        trained = train_model(params, dataset, distribute.build_cnn_for_policy, strategy=strategy)
    metadata = {"strategy": distribute.strategy_name(strategy), "replicas": strategy.num_replicas_in_sync}
    trained.metadata = {**trained.metadata, **metadata, "global_batch": batch, "loop": "fit"}
    return trained


def _metadata(params: CourseParams, dataset: Dataset) -> dict:
    return {
        "dataset": dataset.name,
        "data_origin": dataset.origin,
        "data_description": dataset.source,
        "class_names": list(dataset.class_names),
        "parameters": {
            "epochs": params.epochs,
            "batch_size": params.batch_size,
            "seed": params.seed,
            "learning_rate": params.learning_rate,
        },
    }


# --- saving and loading -----------------------------------------------------------------------------------


def save_trained_model(
    model: keras.Model, history, params: CourseParams, dataset: Dataset, test_accuracy: float
) -> Path:
    """Save the model, its history and ``model.json`` (data, parameters, versions, accuracy) as one new
    folder ``artifacts_dir/model-<time>-<random>``, made current by one rename. Returns the model's path."""
    folder = params.artifacts_path
    history = getattr(history, "history", history)
    history = {key: [float(v) for v in values] for key, values in history.items()}
    metadata = {
        **_metadata(params, dataset),
        "epochs_trained": max((len(values) for values in history.values()), default=0),
        "test_accuracy": float(test_accuracy),
        "versions": versions(),
    }
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=folder))
    try:
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide a shared artifacts folder from others
        model.save(staging / MODEL_FILE)
        (staging / HISTORY_FILE).write_text(json.dumps(history, indent=1))
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=1))
        name = f"model-{_dt.datetime.now():%Y%m%d-%H%M%S-%f}-{staging.name[-8:]}"  # unique: mkdtemp's
        os.replace(staging, folder / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for old in saved_models(folder, dataset.name)[KEEP_SAVED:]:
        shutil.rmtree(old, ignore_errors=True)
    return folder / name / MODEL_FILE


def saved_models(folder: str | os.PathLike, dataset: str | None = None) -> list[Path]:
    """The course's saved model folders in ``folder`` (for ``dataset`` if given), newest first."""
    found = [p for p in Path(folder).expanduser().glob("model-*") if SAVED.fullmatch(p.name) and p.is_dir()]
    if dataset is not None:
        found = [p for p in found if _metadata_of(p).get("dataset") == dataset]
    return sorted(found, key=lambda p: p.name, reverse=True)


def _metadata_of(folder: Path) -> dict:
    metadata = _read_json(folder / METADATA_FILE)
    return metadata if isinstance(metadata, dict) else {}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(
            _("{path} is not readable JSON ({error}): {rerun}.").format(path=path, error=exc, rerun=_(_RERUN))
        ) from exc


def load_trained_model(params: CourseParams, dataset: Dataset | None = None) -> TrainedModel | None:
    """The newest model saved in ``artifacts_dir`` for ``params.dataset``, or None when there is none.

    Loads with Keras' ``safe_mode``. A corrupt or truncated file raises ``ArtifactError`` naming it and
    the fix. ``dataset`` is accepted for symmetry with ``load_or_train``; the dataset's name is what counts.
    """
    for folder in saved_models(params.artifacts_dir, params.dataset)[:1]:
        metadata = _metadata_of(folder)
        history = _read_json(folder / HISTORY_FILE)
        try:
            model = keras.saving.load_model(folder / MODEL_FILE, safe_mode=True)
        except Exception as exc:
            raise ArtifactError(
                _("{path} could not be loaded ({error}). The file is corrupt or truncated: {rerun}.").format(
                    path=folder / MODEL_FILE, error=f"{type(exc).__name__}: {exc}", rerun=_(_RERUN)
                )
            ) from exc
        return TrainedModel(model, history, {**metadata, "path": str(folder / MODEL_FILE)})
    return None


def load_or_train(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The model 04 saved for this dataset; otherwise train it here the same way, save it, and say so."""
    trained = load_trained_model(params, dataset)
    if trained is not None:
        print(
            _("Loaded the model trained by 04 from {path} (test accuracy {accuracy:.2%}).").format(
                path=trained.metadata["path"], accuracy=trained.metadata.get("test_accuracy", float("nan"))
            )
        )
        return trained
    print(
        _("No saved {dataset} model in {folder}: training it now as 04 does ({epochs} epochs).").format(
            dataset=params.dataset, folder=params.artifacts_dir, epochs=params.epochs
        )
    )
    trained = train_with_strategy(params, dataset)
    _loss, accuracy = trained.model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    path = save_trained_model(trained.model, trained.history, params, dataset, accuracy)
    trained.metadata = {**_read_json(path.parent / METADATA_FILE), "path": str(path)}
    return trained
