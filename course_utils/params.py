"""The parameter contract every notebook shares: names, defaults, and validation before any work.

Each notebook's ``parameters`` cell holds those of these names that it uses; papermill (or the runner)
overrides them, and the next cell calls ``check_params(...)`` with them (the rest keep their defaults),
which raises ``ValueError`` naming the parameter, the bad value and what is allowed, before any data is
loaded or model built. Names that papermill injected but the contract
does not know (``-p epoch 3``) are refused there too, with the closest known name.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import tempfile
from pathlib import Path

from course_utils.data import check_data_source, check_dataset
from course_utils.env import check_seed
from course_utils.i18n import _

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


@dataclasses.dataclass(frozen=True)
class CourseParams:
    """Every knob an instructor may change, with the lesson's defaults."""

    epochs: int = 10
    batch_size: int = 32
    seed: int = 42
    dataset: str = "mnist"
    data_source: str = "auto"
    artifacts_dir: str = "artifacts"
    learning_rate: float = 1e-3
    strategy: str = "auto"  # tf.distribute: see course_utils.training and 09_scaling_out
    mixed_precision: bool = False  # float16 compute with float32 outputs, for GPUs
    image_path: str = ""  # an image of a handwritten digit for 06_your_digit; "" = the shipped examples

    @property
    def artifacts_path(self) -> Path:
        """``artifacts_dir`` as a path, created if missing."""
        path = Path(self.artifacts_dir).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path


DEFAULTS = CourseParams()
PARAMETER_NAMES = tuple(field.name for field in dataclasses.fields(CourseParams))


PAPERMILL_PARAMETERS_COMMENT = "# Parameters"  # the first line of the cell papermill injects


def _positive_int(name: str, value, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise ValueError(
            _("{name} must be a positive integer (1 to {upper:,}), got {value!r}").format(
                name=name, upper=upper, value=value
            )
        )
    return value


def _one_of(name: str, value, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            _("{name} must be one of {allowed}, got {value!r}").format(
                name=name, allowed=list(allowed), value=value
            )
        )


def injected_parameter_names() -> list[str]:
    """The names assigned in the parameters cell that papermill injected into this IPython kernel, if any.

    papermill's cell starts with the line ``# Parameters``, and IPython keeps the source of every executed
    cell in its input history, so the names can be read back without any change to the notebook.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or []
    for source in reversed(history):
        if source.lstrip().split("\n", 1)[0].rstrip() == PAPERMILL_PARAMETERS_COMMENT:
            return assigned_names(source)
    return []


def assigned_names(source: str) -> list[str]:
    """The names a cell assigns at its top level (``epochs = 10``), in order; [] if it is not Python."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]


def unknown_parameter_message(names) -> str:
    """``unknown parameter 'epoch'; did you mean 'epochs'?`` for each name, or the contract's names."""
    parts = []
    for name in names:
        close = difflib.get_close_matches(name, PARAMETER_NAMES, n=1)
        if close:
            hint = _("did you mean {name!r}?").format(name=close[0])
        else:
            hint = _("the contract's names are {names}").format(names=list(PARAMETER_NAMES))
        parts.append(_("unknown parameter {name!r}; {hint}").format(name=name, hint=hint))
    return "; ".join(parts)


def folder_write_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be created and written as a folder (``None`` when it can); leaves no trace.

    It really tries: creates the missing folders, writes and deletes a small file, then removes the folders
    it created. Permission bits alone say nothing when running as root.
    """
    folder = Path(path).expanduser().absolute()
    missing = []
    existing = folder
    while not existing.exists() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        return _("{path} is a file").format(path=existing)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        return f"{exc.strerror or exc} ({type(exc).__name__})"
    finally:
        for created in missing:  # deepest first; rmdir never removes a folder that holds anything
            try:
                created.rmdir()
            except OSError:
                break
    return None


def check_params(**values) -> CourseParams:
    """Validate the notebook's parameters and return them as a ``CourseParams``.

    A notebook passes the names its parameters cell declares; every other name keeps the contract's default.

    Unknown names are refused too, with the closest known one: those passed here, and those that papermill
    injected into the notebook (``papermill ... -p epoch 3``), so a typo does not pass silently. A value of
    the wrong type gets the same ``ValueError`` as a bad value, naming the parameter.
    """
    given = list(values) + injected_parameter_names()
    unknown = sorted({name for name in given if name not in PARAMETER_NAMES})
    if unknown:
        raise ValueError(unknown_parameter_message(unknown))
    params = dataclasses.replace(DEFAULTS, **values)

    _positive_int("epochs", params.epochs, 1000)
    _positive_int("batch_size", params.batch_size, 65_536)
    check_seed(params.seed)
    check_dataset(params.dataset)
    check_data_source(params.data_source)
    if not isinstance(params.artifacts_dir, str) or not params.artifacts_dir.strip():
        raise ValueError(
            _("artifacts_dir must be a non-empty folder path, got {value!r}").format(
                value=params.artifacts_dir
            )
        )
    if "artifacts_dir" in values:  # a notebook that does not declare it never writes there: no disk check
        artifacts = Path(params.artifacts_dir).expanduser()
        if artifacts.exists() and not artifacts.is_dir():
            raise ValueError(
                _("artifacts_dir must be a folder, got {value!r}, which is a file").format(
                    value=params.artifacts_dir
                )
            )
        problem = folder_write_problem(artifacts)
        if problem:
            raise ValueError(
                _(
                    "artifacts_dir must be a folder that can be created and written, got {value!r}: {problem}"
                ).format(value=params.artifacts_dir, problem=problem)
            )
    lr = params.learning_rate
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1:
        raise ValueError(_("learning_rate must be a number in (0, 1], got {value!r}").format(value=lr))
    _one_of("strategy", params.strategy, STRATEGIES)
    if not isinstance(params.mixed_precision, bool):
        raise ValueError(
            _("mixed_precision must be True or False, got {value!r}").format(value=params.mixed_precision)
        )
    if not isinstance(params.image_path, str):
        raise ValueError(
            _('image_path must be a path to an image file or "", got {value!r}').format(
                value=params.image_path
            )
        )
    if params.image_path and not Path(params.image_path).expanduser().is_file():
        raise ValueError(
            _('image_path must be an image file or "", got {value!r}, which is not a file').format(
                value=params.image_path
            )
        )
    return dataclasses.replace(params, learning_rate=float(lr))
