"""Receive lines for tests to queue: ``{"envelope": …, "account": …}`` as ``receive`` prints them."""

import base64
import os

from .records import now_ms, uuid_for


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
