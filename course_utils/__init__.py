"""Helpers for the MNIST CNN notebook course.

One module per concern: ``env`` (versions, GPU, seeds, quiet logs), ``data`` and ``sources`` (offline-first,
verified datasets), ``models`` (the lesson's CNN), ``params`` (the notebooks' parameter contract),
``training`` (saving and loading the trained model), ``plots``, ``digits`` and ``drawing_pad``. Importing
the package or a module only defines things: each notebook's setup cell calls ``quiet_tensorflow_logs()``
itself, before TensorFlow is first imported.
"""

from course_utils.env import quiet_tensorflow_logs
from course_utils.i18n import set_language

__version__ = "0.1.0"

__all__ = ["quiet_tensorflow_logs", "set_language"]
