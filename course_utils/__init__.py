"""Helpers for the MNIST CNN notebook course: only what the notebooks import.

``env`` (versions, GPU, seeds, quiet logs), ``data`` and ``sources`` (offline-first, verified datasets),
``keras_data`` (whether the blog's ``load_data()`` can run), ``params`` (the parameter contract), ``models``,
``training`` (one new folder per saved model), ``distribute``, ``plots``, ``digits``, ``drawing_pad``,
``i18n`` and ``exercises``. Importing a module only defines things: each notebook's setup cell calls
``quiet_tensorflow_logs()`` itself, before TensorFlow is first imported.
"""

from course_utils.env import quiet_tensorflow_logs
from course_utils.i18n import set_language

__version__ = "0.1.0"

__all__ = ["quiet_tensorflow_logs", "set_language"]
