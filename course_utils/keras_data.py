"""Whether the blog's ``keras.datasets.<name>.load_data()`` can run now without leaving the learner waiting.

Keras' download has no time limit, and its host is blocked or very slow on many networks. ``01_data.ipynb``
calls ``load_data()`` only when ``keras_can_load`` says yes, and otherwise takes the same arrays from
``course_utils.data.load_dataset``.
"""

from __future__ import annotations

import socket
import threading

from course_utils.data import DATASETS, IDX_FILES, keras_cache_folder
from course_utils.sources import sha256_of

# Where keras.datasets downloads from (the host of its origin URLs), and the port it uses.
KERAS_SERVER = ("storage.googleapis.com", 443)

# The files each load_data() reads from Keras' cache (``data.keras_cache_folder``), with the SHA-256 Keras
# checks before it uses one (None: Keras uses the file without a check). With a file missing, or with a
# file that fails Keras' check, load_data() downloads.
KERAS_FILES = {
    "mnist": {"mnist.npz": DATASETS["mnist"].checksums["mnist.npz"]},
    "fashion_mnist": dict.fromkeys(IDX_FILES),
}


def keras_has_cached(dataset: str) -> bool:
    """True when Keras' cache holds every file ``load_data()`` reads for ``dataset``, as Keras accepts it."""
    for name, sha256 in KERAS_FILES[dataset].items():
        path = keras_cache_folder(DATASETS[dataset]) / name
        if not path.is_file() or sha256 not in (None, sha256_of(path)):
            return False
    return True


def server_answers(address: tuple[str, int] = KERAS_SERVER, timeout: float = 3.0) -> bool:
    """True when ``address`` accepts a TCP connection within ``timeout`` seconds, name lookup included.

    The attempt runs in a background thread, because a name lookup can wait longer than any socket timeout.
    """
    answered = threading.Event()

    def connect() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                answered.set()
        except OSError:
            pass

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return answered.is_set()


def keras_can_load(dataset: str, data_source: str, timeout: float = 3.0) -> bool:
    """True when ``keras.datasets.<dataset>.load_data()`` may run now: ``data_source`` allows a download
    ("auto" or "full"), and Keras' cache already holds the data or Keras' server answers within ``timeout``
    seconds. Never raises for a network failure and never waits much longer than ``timeout``."""
    if data_source not in ("auto", "full") or dataset not in KERAS_FILES:
        return False
    return keras_has_cached(dataset) or server_answers(KERAS_SERVER, timeout)
