"""The inbox: every envelope signal-cli hands over, stored before anything else happens to it.

Once ``signal-cli receive`` has printed a message, Signal's servers have forgotten it, so each line
is copied into this SQLite database (WAL mode) as soon as signal-cli has written it (the spool files
that carry it there are :mod:`signal_rest.receiving.spool`).

Each envelope is stored exactly once (keyed by account and the hash of signal-cli's line), with
its arrival time and the line unchanged. ``GET /v1/receive`` hands out what has not been handed
out yet, oldest first, marking it in the same transaction. Webhook deliveries are rows created in
the transaction that stores the envelope, so none can be forgotten. Push clients (websocket, SSE)
read by id instead, without taking anything from the pollers; each account's push cursor is the
last id written to one of them, where a client that names no ``since`` starts.
"""

import contextlib
import hashlib
import json
import logging
import time
import uuid
from pathlib import Path

from ..database import Database

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3

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
    2: [
        "ALTER TABLE envelopes ADD COLUMN kind TEXT NOT NULL DEFAULT 'other'",
        """CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            envelope_id INTEGER NOT NULL REFERENCES envelopes (id) ON DELETE CASCADE,
            target TEXT NOT NULL,
            delivery_id TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            delivered_at REAL,
            abandoned_at REAL,
            last_error TEXT
        )""",
        "CREATE INDEX deliveries_due ON deliveries (target, account, delivered_at, abandoned_at, id)",
        """CREATE TABLE receiver_status (
            account TEXT PRIMARY KEY,
            last_success_at REAL,
            last_error TEXT,
            last_error_at REAL
        )""",
        """CREATE TABLE target_status (
            target TEXT PRIMARY KEY,
            last_delivered_at REAL,
            last_error TEXT,
            last_error_at REAL
        )""",
    ],
    3: [
        """CREATE TABLE push_cursors (
            account TEXT PRIMARY KEY,
            last_id INTEGER NOT NULL
        )""",
    ],
}


def envelope_kind(envelope):
    """What a received line carries (``envelope``: the line parsed): data, reaction, receipt, typing,
    sync, call, story or other."""
    try:
        envelope = envelope.get("envelope") or {}
    except AttributeError:
        return "other"
    data = envelope.get("dataMessage")
    if data is not None:
        return "reaction" if data.get("reaction") else "data"
    for key, kind in (
        ("editMessage", "data"),
        ("receiptMessage", "receipt"),
        ("typingMessage", "typing"),
        ("syncMessage", "sync"),
        ("callMessage", "call"),
        ("storyMessage", "story"),
    ):
        if envelope.get(key) is not None:
            return kind
    return "other"


class Inbox(Database):
    """The envelopes of every account, in one SQLite file.

    ``targets_for(account, kind)`` returns the webhook targets an envelope goes to (none by default).
    """

    def __init__(self, path, targets_for=None):
        super().__init__(path)
        self.targets_for = targets_for or (lambda account, kind: ())

    def _migrate(self, connection):
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

    # -- storing --

    def store(self, account, line, envelope=None):
        """Store one envelope line (text) and its webhook deliveries; a line stored before is ignored.

        ``envelope`` is the line already parsed (it gives the kind); without it the line is parsed
        here. Returns True if the line was new.
        """
        if envelope is None:
            envelope = _parsed(line)
        digest = hashlib.sha256(line.encode("utf-8")).hexdigest()
        kind = envelope_kind(envelope)
        now = time.time()
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO envelopes (account, received_at, digest, line, kind) VALUES (?, ?, ?, ?, ?)",
                (account, now, digest, line, kind),
            )
            if cursor.rowcount != 1:
                return False
            envelope_id = cursor.lastrowid
            connection.executemany(
                "INSERT INTO deliveries (envelope_id, target, delivery_id, account, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (envelope_id, target, str(uuid.uuid4()), account, now, now)
                    for target in self.targets_for(account, kind)
                ],
            )
        return True

    # -- handing out --

    def reserve(self, account, limit=None):
        """The oldest envelopes of ``account`` not handed out yet (up to ``limit``), marked handed out
        in the same transaction; returns (their ids, for :meth:`put_back`, and their lines)."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, line FROM envelopes WHERE account = ? AND handed_out_at IS NULL ORDER BY id LIMIT ?",
                (account, -1 if limit is None else limit),
            ).fetchall()
            connection.executemany(
                "UPDATE envelopes SET handed_out_at = ? WHERE id = ?", [(time.time(), row[0]) for row in rows]
            )
        return [row[0] for row in rows], [row[1] for row in rows]

    def hand_out(self, account, limit=None):
        """The lines :meth:`reserve` takes, for callers that cannot fail after taking them."""
        return self.reserve(account, limit)[1]

    def put_back(self, ids):
        """Make envelopes that could not be handed out (the client was gone) wait again."""
        with self._transaction() as connection:
            connection.executemany("UPDATE envelopes SET handed_out_at = NULL WHERE id = ?", [(i,) for i in ids])

    # -- push clients --

    def read_after(self, account, after, limit=100):
        """Up to ``limit`` envelopes of ``account`` with an id above ``after``, oldest first, as
        (id, line); reading takes nothing from the pollers."""
        return (
            self._connection()
            .execute(
                "SELECT id, line FROM envelopes WHERE account = ? AND id > ? ORDER BY id LIMIT ?",
                (account, after, limit),
            )
            .fetchall()
        )

    def last_id(self):
        """The id of the newest envelope of any account (0 when there is none)."""
        return self._connection().execute("SELECT COALESCE(MAX(id), 0) FROM envelopes").fetchone()[0]

    def push_cursor(self, account):
        """The last id written to a push client of ``account`` (0: none yet)."""
        row = self._connection().execute("SELECT last_id FROM push_cursors WHERE account = ?", (account,)).fetchone()
        return row[0] if row else 0

    def pushed(self, account, envelope_id):
        """Record that a push client of ``account`` got everything up to ``envelope_id``."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO push_cursors (account, last_id) VALUES (?, ?)"
                " ON CONFLICT (account) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)",
                (account, envelope_id),
            )

    def waiting(self, account):
        """How many envelopes of ``account`` wait to be handed out."""
        return (
            self._connection()
            .execute("SELECT COUNT(*) FROM envelopes WHERE account = ? AND handed_out_at IS NULL", (account,))
            .fetchone()[0]
        )

    def waiting_by_account(self):
        """How many envelopes wait to be handed out, per account."""
        return dict(
            self._connection()
            .execute("SELECT account, COUNT(*) FROM envelopes WHERE handed_out_at IS NULL GROUP BY account")
            .fetchall()
        )

    # -- webhook deliveries --

    def due_deliveries(self, now=None):
        """For each (target, account), its oldest open delivery, if it is due (order per account is kept)."""
        now = time.time() if now is None else now
        return (
            self._connection()
            .execute(
                """SELECT d.id, d.target, d.delivery_id, d.account, d.attempts, d.created_at, e.line
               FROM deliveries d JOIN envelopes e ON e.id = d.envelope_id
               WHERE d.id IN (SELECT MIN(id) FROM deliveries
                              WHERE delivered_at IS NULL AND abandoned_at IS NULL GROUP BY target, account)
                 AND d.next_attempt_at <= ?
               ORDER BY d.id""",
                (now,),
            )
            .fetchall()
        )

    def next_delivery_at(self):
        """When the earliest open delivery is due (None if there is none)."""
        return (
            self._connection()
            .execute("SELECT MIN(next_attempt_at) FROM deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL")
            .fetchone()[0]
        )

    def delivered(self, delivery, target):
        """Mark a delivery done."""
        now = time.time()
        with self._transaction() as connection:
            connection.execute(
                "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?", (now, delivery)
            )
            connection.execute(
                "INSERT INTO target_status (target, last_delivered_at) VALUES (?, ?)"
                " ON CONFLICT (target) DO UPDATE SET last_delivered_at = excluded.last_delivered_at",
                (target, now),
            )

    def delivery_failed(self, delivery, target, error, next_attempt_at=None):
        """Record a failed attempt; with no ``next_attempt_at`` the delivery is abandoned."""
        now = time.time()
        with self._transaction() as connection:
            if next_attempt_at is None:
                connection.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, abandoned_at = ? WHERE id = ?",
                    (error, now, delivery),
                )
            else:
                connection.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                    (error, next_attempt_at, delivery),
                )
            connection.execute(
                "INSERT INTO target_status (target, last_error, last_error_at) VALUES (?, ?, ?)"
                " ON CONFLICT (target) DO UPDATE SET last_error = excluded.last_error,"
                " last_error_at = excluded.last_error_at",
                (target, error, now),
            )

    # -- receiver status --

    def receive_succeeded(self, account):
        """Record a successful receive run for ``account``."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO receiver_status (account, last_success_at) VALUES (?, ?)"
                " ON CONFLICT (account) DO UPDATE SET last_success_at = excluded.last_success_at",
                (account, time.time()),
            )

    def receive_failed(self, account, error):
        """Record a failed receive run for ``account``."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO receiver_status (account, last_error, last_error_at) VALUES (?, ?, ?)"
                " ON CONFLICT (account) DO UPDATE SET last_error = excluded.last_error,"
                " last_error_at = excluded.last_error_at",
                (account, error, time.time()),
            )

    def status(self, account, targets=()):
        """Queue depth, oldest waiting age, and the receiver's and each webhook target's state."""
        connection = self._connection()
        now = time.time()
        waiting, oldest = connection.execute(
            "SELECT COUNT(*), MIN(received_at) FROM envelopes WHERE account = ? AND handed_out_at IS NULL",
            (account,),
        ).fetchone()
        receiver = connection.execute(
            "SELECT last_success_at, last_error, last_error_at FROM receiver_status WHERE account = ?", (account,)
        ).fetchone() or (None, None, None)
        webhooks = []
        for target in targets:
            pending, oldest_pending = connection.execute(
                "SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE account = ? AND target = ?"
                " AND delivered_at IS NULL AND abandoned_at IS NULL",
                (account, target),
            ).fetchone()
            last_delivered, last_error, last_error_at = connection.execute(
                "SELECT last_delivered_at, last_error, last_error_at FROM target_status WHERE target = ?", (target,)
            ).fetchone() or (None, None, None)
            webhooks.append(
                {
                    "url": target,
                    "pending": pending,
                    "oldest_pending_age": _age(now, oldest_pending),
                    "last_delivered_at": _iso(last_delivered),
                    "last_error": last_error,
                    "last_error_at": _iso(last_error_at),
                }
            )
        abandoned = connection.execute(
            "SELECT COUNT(*) FROM deliveries WHERE account = ? AND abandoned_at IS NOT NULL", (account,)
        ).fetchone()[0]
        return {
            "account": account,
            "waiting": waiting,
            "oldest_waiting_age": _age(now, oldest),
            "last_receive_at": _iso(receiver[0]),
            "last_receive_error": receiver[1],
            "last_receive_error_at": _iso(receiver[2]),
            "webhooks": webhooks,
            "abandoned_deliveries": abandoned,
        }

    def delivery_retries(self, account, target):
        """Of the open deliveries of ``account`` to webhook ``target``: how many failed attempts they
        had in all, and when the next retry is due (None: no failed delivery waits)."""
        failures, next_retry = (
            self._connection()
            .execute(
                "SELECT COALESCE(SUM(attempts), 0), MIN(CASE WHEN attempts > 0 THEN next_attempt_at END)"
                " FROM deliveries WHERE account = ? AND target = ? AND delivered_at IS NULL AND abandoned_at IS NULL",
                (account, target),
            )
            .fetchone()
        )
        return {"failed_attempts": failures, "next_retry_at": _iso(next_retry)}

    # -- retention --

    def prune(self, *, max_age=None, max_count=None, attachments_dir=None):
        """Forget envelopes that are handed out (to a poller or a push client) and delivered, older than
        ``max_age`` seconds or beyond the newest ``max_count`` per account; also delete their
        downloaded attachments."""
        now = time.time()
        finished = (
            "(handed_out_at IS NOT NULL OR id <= (SELECT COALESCE(MAX(p.last_id), 0) FROM push_cursors p"
            " WHERE p.account = envelopes.account))"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.envelope_id = envelopes.id"
            " AND d.delivered_at IS NULL AND d.abandoned_at IS NULL)"
        )
        with self._transaction() as connection:
            doomed = []
            if max_age is not None:
                doomed += connection.execute(
                    f"SELECT id, line FROM envelopes WHERE {finished} AND received_at < ?", (now - max_age,)
                ).fetchall()
            if max_count is not None:
                doomed += connection.execute(
                    f"""SELECT id, line FROM envelopes WHERE {finished} AND id NOT IN (
                            SELECT id FROM envelopes e2 WHERE e2.account = envelopes.account
                            ORDER BY id DESC LIMIT ?)""",
                    (max_count,),
                ).fetchall()
            ids = sorted({row[0] for row in doomed})
            connection.executemany("DELETE FROM envelopes WHERE id = ?", [(i,) for i in ids])
        if attachments_dir is not None:
            for _, line in doomed:
                for attachment_id in _attachment_ids(line):
                    with contextlib.suppress(FileNotFoundError):
                        (Path(attachments_dir) / attachment_id).unlink()
        return len(ids)


def _parsed(line):
    """The line parsed, or None for one that is not JSON (its kind is "other")."""
    try:
        return json.loads(line)
    except ValueError:
        return None


def _attachment_ids(line):
    try:
        envelope = json.loads(line).get("envelope") or {}
    except (ValueError, AttributeError):
        return []
    messages = [envelope.get("dataMessage"), (envelope.get("editMessage") or {}).get("dataMessage")]
    messages.append((envelope.get("syncMessage") or {}).get("sentMessage"))
    ids = []
    for message in filter(None, messages):
        for attachment in message.get("attachments") or []:
            attachment_id = attachment.get("id")
            if attachment_id and "/" not in attachment_id and not attachment_id.startswith("."):
                ids.append(attachment_id)
    return ids


def _age(now, then):
    return None if then is None else round(now - then, 3)


def _iso(timestamp):
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


class Retention:
    """The inbox's retention pass (``prune``, e.g. :meth:`Inbox.prune` with the configured limits), run
    by a receiving loop at most every ``interval`` seconds, the first time at once. A pass that fails
    is logged: retention must never stop receiving."""

    def __init__(self, prune, interval=600.0):
        self.prune = prune
        self.interval = interval
        self._next = time.monotonic()

    def run_if_due(self):
        if self.prune is None or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.interval
        try:
            removed = self.prune()
        except Exception:
            log.exception("pruning the inbox failed")
            return
        if removed:
            log.info("pruned %d old envelopes from the inbox", removed)
