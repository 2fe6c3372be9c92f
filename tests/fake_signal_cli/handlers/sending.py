"""Sending: recipients, per-recipient results, the printed result and its exit codes."""

import random

from ..errors import CommandError
from ..records import find_group, is_self, now_ms, uuid_for
from ..values import E164, parse_group_id, parse_recipient


def _address(uuid=None, number=None, username=None):
    return {"uuid": uuid, "number": number, "username": username}


def collect_recipients(run, ns, note_to_self=False, usernames=True):
    """CommandUtil.getRecipientIdentifiers: (kind, value) pairs in a set, or exit 1."""
    idents = []
    if note_to_self:
        idents.append(("self", None))
    for text in ns.get("recipient") or []:
        idents.append(parse_recipient(text, run.account))
    for text in ns.get("group-id") or []:
        idents.append(("group", parse_group_id(text)))
    if usernames:
        for text in ns.get("username") or []:
            idents.append(("username", text))
    unique = list(dict.fromkeys(idents))
    if not unique:
        raise CommandError(1, "No recipients given")
    return unique


def _single_result(state, run, ident, group_id=None):
    """The send result for one single recipient, decided by the flags of ``users``."""
    kind, value = ident
    users = state.get("users", {})
    number, user, username = None, {}, None
    if kind == "number":
        number, user = value, users.get(value) or {}
        partial = _address(None, value, None)
    elif kind in ("uuid", "pni"):
        number = next((n for n, u in users.items() if (u.get("uuid") or uuid_for(n)) == value), None)
        user = users.get(number) or {} if number else {}
        partial = _address(value, None, None)
    else:
        username = value
        user = users.get("u:" + value) or next((u for u in users.values() if u.get("username") == value), {})
        partial = _address(None, None, value)
    uuid = value if kind in ("uuid", "pni") else user.get("uuid") or uuid_for(number or "u:" + value)
    entry = {"recipientAddress": _address(uuid, number, username)}
    if group_id is not None:
        entry["groupId"] = group_id
    if user.get("registered") is False or (number is not None and not E164.fullmatch(number)):
        entry["recipientAddress"] = partial
        entry["type"] = "UNREGISTERED_FAILURE"
    elif user.get("untrusted") and run.ns.get("trust-new-identities") != "always":
        entry["type"] = "IDENTITY_FAILURE"
    elif user.get("rate_limited"):
        token = user["rate_limited"]
        entry["type"] = "RATE_LIMIT_FAILURE"
        entry["token"] = token if isinstance(token, str) else "challenge-token-" + (number or uuid).lstrip("+")
        entry["retryAfterSeconds"] = 86400
    elif user.get("rate_limited_plain"):
        # a plain rate limit (HTTP 413, no challenge): its Retry-After is reported from 0.14.3
        entry["type"] = "RATE_LIMIT_FAILURE"
        if run.at_least("0.14.3"):
            entry["retryAfterSeconds"] = user["rate_limited_plain"]
    elif user.get("network_failure"):
        entry["type"] = "NETWORK_FAILURE"
    elif user.get("invalid_pre_key"):
        entry["type"] = "INVALID_PRE_KEY_FAILURE"
    else:
        entry["type"] = "SUCCESS"
    return entry


def _self_result(run, acct):
    return {"recipientAddress": _address(acct["uuid"], run.account, acct.get("username")), "type": "SUCCESS"}


def _sendable_group(run, acct, group_id, prefix=""):
    """Look a group up for sending, with signal-cli's errors for missing or closed groups."""
    group = find_group(acct, group_id)
    if group is None:
        raise CommandError(1, f"{prefix}Group not found: {group_id}")
    if not group.get("isMember", True):
        raise CommandError(1, f"{prefix}User is not a member in group: {group.get('name')} ({group_id})")
    admins = group.get("admins", [])
    if group.get("permissionSendMessage") == "ONLY_ADMINS" and not any(is_self(a, run.account, acct) for a in admins):
        raise CommandError(1, f"{prefix}User is not allowed to send message to group: {group.get('name')} ({group_id})")
    return group


def group_member_results(state, run, acct, group, with_group_id=True):
    results = []
    for member in group.get("members", []):
        if is_self(member, run.account, acct):
            continue
        ident = ("number", member["number"]) if member.get("number") else ("uuid", member.get("uuid"))
        results.append(_single_result(state, run, ident, group["id"] if with_group_id else None))
    return results


def _deliver(state, run, idents, group_error_prefix=""):
    """Return the results of sending to *idents* (raises for unusable groups)."""
    acct = run.acct(state)
    results = []
    for kind, value in idents:
        if kind == "self" or (kind == "number" and value == run.account) or (kind == "uuid" and value == acct["uuid"]):
            results.append(_self_result(run, acct))
        elif kind == "group":
            group = _sendable_group(run, acct, value, group_error_prefix)
            results.extend(group_member_results(state, run, acct, group))
        else:
            results.append(_single_result(state, run, (kind, value)))
    return results


def next_timestamp(state):
    """A unique, increasing millisecond timestamp, shared by all processes through the state."""
    timestamp = max(now_ms(), state.get("clock", 0) + 1)
    state["clock"] = timestamp
    return timestamp


def shuffled_object(pairs):
    """A Map.of-built object: its keys come out in a random order, like in the real JVM."""
    pairs = list(pairs)
    random.shuffle(pairs)
    return dict(pairs)


def _error_line(entry):
    address = entry["recipientAddress"]
    identifier = address.get("number") or address.get("uuid") or address.get("username")
    return {
        "NETWORK_FAILURE": 'Network failure for "%s"',
        "UNREGISTERED_FAILURE": 'Unregistered user "%s"',
        "IDENTITY_FAILURE": 'Untrusted Identity for "%s"',
        "RATE_LIMIT_FAILURE": 'Rate limit failure for "%s"',
        "INVALID_PRE_KEY_FAILURE": 'Invalid pre key for "%s"',
    }.get(entry["type"], "%s") % identifier


def plain_send_result(timestamp, results):
    errors = [_error_line(r) for r in results if r["type"] != "SUCCESS"]
    head = "Failed to send (some) messages:\n" + "".join(e + "\n" for e in errors) if errors else ""
    return f"{head}{timestamp}\n"


def _output_send_result(run, timestamp, results, check_failures=True):
    """SendMessageResultUtils.outputResult: print first, then fail with 1, 4 or 5 if nothing worked."""
    random.shuffle(results)  # results come from a HashMap: no stable order
    run.emit(
        shuffled_object([("timestamp", timestamp), ("results", results)]), plain=plain_send_result(timestamp, results)
    )
    if not check_failures or not results or any(r["type"] == "SUCCESS" for r in results):
        return 0
    if all(r["type"] == "IDENTITY_FAILURE" for r in results):
        raise CommandError(4, "Failed to send message due to untrusted identities")
    if all(r["type"] == "RATE_LIMIT_FAILURE" for r in results):
        raise CommandError(5, "Failed to send message due to rate limiting")
    raise CommandError(1, "Failed to send message")


def record_send(state, run, record):
    record = dict(record, account=run.account, command=run.command)
    state.setdefault("sent", []).append(record)


def ident_text(ident):
    kind, value = ident
    return {"self": "note-to-self", "group": f"group:{value}", "username": f"u:{value}", "pni": f"PNI:{value}"}.get(
        kind, value
    )


def send_family(run, idents, record, group_error_prefix=""):
    """Deliver *idents*, record what was sent and print the result (the common send path)."""

    def act(state):
        results = _deliver(state, run, idents, group_error_prefix)
        timestamp = next_timestamp(state)
        record_send(
            state, run, dict(record, timestamp=timestamp, recipients=[ident_text(i) for i in idents], results=results)
        )
        return timestamp, results

    timestamp, results = run.transact(act)
    return _output_send_result(run, timestamp, results)
