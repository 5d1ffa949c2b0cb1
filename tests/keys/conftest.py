"""Key tests: print the test-vector agreement summary at the end of the run."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from . import test_vectors

    lines = test_vectors.summary_lines()
    if lines:
        terminalreporter.section("JOSE test vectors")
        for line in lines:
            terminalreporter.write_line(line)
