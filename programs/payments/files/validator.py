"""XSD verdicts on the files of a release, from a process beside the one writing them.

A release writes its files one after another; validating one takes a third of the time writing it does, on the
same core. `Beside` hands each finished file to `python -m programs.payments.files.validator`, which validates it
(programs.payments.files.xsd.validate_file: the same function, the same findings) on the machine's other core
while the next file is written; `verdicts()` waits for the last. A plain subprocess rather than multiprocessing: a
Celery prefork worker is a daemon process, which may not start multiprocessing children. The child imports lxml
and the XSD module only, not Django.

If the process cannot be started, or stops before it has judged every file, the files it did not judge are
validated in this process: late, never skipped. `Inline` is the same interface validating at once, for a release of
one file, where starting a process costs more than it saves.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from programs.payments.files.xsd import Finding, validate_file

logger = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def module_environment() -> dict[str, str]:
    """The environment for `python -m programs.…` run beside this process: this one's, with the project on the path
    (a Celery worker or a test may have been started from elsewhere). reports/iso.py starts its validator so too."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}


def _timed(path: str | os.PathLike, name: str) -> tuple[list[Finding], float]:
    start = time.perf_counter()
    findings = validate_file(path, name)
    return findings, time.perf_counter() - start


class Inline:
    """Validates each file as it is submitted. `seconds`: the time validation took, summed over the files."""

    def __init__(self) -> None:
        self._verdicts: list[list[Finding]] = []
        self.seconds = 0.0

    def submit(self, path: str | os.PathLike, name: str) -> None:
        findings, seconds = _timed(path, name)
        self._verdicts.append(findings)
        self.seconds += seconds

    def verdicts(self) -> list[list[Finding]]:
        """The findings on each submitted file, in the order submitted ([] for a valid file)."""
        return list(self._verdicts)

    def __enter__(self) -> Inline:
        return self

    def __exit__(self, *exc_info) -> None:
        pass


class Beside(Inline):
    """Validates the submitted files in a second process, in the order submitted."""

    def __init__(self) -> None:
        super().__init__()
        self._submitted: list[tuple[str, str]] = []
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in verdicts/__exit__)
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", "programs.payments.files.validator"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                env=module_environment(),
                text=True,
            )
        except OSError as error:
            logger.warning("XSD validator process not started, validating in this one: %s", error)
            self._process = None

    def submit(self, path: str | os.PathLike, name: str) -> None:
        self._submitted.append((os.fspath(path), name))
        if self._process is not None:
            try:
                self._process.stdin.write(f"{os.fspath(path)}\t{name}\n")
                self._process.stdin.flush()
            except OSError:  # it stopped: verdicts() judges what it did not
                self._stop()

    def verdicts(self) -> list[list[Finding]]:
        answers: list[list[Finding]] = []
        if self._process is not None:
            out, _ = self._process.communicate()
            for line in out.splitlines():
                answer = json.loads(line)
                answers.append([Finding(found_line, message) for found_line, message in answer["findings"]])
                self.seconds += answer["seconds"]
            if self._process.returncode != 0:
                self._errors.seek(0)
                logger.warning(
                    "XSD validator process stopped (%s) after %d of %d files: %s",
                    self._process.returncode,
                    len(answers),
                    len(self._submitted),
                    self._errors.read().decode(errors="replace")[-500:],
                )
                answers = answers[: len(self._submitted)]
            self._process = None
        for path, name in self._submitted[len(answers) :]:
            findings, seconds = _timed(path, name)
            answers.append(findings)
            self.seconds += seconds
        return answers

    def _stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._process is not None:
            self._process.wait()
        self._process = None

    def __exit__(self, *exc_info) -> None:
        self._stop()  # the writer failed first, or verdicts() was never asked for
        self._errors.close()


def serve(requests, answers) -> None:
    """One JSON line for each `path<TAB>name` line read: {"findings": [[line, message], ...], "seconds": ...}."""
    for request in requests:
        path, name = request.rstrip("\n").split("\t")
        findings, seconds = _timed(path, name)
        answers.write(json.dumps({"findings": [[f.line, f.message] for f in findings], "seconds": seconds}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
