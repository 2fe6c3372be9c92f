"""The service's SQLite files (the inbox, the idempotency keys): one connection per thread, WAL mode,
a schema brought up to date once per process, and write transactions that take the file at once."""

import contextlib
import sqlite3
import threading
import time
from pathlib import Path


class Database:
    """One SQLite file; subclasses bring its schema up to date in :meth:`_migrate`."""

    def __init__(self, path):
        self.path = Path(path)
        self._local = threading.local()
        self._migrated = False
        self._migrate_lock = threading.Lock()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
        if not self._migrated:
            with self._migrate_lock:
                if not self._migrated:
                    self._prepare(connection)
                    self._migrated = True
        return connection

    def _prepare(self, connection):
        """WAL mode (kept in the file) and the schema, once per process."""
        deadline = time.monotonic() + 30
        while True:
            # switching to WAL needs the file to itself and does not wait for a busy one: retry
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._migrate(connection)

    def _migrate(self, connection):
        """Create or update the schema (``connection`` is in autocommit mode)."""

    @contextlib.contextmanager
    def _transaction(self):
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
