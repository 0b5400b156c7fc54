"""Helpers for the MNIST CNN notebook course.

One module per concern: ``env`` (versions, GPU, seeds, quiet logs), ``data`` (offline-first datasets),
``models`` (the lesson's CNN), ``params`` (the notebooks' parameter contract), ``runner`` (instructors'
re-runs). Importing the package first keeps TensorFlow's C++ start-up log out of notebooks.
"""

from course_utils.env import quiet_tensorflow_startup
from course_utils.i18n import set_language

__version__ = "0.1.0"

__all__ = ["set_language"]

quiet_tensorflow_startup()
