"""The parameter contract every notebook shares: names, defaults, one rule per name, checked before any work.

Each notebook's ``parameters`` cell holds those of these names that it uses; papermill (or the runner)
overrides them, and the next cell calls ``check_params(...)`` with them (the rest keep their defaults). A bad
value raises ``ValueError`` naming the parameter, the value and what is allowed; an unknown name is refused
with the closest known one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import tempfile
from pathlib import Path

from course_utils.i18n import _

STRATEGIES = ("auto", "default", "mirrored", "multiworker")
DATASET_NAMES = ("fashion_mnist", "mnist")  # course_utils.data.DATASETS describes each
DATA_SOURCES = ("auto", "offline", "sample", "full")  # what each means: course_utils.data.load_dataset


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
    strategy: str = "auto"  # tf.distribute: see 09_scaling_out
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


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _positive(high: int):
    def rule(name, value):
        if not _whole(value, 1, high):
            return _("{name} must be a positive integer (1 to {upper:,}), got {value!r}").format(
                name=name, upper=high, value=value
            )

    return rule


def _one_of(allowed):
    def rule(name, value):
        if not isinstance(value, str) or value not in allowed:
            return _("{name} must be one of {allowed}, got {value!r}").format(
                name=name, allowed=list(allowed), value=value
            )

    return rule


def _seed(name, value):
    if not _whole(value, 0, 2**32 - 1):  # what NumPy (and so Keras) accepts
        return _("seed must be an integer from 0 to 2**32 - 1, got {value!r}").format(value=value)


def _folder(name, value):
    if not isinstance(value, str) or not value.strip():
        return _("artifacts_dir must be a non-empty folder path, got {value!r}").format(value=value)
    problem = folder_write_problem(value)
    if problem:
        return _(
            "artifacts_dir must be a folder that can be created and written, got {value!r}: {problem}"
        ).format(value=value, problem=problem)


def _rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        return _("learning_rate must be a number in (0, 1], got {value!r}").format(value=value)


def _flag(name, value):
    if not isinstance(value, bool):
        return _("mixed_precision must be True or False, got {value!r}").format(value=value)


def _image(name, value):
    if not isinstance(value, str) or (value and not Path(value).expanduser().is_file()):
        return _('image_path must be an image file or "", got {value!r}, which is not a file').format(
            value=value
        )


RULES = {
    "epochs": _positive(1000),
    "batch_size": _positive(65_536),
    "seed": _seed,
    "dataset": _one_of(DATASET_NAMES),
    "data_source": _one_of(DATA_SOURCES),
    "artifacts_dir": _folder,
    "learning_rate": _rate,
    "strategy": _one_of(STRATEGIES),
    "mixed_precision": _flag,
    "image_path": _image,
}


def check_value(name: str, value):
    """Raise ``ValueError`` naming ``name`` unless ``value`` keeps its rule; return the value."""
    problem = RULES[name](name, value)
    if problem:
        raise ValueError(problem)
    return value


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


def check_params(**values) -> CourseParams:
    """Check the notebook's parameters (each against its rule) and return them as a ``CourseParams``.

    A notebook passes the names its parameters cell declares; every other name keeps the contract's default.
    """
    unknown = sorted(name for name in values if name not in PARAMETER_NAMES)
    if unknown:
        raise ValueError(unknown_parameter_message(unknown))
    for name, value in values.items():
        check_value(name, value)
    return dataclasses.replace(
        DEFAULTS, **{**values, "learning_rate": float(values.get("learning_rate", 1e-3))}
    )


def folder_write_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be created and written as a folder (``None`` when it can). It really tries
    (permission bits say nothing when running as root), then removes the folders it made."""
    folder = Path(path).expanduser().absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        return f"{exc.strerror or exc} ({type(exc).__name__})"
    finally:
        for made in (folder, *folder.parents)[: len(folder.parts) - len(existing.parts)]:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
    return None
