"""Receipts: read and viewed receipts."""

from marshmallow import fields, validate

from ..extensions import Schema
from . import Recipient, Timestamp


class ReceiptSchema(Schema):
    """A read or viewed receipt for a message."""

    recipient = Recipient(required=True, groups=False, usernames=False)
    receipt_type = fields.String(load_default="read", validate=validate.OneOf(["read", "viewed"]))
    timestamp = Timestamp(required=True)
