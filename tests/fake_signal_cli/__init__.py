"""A faithful fake of ``signal-cli`` 0.13.19 to 0.14.6 that runs as a real executable.

The test suite writes a small shim named ``signal-cli`` (see :func:`write_executable`) that
imports this package and calls :func:`main`; ``python -m fake_signal_cli ARGS`` works too.
Every behaviour copies the real program as described in ``SIGNAL_CLI.md`` and read from the
sources of signal-cli 0.13.19 and argparse4j 0.9.0:

* argv is parsed by a port of argparse4j's algorithm (abbreviated long options, attached values,
  list options that swallow following words, ``--``, "last one wins", exact error texts, usage
  lines), including the logging pre-parser quirks (``-h`` anywhere prints help and exits 0, a
  stray ``--log-file=PATH`` creates the file, ``-v`` anywhere raises verbosity);
* the order of checks (output type, config dir, account, lock, "not registered", arguments);
* JSON shapes, "no output" commands, exit codes 0-5 and 143, log lines on stderr.

The fake reports the release it is told (``write_executable(..., version=...)``, 0.13.19 by
default) and behaves as that release (``SIGNAL_CLI_0.14.md``): its command line (see
:mod:`.options`), its commands (polls from 0.13.22, pins and admin delete from 0.14.0, stories
from 0.14.6, ...), output shapes (listGroups members, listContacts, receive lines: see
:func:`as_printed`), exit codes, and from 0.14.4 the config file named by ``SIGNAL_CLI_CONFIG``
(the real ``/etc/signal-cli/config.json`` and per-user file are never read).

All state lives in the ``--config`` directory:

``fake-state.json``
    accounts, known users, faults, delay, link settings (see :class:`FakeState`); read under a
    shared ``flock`` on ``fake-state.lock``, changed under an exclusive one, written atomically.
``fake-locks/<account>.lock``
    the per-account lock each process holds for its whole life, like the real account file lock.
``fake-log.jsonl``
    one ``{"event": "start", ...}`` line when a process starts and one record when it ends.
``fake-link-scanned``
    the trigger that makes a waiting ``link`` succeed (its content is the number).
``attachments/<id>``
    attachments "downloaded" by ``receive``.

``daemon --socket``/``--tcp`` and ``jsonRpc`` speak JSON-RPC and run the same handlers (see
:mod:`.daemon`); what receiving handed out is in ``FakeState.deliveries``.

Tests arrange state and inspect what happened through :class:`FakeState`.

Modules: ``argparse4j`` (the parser), ``options`` (the command line of each release), ``values``
(numbers, group ids, data URIs), ``records`` and ``state`` (the state file), ``run`` (one
invocation), ``handlers`` (one function per subcommand, by topic), ``envelopes`` (receive lines),
``daemon`` (the JSON-RPC server of ``daemon`` and ``jsonRpc``).
"""

from .envelopes import as_printed, envelope_line, message_line
from .options import COMMANDS, VERSION, commands_for, option_dests, usage_text
from .records import uuid_for
from .run import main, write_executable
from .state import ATTACHMENTS_DIR, LINK_TRIGGER, LOCK_DIR, LOG_FILE, STATE_FILE, STATE_LOCK, FakeState
from .values import format_number, java_b64decode, parse_data_uri

__all__ = [
    "ATTACHMENTS_DIR",
    "COMMANDS",
    "LINK_TRIGGER",
    "LOCK_DIR",
    "LOG_FILE",
    "STATE_FILE",
    "STATE_LOCK",
    "VERSION",
    "FakeState",
    "as_printed",
    "commands_for",
    "envelope_line",
    "format_number",
    "java_b64decode",
    "main",
    "message_line",
    "option_dests",
    "parse_data_uri",
    "usage_text",
    "uuid_for",
    "write_executable",
]
