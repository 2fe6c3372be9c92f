"""Receive lines for tests to queue: ``{"envelope": …, "account": …}`` as ``receive`` prints them."""

import base64
import os

from .options import VERSION, release
from .records import now_ms, uuid_for

#: receive fields of dataMessage and the release that first writes them (SIGNAL_CLI_0.14.md §4.1)
_NEWER_FIELDS = {
    "isExpirationUpdate": "0.13.21",
    "pollCreate": "0.13.22",
    "pollVote": "0.13.22",
    "pollTerminate": "0.13.22",
    "pinMessage": "0.14.0",
    "unpinMessage": "0.14.0",
    "adminDelete": "0.14.0",
}


def as_printed(item, version=VERSION, account=None):
    """A queued inbox item as signal-cli *version*'s ``receive`` prints it.

    Wrapped in ``{"envelope", "account"}`` (*account* unless the item names one), without the
    attachment bytes (``"_data"``), and each data message (``dataMessage``,
    ``editMessage.dataMessage``, ``syncMessage.sentMessage``) in the shape of the release: the
    fields it does not know left out (it cannot decode them), and from 0.13.21 ``isExpirationUpdate``
    always present, right after ``expiresInSeconds``.
    """
    line = dict(item)
    line.pop("_data", None)
    if "envelope" not in line:
        line = {"envelope": line}
    if account is not None:
        line.setdefault("account", account)
    envelope = line["envelope"] = dict(line["envelope"])
    if isinstance(envelope.get("dataMessage"), dict):
        envelope["dataMessage"] = _data_message_of(version, envelope["dataMessage"])
    for outer, inner in (("editMessage", "dataMessage"), ("syncMessage", "sentMessage")):
        if isinstance(envelope.get(outer), dict) and isinstance(envelope[outer].get(inner), dict):
            envelope[outer] = dict(envelope[outer])
            envelope[outer][inner] = _data_message_of(version, envelope[outer][inner])
    return line


def _data_message_of(version, data_message):
    wanted = release(version)
    shown = {k: v for k, v in data_message.items() if release(_NEWER_FIELDS.get(k, "0.13.19")) <= wanted}
    if wanted < release("0.13.21") or "isExpirationUpdate" in shown:
        return shown
    ordered = {}
    for key, value in shown.items():
        ordered[key] = value
        if key == "expiresInSeconds":
            ordered["isExpirationUpdate"] = False
    ordered.setdefault("isExpirationUpdate", False)
    return ordered


def envelope_line(account, source, *, timestamp=None, source_name=None, source_device=1, source_uuid=None, **content):
    """Build a receive line ``{"envelope": …, "account": …}`` with one content object.

    *content* is e.g. ``dataMessage={...}``, ``receiptMessage={...}`` or ``typingMessage={...}``.
    """
    timestamp = timestamp or now_ms()
    envelope = {
        "source": source,
        "sourceNumber": source,
        "sourceUuid": source_uuid or uuid_for(source),
        "sourceName": source_name,
        "sourceDevice": source_device,
        "timestamp": timestamp,
        "serverReceivedTimestamp": timestamp + 77,
        "serverDeliveredTimestamp": timestamp + 150,
    }
    envelope.update(content)
    return {"envelope": envelope, "account": account}


def message_line(account, source, text, *, timestamp=None, group_id=None, group_name=None, attachments=(), **extra):
    """Build a receive line for an incoming text message.

    *attachments* are dicts with ``filename``, ``contentType`` and ``data`` (bytes); their bytes
    travel in the line's ``"_data"`` map, which ``receive`` writes to ``CFG/attachments/<id>``.
    """
    timestamp = timestamp or now_ms()
    data_message = {"timestamp": timestamp, "message": text, "expiresInSeconds": 0, "viewOnce": False}
    blobs = {}
    if attachments:
        data_message["attachments"] = []
        for attachment in attachments:
            extension = os.path.splitext(attachment.get("filename") or "")[1]
            attachment_id = base64.urlsafe_b64encode(os.urandom(15)).decode() + extension
            data = attachment.get("data", b"")
            data_message["attachments"].append(
                {
                    "contentType": attachment.get("contentType", "application/octet-stream"),
                    "filename": attachment.get("filename"),
                    "id": attachment_id,
                    "size": len(data),
                    "width": attachment.get("width"),
                    "height": attachment.get("height"),
                    "caption": attachment.get("caption"),
                    "uploadTimestamp": timestamp,
                }
            )
            blobs[attachment_id] = base64.b64encode(data).decode()
    if group_id is not None:
        data_message["groupInfo"] = {"groupId": group_id, "groupName": group_name, "revision": 1, "type": "DELIVER"}
    data_message.update(extra)
    line = envelope_line(account, source, timestamp=timestamp, dataMessage=data_message)
    if blobs:
        line["_data"] = blobs
    return line
