"""Messages: sending, the old /v1/send, typing indicators, remote deletes, polls and stories."""

import re
from dataclasses import dataclass

import marshmallow as ma
from marshmallow import fields, validate

from ..attachments import media_type
from ..errors import recipient_failures
from ..extensions import Schema, account_or_default
from ..signal_cli import GroupId
from . import (
    Base64Attachment,
    FullMatch,
    GroupIdField,
    Mention,
    PhoneNumber,
    Recipient,
    Text,
    Timestamp,
    TimestampText,
    WholeNumber,
    group_id_to_api,
    item_list,
    parse_group_id,
    parse_recipient,
    recipient_problem,
    shorten,
)

_STICKER = re.compile(r"^(?:[0-9a-f]{2})+:[0-9]{1,9}$")


class AccountMixin:
    """Fills in the default account when ``number`` is absent."""

    @ma.post_load
    def default_account(self, data, **kwargs):
        """``number`` may be omitted when a default account is configured."""
        account = account_or_default(data.get("number"))
        if not account:
            raise ma.ValidationError(
                'No account given: add "number" or configure a default account (SIGNAL_REST_DEFAULT_ACCOUNT).',
                "number",
            )
        data["number"] = account
        return data


class LinkPreviewSchema(Schema):
    """A link preview shown with the message; its url must occur in the message."""

    url = Text(required=True, max_length=2048, validate=validate.URL(schemes={"http", "https"}))
    title = Text(max_length=1024)
    description = Text(max_length=4096)
    base64_thumbnail = Base64Attachment()


class SendMessageSchema(AccountMixin, Schema):
    """A message for /v2/send."""

    number = PhoneNumber()
    recipients = item_list(Recipient(), max_items=1000)
    recipient = Recipient()
    message = Text(max_length=64 * 1024)
    base64_attachments = item_list(Base64Attachment())
    mentions = item_list(Mention(), max_items=1000)
    text_mode = fields.String(validate=validate.OneOf(["normal", "styled"]))
    quote_timestamp = Timestamp()
    quote_author = Recipient(groups=False)
    quote_message = Text(max_length=64 * 1024)
    quote_mentions = item_list(Mention(), max_items=1000)
    sticker = fields.String(validate=FullMatch(_STICKER, error="Not of the form <packId hex>:<stickerId>."))
    edit_timestamp = Timestamp()
    link_preview = fields.Nested(LinkPreviewSchema)
    view_once = fields.Boolean()
    notify_self = fields.Boolean()
    no_urgent = fields.Boolean(
        metadata={"description": "Send without a push notification (needs signal-cli 0.14.0 or newer)."}
    )
    voice_note = fields.Boolean(
        metadata={"description": "Mark every attachment as a voice note (needs signal-cli 0.14.2 or newer)."}
    )

    @ma.validates_schema
    def check_something_to_send(self, data, **kwargs):
        """A recipient and something to send are required; a quote needs its author."""
        if not data.get("recipients") and not data.get("recipient"):
            raise ma.ValidationError("Give at least one recipient.", "recipients")
        if not (data.get("message") or data.get("base64_attachments") or data.get("sticker")):
            raise ma.ValidationError("Give a message, an attachment or a sticker.", "message")
        if "quote_timestamp" in data and "quote_author" not in data:
            raise ma.ValidationError("A quote needs quote_author as well as quote_timestamp.", "quote_author")
        preview = data.get("link_preview")
        if preview and preview["url"] not in (data.get("message") or ""):
            raise ma.ValidationError("The link preview's url must occur in the message.", "link_preview")

    @ma.post_load
    def merge_recipients(self, data, **kwargs):
        """``recipient`` is appended to ``recipients``; duplicates are sent to once."""
        recipients = list(data.pop("recipients", []))
        if data.get("recipient") is not None:
            recipients.append(data.pop("recipient"))
        data["recipients"] = list(dict.fromkeys(recipients))
        return data


class SendMessageV1Schema(AccountMixin, Schema):
    """A message for the seed's /v1/send/{recipient}."""

    number = PhoneNumber()
    message = Text(max_length=64 * 1024)
    base64_attachments = item_list(Base64Attachment())

    @ma.validates_schema
    def check_something_to_send(self, data, **kwargs):
        """A message or an attachment is required."""
        if not (data.get("message") or data.get("base64_attachments")):
            raise ma.ValidationError("Give a message or an attachment.", "message")


@dataclass(frozen=True)
class Sent:
    """A send as :class:`SendResultSchema` dumps it: signal-cli's result and the recipients asked for."""

    result: dict
    recipients: list


def _api_recipient(recipient):
    return group_id_to_api(recipient) if isinstance(recipient, GroupId) else recipient


class SentTo(fields.Dict):
    """``{timestamp: {"recipients": [...]}}``: whom a message went to, under its timestamp."""

    _CHECK_ATTRIBUTE = False

    def _serialize(self, value, attr, obj, **kwargs):
        timestamp = TimestampText().serialize("timestamp", obj.result)
        recipients = [_api_recipient(recipient) for recipient in obj.recipients]
        return super()._serialize({timestamp: {"recipients": recipients}}, attr, obj, **kwargs)


class RecipientFailures(fields.Dict):
    """``{"recipients": [...]}``: the recipients a send failed for; left out when there are none."""

    def _serialize(self, value, attr, obj, **kwargs):
        failures = recipient_failures(value)
        if not failures:
            return ma.missing
        return super()._serialize({"recipients": failures}, attr, obj, **kwargs)


class SendResultSchema(Schema):
    """The result of a send, in the shape of both APIs."""

    timestamp = TimestampText(attribute="result.timestamp")
    timestamps = SentTo(keys=fields.String(), values=fields.Dict())
    errors = RecipientFailures(attribute="result", keys=fields.String(), values=fields.List(fields.Dict()))


class SendMessageV1StandardSchema(AccountMixin, Schema):
    """The old standard API's /v1/send: one attachment, groups flagged with ``is_group``."""

    number = PhoneNumber()
    recipients = item_list(fields.String(), max_items=1000, required=True)
    message = Text(max_length=64 * 1024)
    base64_attachment = Base64Attachment()
    is_group = fields.Boolean(load_default=False)

    @ma.post_load
    def parse_recipients(self, data, **kwargs):
        """With ``is_group`` every recipient is a group id; otherwise any recipient."""
        parsed, problems = [], {}
        for index, value in enumerate(data["recipients"]):
            recipient = parse_group_id(value) if data["is_group"] else parse_recipient(value)
            if recipient is None:
                problems[index] = [
                    f"'{shorten(value)}' is not a group id." if data["is_group"] else recipient_problem(value)
                ]
            parsed.append(recipient)
        if problems:
            raise ma.ValidationError(problems, "recipients")
        if not (data.get("message") or data.get("base64_attachment")):
            raise ma.ValidationError("Give a message or an attachment.", "message")
        data["recipients"] = parsed
        data["base64_attachments"] = [data.pop("base64_attachment")] if data.get("base64_attachment") else []
        return data


class TypingSchema(Schema):
    """The conversation whose typing indicator changes."""

    recipient = Recipient(required=True, usernames=False)
    action = fields.String(validate=validate.OneOf(["start", "stop"]))


class RemoteDeleteSchema(Schema):
    """The message (by its timestamp) to delete for everyone.

    With ``target_author``, a group admin deletes someone else's message in that group (needs
    signal-cli 0.14.0 or newer); without it, the account deletes a message it sent itself.
    """

    recipient = Recipient(required=True, usernames=False)
    timestamp = Timestamp(required=True)
    target_author = Recipient(
        groups=False,
        metadata={"description": "The author of the message to delete as a group admin; recipient must be a group."},
    )

    @ma.validates_schema
    def admin_delete_in_a_group(self, data, **kwargs):
        """Only a group has admins: deleting another author's message needs a group recipient."""
        if "target_author" in data and not isinstance(data["recipient"], GroupId):
            raise ma.ValidationError(
                "Deleting someone else's message (target_author) works only in a group: give the group as recipient.",
                "recipient",
            )


#: the longest poll answer signal-cli accepts, in UTF-16 code units (SIGNAL_CLI_0.14.md §3.1)
MAX_POLL_ANSWER = 100


class StorySchema(Schema):
    """A story: one image or video, to a group or (without one) to "My Story"."""

    attachment = Base64Attachment(
        required=True,
        metadata={"description": "The image or video, as base64 or a data URI (`data:<mime>;base64,<data>`)."},
    )
    group_id = GroupIdField(metadata={"description": "Post to this group; without it the story goes to My Story."})
    allow_replies = fields.Boolean(load_default=True)

    @ma.validates("attachment")
    def image_or_video(self, attachment, **kwargs):
        """Signal's stories hold an image or a video, nothing else."""
        mime = media_type(attachment)
        if not mime or mime.split("/")[0] not in ("image", "video"):
            raise ma.ValidationError(
                f"A story is an image or a video; this attachment is {mime or 'of an unknown type'}."
            )


class PollSchema(Schema):
    """A poll: question and answers, to a person or a group."""

    recipient = Recipient(required=True, usernames=False)
    question = Text(required=True, max_length=1024)
    answers = fields.List(
        Text(max_length=1024),
        required=True,
        validate=validate.Length(min=2, max=10, error="A poll has 2 to 10 answers."),
    )
    allow_multiple_selections = fields.Boolean(load_default=True)

    @ma.validates("answers")
    def answers_are_words(self, answers, **kwargs):
        """signal-cli takes the answers as separate words, so none may start with '-' or hold a newline."""
        for answer in answers:
            if not answer.strip() or answer.startswith("-") or "\n" in answer:
                raise ma.ValidationError(f"Answer '{shorten(answer)}' may not be empty, start with '-' or span lines.")
            # signal-cli 0.14.2+ counts Java chars (UTF-16 units) and refuses more than 100
            if len(answer.encode("utf-16-le")) // 2 > MAX_POLL_ANSWER:
                raise ma.ValidationError(f"Answer '{shorten(answer)}' is longer than {MAX_POLL_ANSWER} characters.")


class PollVoteSchema(Schema):
    """A vote: the poll (author and timestamp) and the chosen answers, counted from 1."""

    recipient = Recipient(required=True, usernames=False)
    poll_author = Recipient(required=True, groups=False)
    poll_timestamp = Timestamp(required=True)
    selected_answers = fields.List(
        WholeNumber(validate=validate.Range(min=1, max=10)), required=True, validate=validate.Length(min=1, max=10)
    )


class PollCloseSchema(Schema):
    """The poll (by its timestamp) to close."""

    recipient = Recipient(required=True, usernames=False)
    poll_timestamp = Timestamp(required=True)
