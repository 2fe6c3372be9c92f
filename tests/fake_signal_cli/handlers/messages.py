"""The send family: send, sendReaction, remoteDelete, sendTyping, sendReceipt and the rest."""

import base64
import os
import re
import sys

from ..errors import CommandError, java_trace
from ..values import java_b64decode, parse_data_uri, parse_recipient
from .common import handler
from .sending import collect_recipients, ident_text, record_send, send_family


def _load_attachment(value):
    """Utils.createStreamDetails: a data URI, or else a file path (AttachmentInvalidException, exit 2)."""
    try:
        content_type, name, data = parse_data_uri(value)
    except ValueError:
        try:
            with open(value, "rb") as f:
                data = f.read()
        except OSError as e:
            reason = {2: "No such file or directory", 13: "Permission denied", 21: "Is a directory"}.get(
                e.errno, e.strerror
            )
            raise CommandError(2, f"Failed to send message: {value}: {value} ({reason}) (AttachmentInvalidException)")
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
    loaded = [_load_attachment(a) for a in attachments]
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
    return send_family(run, idents, record)


@handler("sendReaction")
def cmd_send_reaction(run, ns):
    """React to a message (or remove the reaction with -r)."""
    idents = collect_recipients(run, ns, note_to_self=ns.get("note-to-self"))
    author = parse_recipient(ns["target-author"], run.account)
    return send_family(
        run,
        idents,
        {
            "emoji": ns["emoji"],
            "remove": bool(ns.get("remove")),
            "target_author": ident_text(author),
            "target_timestamp": ns["target-timestamp"],
            "story": bool(ns.get("story")),
        },
    )


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
