"""Harness of the table-driven bad-input suites (tests/test_bad_inputs_*.py).

Each case runs the real `tim-bench` entry point in this process (fast: torch and mmengine are
imported once) and checks what a user sees: the exit status, no Python traceback, and a message
that names the offending file, row, video or key. A few cases per suite also go through a real
subprocess (``tests/helpers.tim_bench``) to prove the console script behaves the same.
"""
from __future__ import annotations

import contextlib
import io
import logging
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class CliOutcome:
    """What one in-process CLI call returned and printed."""

    code: int
    output: str


def run_cli(argv: Sequence[str]) -> CliOutcome:
    """Call ``tim_bench.cli.main.main(argv)``, capturing stdout, stderr, log records and warnings.

    An exception escaping ``main`` is what a user would see as a traceback: it is returned as
    output containing "Traceback" with exit code 1, so the suite's checks fail on it.
    """
    from tim_bench.cli.main import main

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    root = logging.getLogger()
    root.addHandler(handler)
    code: int
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf), warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda msg, cat, *a, **k: buf.write(f"{cat.__name__}: {msg}\n")
            try:
                code = int(main(list(argv)) or 0)
            except SystemExit as exc:  # argparse errors
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - a traceback is exactly what the suite must catch
                buf.write(traceback.format_exc())
                code = 1
    finally:
        root.removeHandler(handler)
    return CliOutcome(code, buf.getvalue())


def assert_clear_error(outcome: CliOutcome, *names: str, code: int | None = None) -> None:
    """A non-zero exit (``code`` when given), no traceback, and every one of ``names`` in the message."""
    assert "Traceback" not in outcome.output, outcome.output
    if code is None:
        assert outcome.code != 0, f"expected an error, got exit 0:\n{outcome.output}"
    else:
        assert outcome.code == code, f"expected exit {code}, got {outcome.code}:\n{outcome.output}"
    for name in names:
        assert name in outcome.output, f"message does not name {name!r}:\n{outcome.output}"


def assert_warned(outcome: CliOutcome, *names: str) -> None:
    """Exit 0, no traceback, and a warning that names every one of ``names``."""
    assert "Traceback" not in outcome.output, outcome.output
    assert outcome.code == 0, f"expected exit 0 with a warning, got {outcome.code}:\n{outcome.output}"
    lowered = outcome.output.lower()
    assert "warn" in lowered, f"no warning printed:\n{outcome.output}"
    for name in names:
        assert name in outcome.output, f"warning does not name {name!r}:\n{outcome.output}"
