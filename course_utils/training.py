"""Training and the trained model's artifacts: the lesson's recipe, resumable; saving safely; loading back.

Notebook 04 shows the recipe itself (build, compile, its callbacks listed one by one, fit); 05 and later
notebooks call ``load_or_train``, which trains the same way through ``training_callbacks``, so they run on
their own when 04 has not been run. Training survives an interruption: re-running the same ``fit`` continues
from the last finished epoch and returns the whole history.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import keras

import course_utils
from course_utils import distribute
from course_utils.data import DATASETS, Dataset
from course_utils.env import set_seed, versions
from course_utils.i18n import N_, _
from course_utils.models import TrainedModel, build_cnn, compile_cnn
from course_utils.params import CourseParams

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
METADATA_FILE = "model.json"
BEST_MODEL_FILE = "best.keras"  # the epoch with the best val_accuracy, kept by ModelCheckpoint
BACKUP_DIR = "backup"  # Keras' BackupAndRestore state; deleted when training ends normally
ABANDONED_SUFFIX = "-abandoned"  # a backup not resumed (parameters changed) goes to backup-abandoned-<n>
BACKUP_MARKER = ".course_utils_backup"  # written into each backup folder the course makes: proof it is ours
LOCK_FILE = ".course_utils.lock"  # in artifacts_dir while a run trains or saves there; says who holds it
SAVED_SET = ("model.keras", "history.json", "model.json")  # replaced together by save_trained_model
STAGING_PREFIX = ".saving-"  # a save writes the new set into artifacts_dir/.saving-<random>/ first...
SAVE_MARKER = ".course_utils_save"  # ...with this file saying which process made it...
COMMIT_FILE = "COMMITTED"  # ...and this one, written last, saying the folder holds a whole new set
# Temporaries that course_utils 0.1 left beside the saved files when it was killed while saving.
_OLD_TEMPORARY = re.compile(r"\.(model|history)-[a-z0-9_]{8}\.(keras|json)")
IMAGE_SHAPE = (28, 28, 1)  # what the course's models take: MNIST and Fashion-MNIST alike
RUN_FILE = "run.json"  # beside the backup: the parameters of the run it belongs to
EPOCHS_FILE = "epochs.json"  # beside the backup: each finished epoch's logs, for the full history
_KERAS_BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")  # BackupAndRestore's, plus ".bkp"
_RERUN = N_("re-run 04_compile_fit.ipynb to train and save the model again")


class ArtifactError(RuntimeError):
    """A saved model that cannot be used; the message names the file and the fix."""


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


# --- one run at a time per artifacts_dir -----------------------------------------------------------------

_held_locks: dict[Path, int] = {}  # artifacts folder (resolved) -> the open lock file this process holds
_held_locks_guard = threading.Lock()


def _this_process() -> dict:
    """Who we are, as written into lock and marker files, so that a refusal can name the process."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv)[:200],
        "since": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _pid_alive(pid) -> bool | None:
    """Whether process ``pid`` of this host runs; None where that cannot be told (not POSIX, bad pid)."""
    if os.name != "posix" or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        return True
    except OSError:
        return None
    return True


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting; False when another process has it.

    The operating system drops the lock when its process ends, however it ends (SIGKILL included).
    """
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _in_use_message(folder: Path, holder) -> str:
    if not isinstance(holder, dict):
        who = _("another process (it has not written its name into the lock yet)")
    else:
        pid, host = holder.get("pid"), holder.get("host")
        who = _("process {pid} on {host}").format(pid=pid, host=host)
        if holder.get("command"):
            who += _(" ({command}, since {since})").format(
                command=holder["command"], since=holder.get("since", "?")
            )
        if host == socket.gethostname() and _pid_alive(pid) is False:
            who += _("; process {pid} has ended, but a process it started still holds the lock").format(
                pid=pid
            )
    return _(
        "{folder} is in use by another run: {who} holds {lock}. Two runs in one artifacts_dir "
        "would spoil each other's backup and saved model. Wait for that run to finish (or stop it), or give "
        "this run another artifacts_dir. If it is a Jupyter kernel in which you stopped training, restart "
        "that kernel."
    ).format(folder=folder, who=who, lock=folder / LOCK_FILE)


def lock_artifacts(folder: str | os.PathLike) -> bool:
    """Hold ``folder``'s lock (``LOCK_FILE``) for this process, so that no second run trains or saves there.

    Returns True if taken now, False if this process held it already. Raises ``ArtifactError`` naming the
    folder and the process (pid, host) that holds it. A lock left by a process that has ended does not block.
    """
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    path = key / LOCK_FILE
    with _held_locks_guard:
        if key in _held_locks:
            return False
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not _try_lock(fd):
                    raise ArtifactError(_in_use_message(folder, _json_or_none(path)))
                try:  # its holder may have released and removed the file between our open and lock
                    current = os.stat(path)
                except FileNotFoundError:
                    current = None
                if current is None or not os.path.samestat(os.fstat(fd), current):
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(_this_process()).encode())
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            if not _held_locks:  # at exit: remove the lock files (the locks themselves go with the process)
                atexit.unregister(_unlock_all)
                atexit.register(_unlock_all)
            _held_locks[key] = fd
            return True


def unlock_artifacts(folder: str | os.PathLike) -> None:
    """Let go of ``folder``'s lock if this process holds it, and remove the lock file."""
    key = Path(folder).expanduser().resolve()
    with _held_locks_guard:
        fd = _held_locks.pop(key, None)
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(key / LOCK_FILE)  # first: a process that opened it meanwhile then sees it is gone
        with contextlib.suppress(OSError):
            os.close(fd)


def _unlock_all() -> None:
    for key in list(_held_locks):
        unlock_artifacts(key)


@contextlib.contextmanager
def _artifacts_locked(folder: Path):
    """``lock_artifacts`` for the length of a ``with`` block (kept if this process held it before)."""
    taken = lock_artifacts(folder)
    try:
        yield
    finally:
        if taken:
            unlock_artifacts(folder)


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
    Notebook 04 lists the same callbacks in its cell, as Keras' own classes; the notebooks that train through
    ``train_model`` or ``load_or_train`` get them here.
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
    callbacks.append(ReleaseArtifactsLock(params))  # last: after BackupAndRestore has removed the backup
    return callbacks


class ReleaseArtifactsLock(keras.callbacks.Callback):
    """Lets go of ``artifacts_dir``'s lock, which ``ResumeGuard`` took, when training ends normally.

    After an interruption the lock stays with this process (a kernel), so re-running the same cell resumes;
    it goes when the process ends.
    """

    def __init__(self, params: CourseParams):
        super().__init__()
        self.artifacts = Path(params.artifacts_dir).expanduser()

    def on_train_end(self, logs=None):
        unlock_artifacts(self.artifacts)


class _NotResumable(Exception):
    """Why a backup cannot be resumed, in words for the one line printed."""


class ResumeGuard(keras.callbacks.Callback):
    """Makes ``BackupAndRestore`` safe for learners: says when it resumes, refuses stale backups, and keeps
    the whole history.

    It must come before the ``BackupAndRestore`` it guards in the callbacks list. At the start of ``fit`` it
    takes ``artifacts_dir``'s lock (a second run there is refused, naming the process that holds it) and
    checks the backup: made by the course (it carries ``BACKUP_MARKER``; a folder without it is left alone
    and training stops, saying why), by a run with the same parameters (else moved to
    ``backup-abandoned-<n>``, said in one line), readable (else the previous backup, else a fresh start),
    and prints "Resuming from the backup in ...: epoch k of n done". After each epoch it appends the
    epoch's logs to ``epochs.json`` beside the backup (atomically, before the backup is written), and at the
    end it puts the epochs of the interrupted run in front of the ``History`` that ``fit`` returns, so
    ``history.history`` covers every epoch.
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
        self.artifacts = Path(params.artifacts_dir).expanduser()
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
        lock_artifacts(self.artifacts)
        try:
            self._check_backup_is_ours()
        except ArtifactError:
            unlock_artifacts(self.artifacts)
            raise
        if self.folder.exists():
            try:
                done, earlier, note = _resumable_state(self.folder, signature)
            except _NotResumable as reason:
                self._set_aside(reason)
            else:
                self.epoch_logs, self.resumed_epochs = earlier, done
                self._restore_best(earlier)
                total = signature["epochs"]
                print(
                    _("Resuming from the backup in {folder}: epoch {done} of {total} done{note}.").format(
                        folder=self.folder, done=done, total=total, note=note
                    )
                )
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = {"written_by": "course_utils", **_this_process()}
        _write_json(self.folder / BACKUP_MARKER, marker)  # first: from now on the folder is provably ours
        _write_json(self.folder / RUN_FILE, signature)
        _write_json(self.folder / EPOCHS_FILE, self.epoch_logs)

    def _check_backup_is_ours(self) -> None:
        """A ``backup`` the course did not make (no ``BACKUP_MARKER``) is never used, moved or deleted."""
        if not os.path.lexists(self.folder) or (self.folder / BACKUP_MARKER).is_file():
            return
        if self.folder.is_dir() and not self.folder.is_symlink() and not any(self.folder.iterdir()):
            return  # empty (a run killed before it wrote the marker, say): nothing in it to lose
        raise ArtifactError(
            _(
                "{folder} exists but was not made by course_utils (it has no {marker} file), so "
                "training will not resume from it, move it or delete it. Rename or move that folder (or use "
                "another artifacts_dir), then run this again."
            ).format(folder=self.folder, marker=BACKUP_MARKER)
        )

    def _set_aside(self, reason: _NotResumable) -> None:
        """Move the course's backup (checked to be ours) out of the way, never over an earlier one."""
        if not any((self.folder / name).exists() for name in _KERAS_BACKUP_FILES):
            shutil.rmtree(self.folder)  # ours, and no epoch had finished: nothing worth keeping
            return
        aside = _next_free_name(self.folder.with_name(self.folder.name + ABANDONED_SUFFIX))
        os.rename(self.folder, aside)  # under the artifacts lock, so no other run takes the name meanwhile
        print(
            _(
                "Not resuming the backup in {folder}: {reason}. Training from epoch 1 (old one: {aside})."
            ).format(folder=self.folder, reason=reason, aside=aside)
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


def _next_free_name(base: Path) -> Path:
    """``base-<n>`` with n one more than the highest number in use: earlier set-asides are never replaced."""
    pattern = re.compile(re.escape(base.name) + r"-(\d+)")
    taken = [int(m[1]) for p in base.parent.iterdir() if (m := pattern.fullmatch(p.name))]
    n = max(taken, default=0) + 1
    while os.path.lexists(base.with_name(f"{base.name}-{n}")):
        n += 1
    return base.with_name(f"{base.name}-{n}")


def _resumable_state(folder: Path, signature: dict) -> tuple[int, list[dict[str, float]], str]:
    """(epochs done, their logs, a note) of the backup in ``folder``; ``_NotResumable`` says why not."""
    run = _json_or_none(folder / RUN_FILE)
    if not isinstance(run, dict):
        raise _NotResumable(_("it has no readable record of the parameters it was made with"))
    if run != signature:
        changed = ", ".join(
            f"{key} {run.get(key)!r} → {value!r}" for key, value in signature.items() if run.get(key) != value
        )
        raise _NotResumable(_("the parameters changed ({changes})").format(changes=changed))
    note = ""
    done = _backup_epoch(folder, "")
    if done is None:
        done = _backup_epoch(folder, ".bkp")
        if done is None:
            raise _NotResumable(_("its files are unreadable (cut short when training was interrupted?)"))
        for name in _KERAS_BACKUP_FILES:
            os.replace(folder / (name + ".bkp"), folder / name)
        note = _(" (the latest backup was cut short; using the one before it)")
    earlier = _json_or_none(folder / EPOCHS_FILE)
    if not isinstance(earlier, list) or len(earlier) < done or not all(isinstance(e, dict) for e in earlier):
        raise _NotResumable(
            _("its {file} does not hold the {done} finished epochs").format(file=EPOCHS_FILE, done=done)
        )
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
        verbose=2,  # one line per epoch: Keras' progress bar would store thousands of lines in a notebook
    )
    return TrainedModel(model, dict(history.history), _metadata(params, dataset))


def train_with_strategy(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The lesson's training under ``params.strategy`` (and ``params.mixed_precision``).

    ``params.batch_size`` is each replica's batch; the global batch is that times the replicas. The
    default and mirrored strategies use the lesson's ``fit`` (``train_model``, with the test set as validation
    data), the model built and compiled inside ``strategy.scope()`` so its variables are mirrored (under
    ``mixed_float16``, ``compile`` wraps Adam in a ``LossScaleOptimizer`` itself); multiworker uses
    ``distribute.train_custom_loop`` (``fit`` fails there with Keras 3, see
    ``distribute.MULTIWORKER_FIT_ISSUE``).
    """
    strategy = distribute.make_strategy(params.strategy)  # first: multiworker must start before other TF work
    batch = distribute.global_batch_size(params.batch_size, strategy)
    with distribute.mixed_precision_policy(params.mixed_precision):
        if params.strategy == "multiworker":
            set_seed(params.seed)  # train_model seeds the fit path itself
            return distribute.train_custom_loop(
                strategy,
                lambda: distribute.build_cnn_for_policy(dataset.num_classes),
                (dataset.x_train, dataset.y_train),
                epochs=params.epochs,
                global_batch=batch,
                learning_rate=params.learning_rate,
                seed=params.seed,
            )
        # The course's training helper: fit with resume backups, best checkpoint and TensorBoard logs.
        trained = train_model(params, dataset, distribute.build_cnn_for_policy, strategy=strategy)
    metadata = {"strategy": distribute.strategy_name(strategy), "replicas": strategy.num_replicas_in_sync}
    trained.metadata = {**trained.metadata, **metadata, "global_batch": batch, "loop": "fit"}
    return trained


def fit_seed_model(params: CourseParams, dataset: Dataset, *, strategy=None) -> TrainedModel:
    """The course's CNN trained as ``params.strategy`` and ``params.mixed_precision`` say.

    Goes through ``train_with_strategy`` unless a strategy is given.
    """
    if strategy is not None:
        return train_model(params, dataset, build_cnn, strategy=strategy)
    return train_with_strategy(params, dataset)


# --- saving and loading -----------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename: a crash leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make a shared artifacts folder unreadable to others
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(path: Path, value) -> None:
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(value, indent=1)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Push ``path`` (a file or, on POSIX, a folder's list of names) to the disk: a power cut keeps it."""
    if path.is_dir() and os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _metadata(params: CourseParams, dataset: Dataset) -> dict:
    return {
        "dataset": dataset.name,
        "data_origin": dataset.origin,  # where the images came from; run.json's data_source is the mode asked
        "data_description": dataset.source,
        "class_names": list(dataset.class_names),
        "parameters": {
            "epochs": params.epochs,
            "batch_size": params.batch_size,
            "seed": params.seed,
            "learning_rate": params.learning_rate,
        },
    }


def _stage_set(folder: Path, model: keras.Model, history: dict, metadata: dict) -> Path:
    """Write the whole new set into a new staging folder in ``folder``; ``model.json`` (last) holds the
    SHA-256 of the other files, which loading checks."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    try:
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would make a shared artifacts folder unreadable to others
        (staging / SAVE_MARKER).write_text(json.dumps({"written_by": "course_utils", **_this_process()}))
        model.save(staging / MODEL_FILE)
        (staging / HISTORY_FILE).write_text(json.dumps(history, indent=1))
        files = {name: _sha256(staging / name) for name in (MODEL_FILE, HISTORY_FILE)}
        (staging / METADATA_FILE).write_text(json.dumps({**metadata, "sha256": files}, indent=1))
        for name in SAVED_SET:
            _fsync(staging / name)
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _commit_staged_set(staging: Path) -> None:
    """The moment the new set counts as saved: ``COMMIT_FILE`` appears in the staging folder, in one rename.

    Killed before it, the old set stays; killed after it, the next save or load finishes moving the new one.
    """
    pending = staging / (COMMIT_FILE + ".tmp")
    pending.write_text(json.dumps(list(SAVED_SET)))
    _fsync(pending)
    _fsync(staging)
    os.replace(pending, staging / COMMIT_FILE)
    _fsync(staging)


def _move_committed_set(staging: Path, folder: Path) -> None:
    """Move a committed set's files over the old ones, then remove the staging folder. Safe to repeat after
    a kill at any point (files already moved are not there any more)."""
    for name in SAVED_SET:
        with contextlib.suppress(FileNotFoundError):  # moved already (by us before a kill, or another loader)
            os.replace(staging / name, folder / name)
    _fsync(folder)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging / COMMIT_FILE)  # first: what is left is then an uncommitted (empty) staging folder
    shutil.rmtree(staging, ignore_errors=True)


def _clear_interrupted_saves(folder: Path, *, any_owner: bool) -> None:
    """Finish or undo saves that were interrupted (killed, the kernel died): committed staging folders are
    moved into place, uncommitted ones removed, with the temporaries course_utils 0.1 left.

    Only what carries the course's ``SAVE_MARKER`` is touched, and with ``any_owner=False`` (loading, without
    the artifacts lock) only what a process that has ended (or this one) left.
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if _OLD_TEMPORARY.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink():
            if any_owner:
                with contextlib.suppress(OSError):
                    entry.unlink()
            continue
        if not entry.name.startswith(STAGING_PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            names = {p.name for p in entry.iterdir()}
        except OSError:
            continue
        marker = _json_or_none(entry / SAVE_MARKER)
        if names <= {SAVE_MARKER} and (any_owner or not names):
            shutil.rmtree(
                entry, ignore_errors=True
            )  # empty, or killed while writing the marker: nothing lost
            continue
        if not isinstance(marker, dict) or marker.get("written_by") != "course_utils":
            continue  # not provably the course's: left alone
        if not any_owner:
            pid, same_host = marker.get("pid"), marker.get("host") == socket.gethostname()
            if not same_host or (pid != os.getpid() and _pid_alive(pid) is not False):
                continue  # its save may still be running
        if COMMIT_FILE in names:
            _move_committed_set(entry, folder)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def save_trained_model(
    model: keras.Model, history, params: CourseParams, dataset: Dataset, test_accuracy: float
) -> Path:
    """Save the model, its history and a metadata file (parameters, data, versions, accuracy) as one set.

    ``history`` is ``fit``'s ``History`` or its ``.history`` dict; with ``training_callbacks`` it covers every
    epoch, resumed ones included. The set is written into a staging folder, committed there in one rename,
    then moved over the old set, under ``artifacts_dir``'s lock: killed at any moment, the folder loads as
    the old set or the new one, never a mix. Leftovers of interrupted saves are cleared first. Returns the
    model's path.
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
    with _artifacts_locked(folder):
        _clear_interrupted_saves(folder, any_owner=True)
        staging = _stage_set(folder, model, history, metadata)
        try:
            _commit_staged_set(staging)
        except Exception:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _move_committed_set(staging, folder)
    return folder / MODEL_FILE


def load_trained_model(params: CourseParams, dataset: Dataset | None = None) -> TrainedModel | None:
    """The model saved by 04 under ``artifacts_dir``, or None when there is none.

    Loads with Keras' ``safe_mode``, after finishing any save that was interrupted. Raises ``ArtifactError``
    naming the file and the fix for a corrupt or truncated file, a missing or unreadable ``model.json``, files
    from different saves, a model trained on another dataset than ``params.dataset``, or a model whose input
    shape or class count does not fit the data (``dataset``'s, else the course's 28 x 28 x 1 images).
    """
    folder = Path(params.artifacts_dir).expanduser()
    if folder.is_dir():
        _clear_interrupted_saves(folder, any_owner=False)
    model_path = folder / MODEL_FILE
    if not model_path.exists():
        return None
    metadata_path = folder / METADATA_FILE
    if not metadata_path.exists():
        raise ArtifactError(
            _("{path} has no {metadata} beside it, so what it was trained on is unknown: {rerun}.").format(
                path=model_path, metadata=METADATA_FILE, rerun=_(_RERUN)
            )
        )
    metadata = _read_json(metadata_path)
    if not isinstance(metadata, dict) or not isinstance(metadata.get("dataset"), str):
        raise ArtifactError(
            _("{path} does not say which dataset the model was trained on: {rerun}.").format(
                path=metadata_path, rerun=_(_RERUN)
            )
        )
    trained_on = metadata["dataset"]
    if trained_on != params.dataset:
        raise ArtifactError(
            _(
                "{path} was trained on {trained_on!r}, but dataset is {dataset!r}: its predictions "
                "would be nonsense. Re-run 04_compile_fit.ipynb with dataset={dataset!r}, or use another "
                "artifacts_dir."
            ).format(path=model_path, trained_on=trained_on, dataset=params.dataset)
        )
    history_path = folder / HISTORY_FILE
    _check_same_save(folder, metadata)
    history = _read_json(history_path) if history_path.exists() else {}
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ArtifactError(
            _("{path} is not a history (metric names and per-epoch lists): {rerun}.").format(
                path=history_path, rerun=_(_RERUN)
            )
        )
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as exc:
        raise ArtifactError(
            _(
                "{path} could not be loaded ({error}). The file is corrupt, truncated "
                "or not a model saved by 04: {rerun}."
            ).format(path=model_path, error=f"{type(exc).__name__}: {exc}", rerun=_(_RERUN))
        ) from exc
    _check_fits_data(model, model_path, params, dataset)
    return TrainedModel(model, history, _current_metadata(metadata))


def _current_metadata(metadata: dict) -> dict:
    """``model.json`` as this version writes it: before the key was renamed, the data's origin was saved as
    ``data_source``, which now means only the mode asked for (``run.json``, the parameters)."""
    if "data_source" not in metadata or "data_origin" in metadata:
        return metadata
    renamed = {key: value for key, value in metadata.items() if key != "data_source"}
    renamed["data_origin"] = metadata["data_source"]
    return renamed


def _check_same_save(folder: Path, metadata: dict) -> None:
    """The files must be the ones ``model.json`` lists (by SHA-256): a mix of two saves is refused."""
    listed = metadata.get("sha256")
    if not isinstance(listed, dict):
        return  # saved by course_utils 0.1, before sets were checked
    for name, expected in listed.items():
        path = folder / name
        actual = _sha256(path) if path.is_file() else None
        if actual == expected:
            continue
        found = _("it is missing") if actual is None else _("its SHA-256 differs")
        what = _("{path} is not the file saved with {metadata} ({found})").format(
            path=path, metadata=folder / METADATA_FILE, found=found
        )
        if name == MODEL_FILE:
            what = _(
                "{path} could not be loaded because it is not the file saved with {metadata} ({found})"
            ).format(path=path, metadata=METADATA_FILE, found=found)
        raise ArtifactError(
            _(
                "{what}, so it is corrupt, truncated or from another save. If 04 is saving into this folder "
                "right now, wait for it to finish and load again; otherwise {rerun}."
            ).format(what=what, rerun=_(_RERUN))
        )


def _check_fits_data(model: keras.Model, path: Path, params: CourseParams, dataset: Dataset | None) -> None:
    """Refuse a model whose input shape or class count does not fit the data, before ``predict`` fails."""
    try:
        takes, gives = tuple(model.input_shape)[1:], model.output_shape[-1]
    except (AttributeError, TypeError, ValueError, IndexError):
        return  # several inputs or outputs: not one of the course's models; Keras will say what is wrong
    if dataset is not None:
        shape, classes, name = tuple(dataset.x_test.shape[1:]), dataset.num_classes, dataset.name
    else:
        shape, classes, name = IMAGE_SHAPE, len(DATASETS[params.dataset].class_names), params.dataset
    fits = len(takes) == len(shape) and all(t is None or t == s for t, s in zip(takes, shape, strict=True))
    if fits and gives == classes:
        return
    raise ArtifactError(
        _(
            "{path} does not fit the data: the model takes input shape {takes} and gives {gives} classes, "
            "but {name}'s images have shape {shape} and it has {classes} classes, so predict would fail or "
            "give nonsense. To fix it, re-run 04_compile_fit.ipynb with dataset={dataset!r} (it trains and "
            "saves a model for this data), or use another artifacts_dir."
        ).format(
            path=path,
            takes=takes,
            gives=gives,
            name=name,
            shape=shape,
            classes=classes,
            dataset=params.dataset,
        )
    )


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
        raise ArtifactError(
            _("{path} is not readable JSON ({error}): {rerun}.").format(path=path, error=exc, rerun=_(_RERUN))
        ) from exc


def load_or_train(params: CourseParams, dataset: Dataset) -> TrainedModel:
    """The saved model when 04 has run; otherwise train it here through the same recipe, and say so."""
    trained = load_trained_model(params, dataset)
    if trained is not None:
        accuracy = trained.metadata.get("test_accuracy")
        note = ""
        if isinstance(accuracy, (int, float)):
            note = _(" (test accuracy {accuracy:.2%})").format(accuracy=accuracy)
        print(
            _("Loaded the model trained by 04 from {path}{note}.").format(
                path=Path(params.artifacts_dir) / MODEL_FILE, note=note
            )
        )
        return trained
    print(
        _("No saved model in {folder}: training it now as 04 does ({epochs} epochs).").format(
            folder=params.artifacts_dir, epochs=params.epochs
        )
    )
    trained = fit_seed_model(params, dataset)
    _loss, accuracy = trained.model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    save_trained_model(trained.model, trained.history, params, dataset, accuracy)
    trained.metadata = _read_json(params.artifacts_path / METADATA_FILE)
    return trained
