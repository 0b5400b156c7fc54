"""The parameter contract every notebook shares: names, defaults, and validation before any work.

Each notebook's ``parameters`` cell holds these names; papermill (or the runner) overrides them, and the
next cell calls ``check_params(...)``, which raises ``ValueError`` naming the parameter, the bad value and
what is allowed, before any data is loaded or model built.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from course_utils.data import DATA_SOURCES, DATASETS

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


def _positive_int(name: str, value, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise ValueError(f"{name} must be a positive integer (1 to {upper:,}), got {value!r}")
    return value


def check_params(**values) -> CourseParams:
    """Validate the notebook's parameters and return them as a ``CourseParams``.

    Unknown names are refused too, so a typo in a papermill ``-p`` does not pass silently.
    """
    unknown = sorted(set(values) - set(PARAMETER_NAMES))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; the contract's names are {list(PARAMETER_NAMES)}")
    params = dataclasses.replace(DEFAULTS, **values)

    _positive_int("epochs", params.epochs, 1000)
    _positive_int("batch_size", params.batch_size, 65_536)
    if isinstance(params.seed, bool) or not isinstance(params.seed, int) or not 0 <= params.seed < 2**32:
        raise ValueError(f"seed must be an integer from 0 to 2**32 - 1, got {params.seed!r}")
    if params.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {params.dataset!r}")
    if params.data_source not in DATA_SOURCES:
        raise ValueError(f"data_source must be one of {list(DATA_SOURCES)}, got {params.data_source!r}")
    if not isinstance(params.artifacts_dir, str) or not params.artifacts_dir.strip():
        raise ValueError(f"artifacts_dir must be a non-empty folder path, got {params.artifacts_dir!r}")
    artifacts = Path(params.artifacts_dir).expanduser()
    if artifacts.exists() and not artifacts.is_dir():
        raise ValueError(f"artifacts_dir must be a folder, got {params.artifacts_dir!r}, which is a file")
    lr = params.learning_rate
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1:
        raise ValueError(f"learning_rate must be a number in (0, 1], got {lr!r}")
    if params.strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {params.strategy!r}")
    if not isinstance(params.mixed_precision, bool):
        raise ValueError(f"mixed_precision must be True or False, got {params.mixed_precision!r}")
    if not isinstance(params.image_path, str):
        raise ValueError(f'image_path must be a path to an image file or "", got {params.image_path!r}')
    if params.image_path and not Path(params.image_path).expanduser().is_file():
        raise ValueError(
            f'image_path must be an image file or "", got {params.image_path!r}, which is not a file'
        )
    return dataclasses.replace(params, learning_rate=float(lr))
