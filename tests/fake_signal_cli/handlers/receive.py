"""receive (the inbox, printed line by line); daemon and jsonRpc (in :mod:`..daemon`); calls, which the fake refuses."""

import base64
import os
import signal
import time

from ..envelopes import as_printed
from ..errors import CommandError
from ..state import ATTACHMENTS_DIR, STATE_FILE, STATE_LOCK, FileLock, dumps, load_state, state_temp_file
from .common import POLL_SECONDS, handler


def _attachment_ids(envelope):
    found = []
    for content in (
        envelope.get("dataMessage"),
        (envelope.get("editMessage") or {}).get("dataMessage"),
        ((envelope.get("syncMessage") or {}).get("sentMessage")),
    ):
        for attachment in (content or {}).get("attachments") or []:
            if attachment.get("id"):
                found.append(attachment["id"])
    return found


def store_attachments(config_dir, item, line):
    """Write the attachments of one inbox *item* (printed as *line*) where getAttachment finds them."""
    folder = os.path.join(config_dir, ATTACHMENTS_DIR)
    os.makedirs(folder, exist_ok=True)
    data = item.get("_data") or {}
    for attachment_id in _attachment_ids(line["envelope"]):
        payload = (
            base64.b64decode(data[attachment_id])
            if attachment_id in data
            else (b"fake attachment " + attachment_id.encode())
        )
        with open(os.path.join(folder, attachment_id), "wb") as f:
            f.write(payload)


def delivery_record(line, handlers, **extra):
    """What ``FakeState.deliveries`` keeps of one message handed out."""
    envelope = line.get("envelope") or {}
    return {
        "account": line.get("account"),
        "timestamp": envelope.get("timestamp"),
        "sourceUuid": envelope.get("sourceUuid"),
        "handlers": handlers,
        "pid": os.getpid(),
        "time": time.time(),
        **extra,
    }


def _deliver_next(run, ignore_attachments):
    """Print one envelope from the inbox and drop it from the state in the same breath.

    A message a daemon acknowledged but did not finish handling (its ``msg_cache``) comes first,
    like the real message cache. The new state is written to a temp file first; the line is then
    written to stdout and the temp file renamed into place, so a kill can neither lose a printed
    envelope nor (outside a window of two system calls) print one twice.
    """
    config_dir = run.config_dir
    with FileLock(os.path.join(config_dir, STATE_LOCK)):
        state = load_state(config_dir)
        acct = state.get("accounts", {}).get(run.account, {})
        inbox = acct.get("msg_cache") or acct.get("inbox") or []
        if not inbox:
            return False
        item = inbox.pop(0)
        line = as_printed(item, run.version, run.account)
        if not ignore_attachments:
            store_attachments(config_dir, item, line)
        state.setdefault("delivered", []).append(delivery_record(line, ["stdout"], via="receive"))
        tmp = state_temp_file(config_dir, state)
        try:
            run.out_strict(dumps(line) + "\n" if run.json else plain_envelope(line))
        except BrokenPipeError:
            os.remove(tmp)
            return None
        os.replace(tmp, os.path.join(config_dir, STATE_FILE))
        return True


def plain_envelope(line):
    envelope = line["envelope"]
    text = (
        f"Envelope from: {envelope.get('sourceNumber') or envelope.get('sourceUuid')} "
        f"(device: {envelope.get('sourceDevice')}) to {line['account']}\nTimestamp: {envelope.get('timestamp')}\n"
    )
    body = (envelope.get("dataMessage") or {}).get("message")
    return text + (f"Body: {body}\n" if body is not None else "") + "\n"


@handler("receive")
def cmd_receive(run, ns):
    """Print queued envelopes one per line; stop on --max-messages, the idle timeout or SIGTERM/SIGINT
    (after the linger of ``FakeState.set_receive_pace``)."""
    stop = []

    def request_stop(signum, frame):
        stop.append(time.monotonic())

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pace = load_state(run.config_dir).get("receive_pace") or {}
    timeout = ns.get("timeout")
    max_messages = ns.get("max-messages")
    received = 0
    idle_since = time.monotonic()
    while not (stop and time.monotonic() - stop[0] >= pace.get("linger", 0)) and (
        max_messages < 0 or received < max_messages
    ):
        delivered = _deliver_next(run, ns.get("ignore-attachments"))
        if delivered is None:
            break
        if delivered:
            received += 1
            idle_since = time.monotonic()
            time.sleep(pace.get("seconds", 0))
            continue
        if timeout >= 0 and time.monotonic() - idle_since >= timeout:
            break
        time.sleep(POLL_SECONDS)
    return 0


_DAEMON_CHANNELS = ("dbus", "dbus-system", "socket", "tcp", "http")


@handler("daemon")
def cmd_daemon(run, ns):
    """JSON-RPC over --socket or --tcp (see :mod:`..daemon`); 0.14.0+ needs a channel."""
    if run.at_least("0.14.0") and not any(
        ns.get(key) is not None and ns.get(key) is not False for key in _DAEMON_CHANNELS
    ):
        # checked once the accounts are loaded; 0.13.19 fell back to --dbus
        raise CommandError(1, "At least one channel parameter is required, e.g. --socket or --dbus.")
    from ..daemon import serve_daemon

    return serve_daemon(run, ns)


@handler("jsonRpc")
def cmd_json_rpc(run, ns):
    """JSON-RPC on stdin and stdout (see :mod:`..daemon`)."""
    from ..daemon import serve_json_rpc

    return serve_json_rpc(run, ns)


@handler("listCalls")
def cmd_list_calls(run, ns):
    """0.14.2+: a call lives only as long as its process, so a fresh process has none."""
    run.emit([], plain="")


def _calls_not_modelled(run, ns):
    """The other call commands (0.14.2+, experimental) are parsed but not modelled: fail clearly."""
    raise CommandError(2, f"fake signal-cli: {run.command} is not implemented by this fake")


for _name in ("startCall", "acceptCall", "hangupCall", "rejectCall"):
    handler(_name)(_calls_not_modelled)
