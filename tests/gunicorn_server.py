"""A real gunicorn for tests: ``gunicorn -c python:signal_rest.gunicorn_conf wsgi:app`` on a free
port of 127.0.0.1, with the fake signal-cli, its output in files, stopped with SIGTERM.

:class:`Gunicorn` starts the master in a ``with`` block and makes sure it is gone afterwards;
:meth:`Gunicorn.stop` is the clean stop a test can assert on (exit status, metrics directory).
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from processes import child_pids, terminate

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


def free_port():
    """A TCP port of 127.0.0.1 nobody listens on (right now)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving the service; ``settings`` are environment variables added to ours."""

    def __init__(self, directory, workers=2, threads=2, *, session=False, **settings):
        #: with ``session``, gunicorn runs in a session (and process group) of its own, as in a terminal
        self.session = session
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        #: gunicorn's (and so the metrics directory's) TMPDIR
        self.tmp = self.directory / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.port = free_port()
        self.workers = workers
        self.stdout_path = self.directory / "stdout.log"
        self.stderr_path = self.directory / "stderr.log"
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SIGNAL_REST_", "SIGNAL_CLI_", "PROMETHEUS_"))
        }
        environment.update(
            {
                "SIGNAL_REST_BIND": f"{LOOPBACK}:{self.port}",
                "SIGNAL_REST_WORKERS": str(workers),
                "SIGNAL_REST_THREADS": str(threads),
                "TMPDIR": str(self.tmp),
                "XDG_DATA_HOME": str(self.directory / "xdg"),
                **{key: str(value) for key, value in settings.items()},
            }
        )
        self.environment = environment
        self.process = None

    def __enter__(self):
        executable = Path(sys.executable).parent / "gunicorn"
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [str(executable), "-c", "python:signal_rest.gunicorn_conf", "wsgi:app"],
                cwd=REPO,
                env=self.environment,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                start_new_session=self.session,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info):
        terminate(self.process, 30)

    def _wait_until_ready(self, timeout=40.0):
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"gunicorn exited {self.process.returncode}: {self.stderr()}"
            booted = self.stderr().count("Booting worker with pid")
            if booted >= self.workers:
                try:
                    if self.request("GET", "/v1/health")[0] == 204:
                        return
                except OSError:
                    pass
            assert time.monotonic() < deadline, f"gunicorn did not come up: {self.stderr()}"
            time.sleep(0.1)

    @property
    def url(self):
        """The base URL."""
        return f"http://{LOOPBACK}:{self.port}"

    def worker_pids(self):
        """The pids of the master's workers."""
        return set(child_pids(self.process.pid))

    def metrics_dir(self):
        """The PROMETHEUS_MULTIPROC_DIR the configuration made (in our TMPDIR), or None."""
        made = sorted(self.tmp.glob("signal-rest-metrics-*"))
        return made[0] if made else None

    def request(self, method, path, headers=None, body=None):
        """One request on a new connection: (status, headers, body bytes)."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def ctrl_c(self):
        """SIGINT to gunicorn's whole process group, as a terminal sends it on Ctrl-C (needs ``session``)."""
        os.killpg(self.process.pid, signal.SIGINT)

    def stop(self, timeout=30):
        """SIGTERM the master and wait for it; returns its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stdout(self):
        """What gunicorn wrote to stdout so far (the access log)."""
        return self.stdout_path.read_text("utf-8", "replace")

    def stderr(self):
        """What gunicorn wrote to stderr so far (its error log and the service's log)."""
        return self.stderr_path.read_text("utf-8", "replace")


@contextlib.contextmanager
def beside(server, command):
    """``signal-rest <command>`` (``daemon``, ``receiver``) running beside ``server``, with its
    environment, until the block ends (then SIGTERM); yields the process."""
    process = subprocess.Popen([sys.executable, "-m", "signal_rest.cli", command], env=server.environment, cwd=REPO)
    try:
        yield process
    finally:
        terminate(process)
