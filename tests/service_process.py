"""signal_rest as it is deployed: gunicorn with the package's own settings, on 127.0.0.1.

:class:`GunicornService` starts ``gunicorn -c python:signal_rest.gunicorn_conf wsgi:app`` against a
given signal-cli (usually the fake) on a free loopback port, with a private temporary directory
(``TMPDIR``) so that a test can see every temporary file the service leaves behind, and lists the
processes it started (its workers, and below them any signal-cli still running). Used by
tests/test_faults.py and tests/loadtest.py.
"""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from processes import alive, child_pids, descendant_pids

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
#: gunicorn 23+ opens a control socket at one fixed path per user; parallel test servers would share it
GUNICORN_FLAGS = ["--no-control-socket"]


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class GunicornService:
    """A gunicorn running signal_rest; use as a context manager (``with GunicornService(...) as s``)."""

    def __init__(self, directory, signal_cli_bin, config_dir, *, workers=1, threads=4, settings=None):
        self.directory = Path(directory)
        self.temp = self.directory / "tmp"
        self.metrics = self.directory / "metrics"
        self.log_path = self.directory / "gunicorn.log"
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.process = None
        self.env = {
            **os.environ,
            "SIGNAL_REST_BIND": f"{LOOPBACK}:{self.port}",
            "SIGNAL_REST_WORKERS": str(workers),
            "SIGNAL_REST_THREADS": str(threads),
            "SIGNAL_CLI_BIN": str(signal_cli_bin),
            "SIGNAL_CLI_CONFIG_DIR": str(config_dir),
            "SIGNAL_REST_DEFAULT_ACCOUNT": "",
            "PYTHON_SIGNAL_CLI_REST_API_ACCOUNT": "",
            "SIGNAL_REST_API_TOKENS": "",
            "SIGNAL_REST_API_TOKENS_FILE": "",
            # every temporary file of the service lands here, where it can be seen
            "TMPDIR": str(self.temp),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics),
            **{name: str(value) for name, value in (settings or {}).items()},
        }

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self, timeout=60.0):
        """Start gunicorn and wait until it answers /v1/health."""
        self.temp.mkdir(parents=True, exist_ok=True)
        self.metrics.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:signal_rest.gunicorn_conf",
                    *GUNICORN_FLAGS,
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/v1/health", timeout=2)[0] == 204:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self, timeout=60.0):
        """Stop gunicorn gracefully (SIGTERM), or kill it after ``timeout`` seconds; reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in descendant_pids(self.process.pid):
                    _kill(pid)
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.metrics, ignore_errors=True)

    def log(self):
        """What gunicorn and the app wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def request(self, method, path, body=None, *, headers=None, timeout=30.0):
        """One request on a fresh connection; returns (status, body bytes)."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def workers(self):
        """The pids of gunicorn's workers."""
        return child_pids(self.process.pid) if self.process else []

    def stray_processes(self):
        """Processes below the workers that are still alive: signal-cli runs (and what they started)."""
        return [pid for worker in self.workers() for pid in descendant_pids(worker) if alive(pid)]

    def temp_files(self):
        """What the service left in its temporary directory."""
        return sorted(path.name for path in self.temp.iterdir()) if self.temp.exists() else []


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
