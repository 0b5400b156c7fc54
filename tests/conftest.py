"""Fixtures shared by the data tests."""

import os
import tempfile

import pytest


@pytest.fixture
def no_data_sources(tmp_path, monkeypatch):
    """No user cache, data folder or network: downloads go to a refused port, and pip sees no index and no
    user configuration unless a test serves one. Refused wheels are kept in ``tmp_path``, not in /tmp."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.delenv("FASHION_MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_DATA_MIRROR", "http://127.0.0.1:9/")  # discard port: refused at once
    (tmp_path / "no-index").mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-index"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from course_utils import data

    monkeypatch.setattr(data, "_UNAVAILABLE", set())  # what an earlier test could not reach


@pytest.fixture(autouse=True)
def english_messages():
    """Each test starts with course_utils' messages in English, whatever language a test before it chose."""
    from course_utils import i18n

    i18n.set_language("en")
