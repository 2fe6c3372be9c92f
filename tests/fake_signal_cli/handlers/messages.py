"""The send family: send, sendReaction, remoteDelete, sendTyping, sendReceipt and the rest."""

import base64
import os
import re
import sys

from ..errors import CommandError, java_trace
from ..values import java_b64decode, parse_data_uri, parse_group_id, parse_recipient
from .common import handler
from .sending import collect_recipients, ident_text, record_send, send_family


def _inside_data_dir(run, path):
    """Whether *path* resolves (symlinks followed) inside the data directory's ``data/`` (0.14.4+)."""
    data_dir = os.path.realpath(os.path.join(run.config_dir, "data"))
    return os.path.commonpath([data_dir, os.path.realpath(path)]) == data_dir


def _load_attachment(run, value, prefix="Failed to send message"):
    """Utils.createStreamDetails: a data URI, or else a file path (AttachmentInvalidException, exit 2)."""
    try:
        content_type, name, data = parse_data_uri(value)
    except ValueError:
        if run.at_least("0.14.4") and _inside_data_dir(run, value):
            raise CommandError(
                2,
                f"{prefix}: {value}: Attaching files from the signal-cli data directory is not allowed "
                "(AttachmentInvalidException)",
            )
        try:
            with open(value, "rb") as f:
                data = f.read()
        except OSError as e:
            reason = {2: "No such file or directory", 13: "Permission denied", 21: "Is a directory"}.get(
                e.errno, e.strerror
            )
            raise CommandError(2, f"{prefix}: {value}: {value} ({reason}) (AttachmentInvalidException)")
        import mimetypes

        name = os.path.basename(value)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"name": name, "content_type": content_type, "size": len(data), "data": base64.b64encode(data).decode()}


_RANGE_SPEC = re.compile(r"(\d+):(\d+):(.+)", re.S)
_STYLES = ("NONE", "BOLD", "ITALIC", "SPOILER", "STRIKETHROUGH", "MONOSPACE")


def _parse_mentions(run, specs):
    mentions = []
    for spec in specs or []:
        match = _RANGE_SPEC.fullmatch(spec)
        if not match:
            raise CommandError(1, f"Invalid mention syntax ({spec}) expected 'start:length:recipientNumber'")
        ident = parse_recipient(match.group(3), run.account)
        mentions.append({"start": int(match.group(1)), "length": int(match.group(2)), "recipient": ident_text(ident)})
    return mentions


def _parse_text_styles(specs):
    styles = []
    for spec in specs or []:
        match = _RANGE_SPEC.fullmatch(spec)
        if not match:
            raise CommandError(1, f"Invalid textStyle syntax ({spec}) expected 'start:length:STYLE'")
        if match.group(3) not in _STYLES:
            raise CommandError(1, f"Invalid style: {match.group(3)}")
        styles.append({"start": int(match.group(1)), "length": int(match.group(2)), "style": match.group(3)})
    return styles


@handler("send")
def cmd_send(run, ns):
    """Send a message: the checks of SendCommand, in its order."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    if ns.get("end-session"):
        singles = [i for i in idents if i[0] not in ("group", "self")]
        if not singles:
            raise CommandError(1, "No recipients given")
        if run.at_least("0.14.4"):
            # only archives the local sessions: nothing is sent and nothing printed
            run.transact(
                lambda state: record_send(
                    state, run, {"end_session": True, "recipients": [ident_text(i) for i in singles], "results": []}
                )
            )
            return 0
        return send_family(run, singles, {"end_session": True})
    sticker = ns.get("sticker")
    if sticker is not None:
        match = re.fullmatch(r"([0-9a-f]+):(\d+)", sticker)
        if not match or len(match.group(1)) % 2:
            raise CommandError(1, f"Invalid sticker syntax ({sticker}) expected 'stickerPackId:stickerId'")
    message = ns.get("message")
    if ns.get("message-from-stdin"):
        # Read only now, after the account has loaded: a caller that keeps stdin open hangs here.
        message = sys.stdin.buffer.read().decode("utf-8", "replace") if sys.stdin else ""
        run.stdin_text = message
    elif message is None:
        message = ""
    attachments = ns.get("attachment") or []
    mentions = _parse_mentions(run, ns.get("mention"))
    text_styles = _parse_text_styles(ns.get("text-style"))
    quote = None
    if ns.get("quote-timestamp") is not None:
        if ns.get("quote-author") is None:
            raise CommandError(1, "Quote author parameter is missing")
        author = parse_recipient(ns["quote-author"], run.account)
        quote = {
            "timestamp": ns["quote-timestamp"],
            "author": ident_text(author),
            "message": ns.get("quote-message") or "",
            "mentions": _parse_mentions(run, ns.get("quote-mention")),
            "text_styles": _parse_text_styles(ns.get("quote-text-style")),
            "attachments": ns.get("quote-attachment") or [],
        }
    preview = None
    if ns.get("preview-url") is not None:
        preview = {
            "url": ns["preview-url"],
            "title": ns.get("preview-title") or "",
            "description": ns.get("preview-description") or "",
            "image": ns.get("preview-image"),
        }
    story = None
    if ns.get("story-timestamp") is not None:
        story = {
            "timestamp": ns["story-timestamp"],
            "author": ident_text(parse_recipient(ns.get("story-author"), run.account)),
        }
    if not message and not attachments and sticker is None and quote is None:
        raise CommandError(
            1, "Sending empty message is not allowed, either a message, attachment or sticker must be given."
        )
    state = run.state()
    if not run.acct(state)["profile"].get("givenName"):
        run.log(
            "WARN",
            "ManagerImpl",
            "No profile name set. When sending a message it's recommended to set a "
            "profile name with the updateProfile command. This may become mandatory "
            "in the future.",
        )
    loaded = [_load_attachment(run, a) for a in attachments]
    run.attachments = [{"name": a["name"], "data": a["data"]} for a in loaded]
    if sticker is not None:
        pack_id = sticker.split(":")[0]
        if not any(p.get("packId") == pack_id for p in run.acct(state)["sticker_packs"]):
            raise CommandError(1, "Failed to send sticker: Sticker pack not found")
    record = {
        "message": message,
        "attachments": loaded,
        "mentions": mentions,
        "text_styles": text_styles,
        "quote": quote,
        "sticker": sticker,
        "preview": preview,
        "story": story,
        "edit_timestamp": ns.get("edit-timestamp"),
        "view_once": bool(ns.get("view-once")),
        "notify_self": bool(ns.get("notify-self")),
    }
    if run.at_least("0.14.0"):
        record["no_urgent"] = bool(ns.get("no-urgent"))
    if run.at_least("0.14.2"):
        record["voice_note"] = bool(ns.get("voice-note"))
    return send_family(run, idents, record)


@handler("sendReaction")
def cmd_send_reaction(run, ns):
    """React to a message (or remove the reaction with -r)."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    author = parse_recipient(ns["target-author"], run.account)
    record = {
        "emoji": ns["emoji"],
        "remove": bool(ns.get("remove")),
        "target_author": ident_text(author),
        "target_timestamp": ns["target-timestamp"],
        "story": bool(ns.get("story")),
    }
    if run.at_least("0.13.22"):
        record["notify_self"] = bool(ns.get("notify-self"))
    return send_family(run, idents, record)


@handler("remoteDelete")
def cmd_remote_delete(run, ns):
    """Delete a sent message for everyone."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    return send_family(run, idents, {"target_timestamp": ns["target-timestamp"]})


@handler("sendTyping")
def cmd_send_typing(run, ns):
    """Send a typing indicator (group errors get the "Failed to send to group" prefix here)."""
    idents = collect_recipients(run, ns, usernames=False)
    return send_family(
        run, idents, {"action": "STOP" if ns.get("stop") else "START"}, group_error_prefix="Failed to send to group: "
    )


@handler("sendReceipt")
def cmd_send_receipt(run, ns):
    """Send a read or viewed receipt to one sender."""
    ident = parse_recipient(ns["recipient"], run.account)
    return send_family(run, [ident], {"type": ns.get("type") or "read", "target_timestamps": ns["target-timestamp"]})


@handler("sendPaymentNotification")
def cmd_send_payment_notification(run, ns):
    """Send a payment notification; an invalid receipt is an uncaught exception (exit 2)."""
    ident = parse_recipient(ns["recipient"], run.account)
    try:
        java_b64decode(ns["receipt"])
    except ValueError as e:
        raise CommandError(2, java_trace("java.lang.IllegalArgumentException", str(e)))
    return send_family(run, [ident], {"receipt": ns["receipt"], "note": ns.get("note")})


@handler("sendMessageRequestResponse")
def cmd_send_message_request_response(run, ns):
    """Accept or delete a message request; prints nothing."""
    idents = collect_recipients(run, ns)
    run.transact(
        lambda state: record_send(state, run, {"type": ns["type"], "recipients": [ident_text(i) for i in idents]})
    )


@handler("sendContacts")
def cmd_send_contacts(run, ns):
    """Sync contacts to linked devices; prints nothing."""
    run.transact(lambda state: record_send(state, run, {}))


@handler("sendSyncRequest")
def cmd_send_sync_request(run, ns):
    """Ask the primary device for sync data; prints nothing."""
    run.transact(lambda state: record_send(state, run, {}))


# -- the 0.13.22+ and 0.14 commands (SIGNAL_CLI_0.14.md §3.1) ----------------------------------------


@handler("sendPollCreate")
def cmd_send_poll_create(run, ns):
    """Create a poll: recipients first, then the option checks of the release."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    options = ns["option"]
    if len(options) < 2:
        raise CommandError(1, f"Poll needs at least {'two' if run.at_least('0.14.0') else 'tow'} options")
    if run.at_least("0.14.1") and len(options) > 10:
        raise CommandError(1, "Poll cannot have more than 10 options")
    if run.at_least("0.14.2"):
        for option in options:
            if not option:
                raise CommandError(1, "Poll options must not be empty")
            if len(option.encode("utf-16-le")) // 2 > 100:  # String.length(): UTF-16 code units
                raise CommandError(1, f'Poll option "{option}" exceeds the maximum length of 100 characters')
    record = {
        "question": ns["question"],
        "allow_multiple": not ns.get("no-multi"),
        "options": list(options),
        "notify_self": bool(ns.get("notify-self")),
    }
    return send_family(run, idents, record)


@handler("sendPollVote")
def cmd_send_poll_vote(run, ns):
    """Vote on a poll: the author is parsed unconditionally (a missing one is an NPE, exit 2)."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    author = parse_recipient(ns.get("poll-author"), run.account)
    record = {
        "poll_author": ident_text(author),
        "poll_timestamp": ns["poll-timestamp"],
        "option_indexes": list(ns.get("option") or []),
        "vote_count": ns["vote-count"],
        "notify_self": bool(ns.get("notify-self")),
    }
    return send_family(run, idents, record)


@handler("sendPollTerminate")
def cmd_send_poll_terminate(run, ns):
    """Close a poll."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    record = {"poll_timestamp": ns["poll-timestamp"], "notify_self": bool(ns.get("notify-self"))}
    return send_family(run, idents, record)


def _target(run, ns):
    """What a pin, unpin or admin delete names: the message (author, timestamp) and its options."""
    author = parse_recipient(ns["target-author"], run.account)
    return {
        "target_author": ident_text(author),
        "target_timestamp": ns["target-timestamp"],
        "story": bool(ns.get("story")),
        "notify_self": bool(ns.get("notify-self")),
    }


def _pin(run, ns, pin):
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    record = _target(run, ns)
    if pin:
        record["pin_duration"] = ns.get("pin-duration")
    return send_family(run, idents, record)


@handler("sendPinMessage")
def cmd_send_pin_message(run, ns):
    """Pin a message (-1: forever)."""
    return _pin(run, ns, pin=True)


@handler("sendUnpinMessage")
def cmd_send_unpin_message(run, ns):
    """Unpin a message."""
    return _pin(run, ns, pin=False)


@handler("sendAdminDelete")
def cmd_send_admin_delete(run, ns):
    """Delete a message for every member of the groups: the groups are checked before the author."""
    group_ids = list(dict.fromkeys(parse_group_id(g) for g in ns.get("group-id") or []))
    if not group_ids:
        raise CommandError(1, "Admin delete requires group IDs")
    return send_family(run, [("group", g) for g in group_ids], _target(run, ns))


@handler("sendStory")
def cmd_send_story(run, ns):
    """Post a story from an image or video file, to a group or (without -g) to "My Story".

    "My Story" goes to every contact that is not blocked (the fake has no hidden stories)."""
    attachment = ns["attachment"]
    if not attachment:
        raise CommandError(1, "An attachment is required for sending a story.")
    group_id = parse_group_id(ns["group-id"]) if ns.get("group-id") is not None else None
    prefix = "Failed to send story"
    if attachment.startswith("data:"):
        # a data: URI is read as a file name
        raise CommandError(
            2, f"{prefix}: {attachment}: {attachment} (No such file or directory) (AttachmentInvalidException)"
        )
    loaded = _load_attachment(run, attachment, prefix)
    if loaded["content_type"].split("/")[0] not in ("image", "video"):
        raise CommandError(
            2, f"{prefix}: {attachment}: Stories only support image and video attachments (AttachmentInvalidException)"
        )
    run.attachments = [{"name": loaded["name"], "data": loaded["data"]}]
    record = {"attachment": loaded, "allow_replies": not ns.get("no-replies"), "group_id": group_id}
    if group_id is not None:
        return send_family(run, [("group", group_id)], record)
    state = run.state()
    acct = run.acct(state)
    audience = [
        ("number", c["number"]) if c.get("number") else ("uuid", c["uuid"])
        for c in acct["contacts"]
        if not c.get("isBlocked") and c.get("number") != run.account
    ]
    if not audience:
        raise CommandError(2, f"{prefix}: No eligible contacts found for story delivery (IOException)")
    return send_family(run, audience, dict(record, my_story=True))
