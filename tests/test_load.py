"""The load test (tests/loadtest.py) in its short form: a few seconds of concurrent traffic through a
real gunicorn, then every check of the full version (``make load``)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server
LOADTEST = Path(__file__).with_name("loadtest.py")


def test_short_load_test_passes(tmp_path):
    workdir = tmp_path / "load"
    finished = subprocess.run(
        [sys.executable, str(LOADTEST), "--short", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = finished.stdout + finished.stderr
    assert finished.returncode == 0, report
    assert "all checks passed" in finished.stdout, report
    # every check ran and passed, and the traffic was really concurrent
    assert len(re.findall(r"\[PASS\]", finished.stdout)) == 8 and "[FAIL]" not in finished.stdout, report
    issued, planned, answered = map(int, re.search(r"(\d+) issued of (\d+) planned, (\d+) answered", report).groups())
    assert issued == planned == answered > 0, report
    assert int(re.search(r"peak (\d+) in flight", report).group(1)) > 1, report
    assert "errors:       none" in report, report
