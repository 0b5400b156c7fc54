"""Training and the trained model's artifacts: the lesson's recipe, saving it safely, loading it back.

Notebook 04 shows the recipe itself (build, compile, fit); 05 and later notebooks call ``load_or_train`` so
they run on their own when 04 has not been run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
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


def tensorboard_dir(params: CourseParams) -> Path:
    """Where TensorBoard logs go: ``artifacts_dir/logs``, one sub-folder per run."""
    return Path(params.artifacts_dir).expanduser() / "logs"


def training_callbacks(params: CourseParams) -> list[keras.callbacks.Callback]:
    """Keras' callbacks for the lesson's ``fit``: TensorBoard logs in a new folder per run.

    TensorBoard needs TensorFlow; on another Keras backend without it the list is empty.
    """
    if not _tensorflow_available():
        return []
    run = tensorboard_dir(params) / _dt.datetime.now().strftime("run-%Y%m%d-%H%M%S-%f")
    return [keras.callbacks.TensorBoard(log_dir=str(run))]


def tensorboard_runs(params: CourseParams) -> list[str]:
    """The run folders under ``artifacts_dir/logs`` that TensorBoard will list."""
    logs = tensorboard_dir(params)
    return sorted(p.name for p in logs.iterdir() if p.is_dir()) if logs.is_dir() else []


def _tensorflow_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def fit_seed_model(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The lesson's recipe in one call: seed, build, compile, fit with the test set as validation data."""
    set_seed(params.seed)
    model = compile_cnn(build_cnn(num_classes=dataset.num_classes), learning_rate=params.learning_rate)
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=params.epochs,
        batch_size=params.batch_size,
        validation_data=(dataset.x_test, dataset.y_test),
        callbacks=training_callbacks(params),
        verbose=fit_verbosity(),
    )
    return TrainedModel(model, history.history, {})


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: a crash leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_trained_model(
    model: keras.Model, history: dict, params: CourseParams, dataset: Dataset, test_accuracy: float
) -> Path:
    """Save the model, its history and a metadata file (parameters, data, versions, accuracy) atomically."""
    folder = params.artifacts_path
    metadata = {
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
        "test_accuracy": float(test_accuracy),
        "versions": {**versions(), "course_utils": course_utils.__version__},
    }
    history = {key: [float(v) for v in values] for key, values in history.items()}
    _atomic_write(folder / MODEL_FILE, lambda tmp: model.save(tmp))
    _atomic_write(folder / HISTORY_FILE, lambda tmp: tmp.write_text(json.dumps(history, indent=1)))
    _atomic_write(folder / METADATA_FILE, lambda tmp: tmp.write_text(json.dumps(metadata, indent=1)))
    return folder / MODEL_FILE


def load_trained_model(params: CourseParams) -> TrainedModel | None:
    """The model saved by 04 under ``artifacts_dir``, or None when there is none.

    Loads with Keras' ``safe_mode``. Raises ``ArtifactError`` for a corrupt file or for a model trained on
    another dataset than ``params.dataset``.
    """
    folder = Path(params.artifacts_dir).expanduser()
    model_path = folder / MODEL_FILE
    if not model_path.exists():
        return None
    metadata = _read_json(folder / METADATA_FILE, default={})
    trained_on = metadata.get("dataset")
    if trained_on and trained_on != params.dataset:
        raise ArtifactError(
            f"{model_path} was trained on {trained_on!r}, but dataset is {params.dataset!r}: its predictions "
            f"would be nonsense. Re-run 04_compile_fit with dataset={params.dataset!r}, or use another "
            "artifacts_dir."
        )
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as exc:
        raise ArtifactError(
            f"{model_path} could not be loaded ({type(exc).__name__}: {exc}). The file is corrupt or "
            "truncated: re-run 04_compile_fit.ipynb to train and save the model again."
        ) from exc
    history = _read_json(folder / HISTORY_FILE, default={})
    return TrainedModel(model, history, metadata)


def _read_json(path: Path, default):
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}): re-run 04_compile_fit.ipynb.") from exc


def load_or_train(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The saved model when 04 has run; otherwise train it here through the same recipe, and say so."""
    trained = load_trained_model(params)
    if trained is not None:
        accuracy = trained.metadata.get("test_accuracy")
        note = f" (test accuracy {accuracy:.2%})" if accuracy is not None else ""
        print(f"Loaded the model trained by 04 from {Path(params.artifacts_dir) / MODEL_FILE}{note}.")
        return trained
    print(f"No saved model in {params.artifacts_dir}: training it now as 04 does ({params.epochs} epochs).")
    trained = fit_seed_model(params, dataset)
    _, accuracy = trained.model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    save_trained_model(trained.model, trained.history, params, dataset, accuracy)
    trained.metadata = _read_json(params.artifacts_path / METADATA_FILE, default={})
    return trained
