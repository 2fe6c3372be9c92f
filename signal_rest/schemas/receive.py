"""Receive: fetching messages and the receiver's status."""

from marshmallow import fields, validate

from ..extensions import Schema
from ..receiving import webhooks
from . import (
    WholeNumber,
)

RECEIVE_MAX_TIMEOUT = 60
RECEIVE_MAX_MESSAGES = 1000


class ReceiveQueryArgsSchema(Schema):
    """How long to wait for messages and how many to take."""

    timeout = fields.Float(
        load_default=1.0,
        validate=validate.Range(min=0, max=RECEIVE_MAX_TIMEOUT, error=f"Between 0 and {RECEIVE_MAX_TIMEOUT} seconds."),
    )
    max_messages = WholeNumber(
        validate=validate.Range(min=1, max=RECEIVE_MAX_MESSAGES, error=f"Between 1 and {RECEIVE_MAX_MESSAGES}.")
    )
    ignore_attachments = fields.Boolean(load_default=False)
    ignore_stories = fields.Boolean(load_default=False)
    send_read_receipts = fields.Boolean(load_default=False)


class PushQueryArgsSchema(ReceiveQueryArgsSchema):
    """Where a push client (websocket, Server-Sent Events) starts; the polling options are accepted."""

    since = WholeNumber(
        validate=validate.Range(min=0, error="An inbox id: a whole number, 0 or more."),
        metadata={"description": "Start after this inbox id (default: after the last one pushed)."},
    )


class EventsHeadersSchema(Schema):
    """The id of the last event an SSE client got, sent again when it reconnects."""

    last_event_id = WholeNumber(
        data_key="Last-Event-ID",
        validate=validate.Range(min=0, error="An inbox id: a whole number, 0 or more."),
    )


class ReceivedSchema(Schema):
    """One received envelope, exactly as signal-cli reports it."""

    envelope = fields.Dict()
    account = fields.String()
    exception = fields.Dict()


class WebhookStatusSchema(Schema):
    """How deliveries to one webhook go."""

    url = fields.Function(lambda status: webhooks.masked_url(status["url"]), metadata={"type": "string"})
    pending = fields.Integer()
    oldest_pending_age = fields.Float(allow_none=True)
    last_delivered_at = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_error_at = fields.String(allow_none=True)


class ReceiveStatusSchema(Schema):
    """How receiving goes for an account."""

    account = fields.String()
    receiver = fields.Boolean()
    waiting = fields.Integer()
    oldest_waiting_age = fields.Float(allow_none=True)
    last_receive_at = fields.String(allow_none=True)
    last_receive_error = fields.String(allow_none=True)
    last_receive_error_at = fields.String(allow_none=True)
    webhooks = fields.List(fields.Nested(WebhookStatusSchema))
    abandoned_deliveries = fields.Integer()
