"""gunicorn settings for signal_rest: ``gunicorn -c python:signal_rest.gunicorn_conf wsgi:app``.

Bind address, workers and threads come from the environment (``SIGNAL_REST_BIND``,
``SIGNAL_REST_WORKERS``, ``SIGNAL_REST_THREADS``). The worker timeout is above signal-cli's time
limit plus the lock wait, so the service's own time limit (which stops signal-cli cleanly) always
fires first; the graceful timeout lets a running signal-cli finish on shutdown. The access log
carries each request's id and duration. Prometheus samples of all workers are shared through
``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory per start).
"""

import os
import shutil
import sys
import tempfile
from concurrent import futures

from gunicorn.glogging import Logger as _GunicornLogger
from gunicorn.workers.gthread import ThreadWorker as _GunicornThreadWorker

# the settings are read (and checked) before anything is created
from signal_rest import config as _config  # imports no prometheus_client (see create_app)

_settings = _config.from_environment()

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # set before prometheus_client is imported (by create_app, in the workers), so every worker
    # writes its samples here
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="signal-rest-metrics-")
    _own_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
else:
    _own_metrics_dir = None

bind = _settings["SIGNAL_REST_BIND"]
workers = _settings["SIGNAL_REST_WORKERS"]
threads = _settings["SIGNAL_REST_THREADS"]
worker_class = "signal_rest.gunicorn_conf.ThreadWorker"
timeout = int(_settings["SIGNAL_CLI_CMD_TIMEOUT"] + _settings["SIGNAL_CLI_LOCK_TIMEOUT"] + 30)
graceful_timeout = int(_settings["SIGNAL_CLI_CMD_TIMEOUT"] + 15)
keepalive = 5
# gunicorn's control socket sits at one path per user: two instances would take it from each other
control_socket_disable = True
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
logger_class = "signal_rest.gunicorn_conf.Logger"


class Logger(_GunicornLogger):
    """gunicorn's logger, writing its error and access lines in SIGNAL_REST_LOG_FORMAT: JSON lines,
    or its usual layout with control characters escaped, as the service's own lines are. What a
    client sends (a request line, a header gunicorn refuses) can then never start a line."""

    def setup(self, cfg):
        super().setup(cfg)
        from signal_rest import logs

        log_format = _settings["SIGNAL_REST_LOG_FORMAT"]
        for log, fmt, datefmt in (
            (self.error_log, self.error_fmt, self.datefmt),
            (self.access_log, self.access_fmt, None),
        ):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter(log_format, fmt, datefmt))


class ThreadWorker(_GunicornThreadWorker):
    """gunicorn's gthread worker, with a quick shutdown (SIGQUIT, and SIGINT: Ctrl-C) that cannot hang.

    gthread's own handler shuts its thread pool down and exits inside the signal handler. Landing
    in the middle of the worker handing a request to the pool, it either waits for the pool's lock
    that the interrupted code holds, or leaves a pool thread started but unregistered, which the
    interpreter then waits for at exit. Either way the worker hung until the master killed it after
    the graceful timeout. This handler only asks the worker's own loop to quit, as gthread's SIGTERM
    handler asks it to stop; the loop then shuts the pool down and exits, outside any handler.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: connections handed to the thread pool and not yet finished with
        self.in_pool = 0
        self.pool_size = self.cfg.threads + _settings["SIGNAL_REST_PUSH_CONNECTIONS"]

    def get_thread_pool(self):
        """The REST threads plus one per push connection (SIGNAL_REST_PUSH_CONNECTIONS), so that
        websocket and SSE clients, which hold a thread each while connected, never take a REST one."""
        return futures.ThreadPoolExecutor(max_workers=self.pool_size)

    # gthread accepts a connection whenever it has fewer than worker_connections, even with every
    # thread busy: the request then waits in this worker's pool while another worker's threads are
    # idle, and only gets in line for its account when a thread here is free, behind requests that
    # came later. Accepting only with a thread free leaves the connection in the listening socket's
    # queue, first come first served, for the first worker that can start on it. (All three methods
    # run in the worker's main loop.)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.in_pool < self.pool_size)

    def enqueue_req(self, conn):
        super().enqueue_req(conn)
        self.in_pool += 1
        if self.in_pool >= self.pool_size:
            super().set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.in_pool -= 1
        super().finish_request(conn, fs)

    def handle_exit(self, sig, frame):
        """SIGTERM: stop gracefully, and end the push sessions at once (clients reconnect elsewhere)."""
        super().handle_exit(sig, frame)
        self.method_queue.defer(_close_push_sessions)

    def handle_quit(self, sig, frame):
        """Ask the worker's loop to quit at once (the queue it uses is safe in a signal handler)."""
        self.alive = False
        self.method_queue.defer(self._quit)

    def _quit(self):
        _close_push_sessions()
        self.cfg.worker_int(self)
        self.tpool.shutdown(wait=False)
        sys.exit(0)


def _close_push_sessions():
    from signal_rest.receiving import push

    push.close_all()


def when_ready(server):
    """Ask signal-cli's version once, here, so that no worker starts signal-cli for /v1/about, and
    warn (at every start) when that signal-cli cannot work with Signal's servers."""
    from signal_rest import create_app
    from signal_rest.signal_cli.status import log_support

    try:
        app = create_app()
    except ValueError as error:
        server.log.warning("signal-cli's version is unknown: %s", error)
        return
    log_support(app.extensions["signal_rest.signal_cli"].support(), server.log)


def child_exit(server, worker):
    """A worker is gone: its live gauges no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """The master stops: remove the metrics directory it made."""
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
