"""The environment: quiet TensorFlow start-up, versions report, GPU memory growth and seeding."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys

from course_utils.i18n import _


def quiet_tensorflow_logs() -> None:
    """Keep TensorFlow's C++ log out of notebooks: set ``TF_CPP_MIN_LOG_LEVEL`` and import it quietly.

    Call it before anything imports TensorFlow or Keras (each notebook's setup cell does). Level 3 keeps
    only fatal messages (real failures still raise Python exceptions). TensorFlow 2.21 writes a few lines
    (oneDNN, CUDA drivers) from C++ before its log level applies, so its first import and device probe run
    with the process's stderr (file descriptor 2) sent to /dev/null.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" or "tensorflow" in sys.modules:
        return
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # probing for GPUs logs a CUDA error on CPU-only machines
    except ImportError:
        pass  # Keras on another backend, or TensorFlow missing: importing keras will say so
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def versions() -> dict[str, str]:
    """Versions of what the course runs on, for the top of every run and for bug reports."""
    import keras
    import numpy

    report = {
        "timestamp": _dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        report["tensorflow"] = tf.__version__
    return report


def setup_gpu(memory_growth: bool = True) -> list[str]:
    """Turn on memory growth for every visible GPU and return their names (empty on a CPU-only machine).

    Memory growth lets TensorFlow take GPU memory as it needs it instead of all at once, so a notebook
    shares the card with others. It can only be set before TensorFlow first uses the GPU; after that this
    function says what to do instead of raising.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print(_("No GPU found: TensorFlow will train on the CPU (slower, but the course is sized for it)."))
        return []
    names = [gpu.name for gpu in gpus]
    for gpu in gpus:
        try:
            if tf.config.experimental.get_memory_growth(gpu) != memory_growth:
                tf.config.experimental.set_memory_growth(gpu, memory_growth)
        except (RuntimeError, ValueError) as exc:
            print(
                _(
                    "Could not change memory growth on {gpu}: TensorFlow has already started using the GPU "
                    "({error}). Restart the kernel and call setup_gpu() before anything else to change it."
                ).format(gpu=gpu.name, error=exc)
            )
            return names
    growth = _("on") if memory_growth else _("off")
    print(
        _("{count} GPU(s) found, memory growth {growth}: {names}").format(
            count=len(gpus), growth=growth, names=", ".join(names)
        )
    )
    return names


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the Keras backend together, so the same run gives the same numbers.

    With ``deterministic`` TensorFlow also picks deterministic kernels (a little slower on a GPU).
    """
    from course_utils.params import check_value

    check_value("seed", seed)  # the rule check_params uses: a seed the notebook accepts is one seeding takes
    import keras

    keras.utils.set_random_seed(seed)  # Python's random, NumPy and the backend in one call
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
