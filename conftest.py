"""Suite-wide policy: a test that should have run must not pass as "skipped".

Skips hide missing services (PostgreSQL down, a dependency not installed) behind a green run.
Any skipped test fails the session unless the run opted out on purpose:
``REGISTRY_TEST_SKIP_POSTGRES=1`` (the PostgreSQL tests are skipped by request) or
``REGISTRY_TEST_ALLOW_SKIPS=1``. pytest's own "no tests ran" exit status (5) already fails
``make test``.
"""

from __future__ import annotations

import os

import pytest

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    allowed = os.environ.get("REGISTRY_TEST_SKIP_POSTGRES") == "1" or (
        os.environ.get("REGISTRY_TEST_ALLOW_SKIPS") == "1"
    )
    if _skipped and not allowed and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: {len(_skipped)} test(s) skipped that should have run, "
                f"e.g. {_skipped[0]}; set REGISTRY_TEST_ALLOW_SKIPS=1 to allow",
                red=True,
            )
        session.exitstatus = 1
