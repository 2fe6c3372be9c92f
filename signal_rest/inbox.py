"""The inbox: every envelope signal-cli hands over, stored before anything else happens to it.

Once ``signal-cli receive`` has printed a message, Signal's servers have forgotten it: this SQLite
file (WAL mode) is where it lives until a client has it. Each line is stored exactly once, with its
account, its arrival time and signal-cli's JSON unchanged; ``GET /v1/receive`` hands out what has
not been handed out yet, oldest first, marking it in the same transaction.
"""

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

SCHEMA_VERSION = 1

#: schema version -> the statements that bring the previous version to it
_MIGRATIONS = {
    1: [
        """CREATE TABLE envelopes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account TEXT NOT NULL,
            received_at REAL NOT NULL,
            digest TEXT NOT NULL,
            line TEXT NOT NULL,
            handed_out_at REAL,
            UNIQUE (account, digest)
        )""",
        "CREATE INDEX envelopes_waiting ON envelopes (account, handed_out_at, id)",
    ],
}


class Inbox:
    """The envelopes of every account, in one SQLite file."""

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
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        if not self._migrated:
            with self._migrate_lock:
                if not self._migrated:
                    self._migrate(connection)
                    self._migrated = True
        return connection

    @staticmethod
    def _migrate(connection):
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {target}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def store(self, account, line):
        """Store one envelope line (text); a line stored before is ignored. Returns True if new."""
        digest = hashlib.sha256(line.encode("utf-8")).hexdigest()
        cursor = self._connection().execute(
            "INSERT OR IGNORE INTO envelopes (account, received_at, digest, line) VALUES (?, ?, ?, ?)",
            (account, time.time(), digest, line),
        )
        return cursor.rowcount == 1

    def hand_out(self, account, limit=None):
        """The oldest envelopes of ``account`` not handed out yet (up to ``limit``), now marked handed out."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            rows = connection.execute(
                "SELECT id, line FROM envelopes WHERE account = ? AND handed_out_at IS NULL ORDER BY id LIMIT ?",
                (account, -1 if limit is None else limit),
            ).fetchall()
            connection.executemany(
                "UPDATE envelopes SET handed_out_at = ? WHERE id = ?", [(time.time(), row[0]) for row in rows]
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return [line for _, line in rows]

    def waiting(self, account):
        """How many envelopes of ``account`` wait to be handed out."""
        return (
            self._connection()
            .execute("SELECT COUNT(*) FROM envelopes WHERE account = ? AND handed_out_at IS NULL", (account,))
            .fetchone()[0]
        )
