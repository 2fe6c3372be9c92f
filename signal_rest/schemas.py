"""Schemas: everything a user sends is validated and normalised here before it goes near argv.

First the shared fields (phone number, recipient, group id, timestamp, free text, attachment),
then one section per blueprint. Fields return the values the wrapper takes: normalised E.164
numbers, lower-case UUIDs, ``u:name.42`` usernames and :class:`signal_cli.GroupId` objects.
"""

import base64
import binascii
import re
from urllib.parse import unquote

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from . import attachments, config
from .extensions import Schema
from .signal_cli import GroupId

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_USERNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{2,31}\.[0-9]{2,9}\Z")
_SPACES = re.compile(r"\s+")
_STICKER = re.compile(r"^(?:[0-9a-f]{2})+:[0-9]{1,9}$")
_MENTION = re.compile(r"^([0-9]{1,9}):([0-9]{1,9}):(.+)\Z", re.S)
_MAX_TIMESTAMP = 2**63 - 1


def _shorten(value, limit=60):
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class FullMatch(validate.Regexp):
    """Like ``validate.Regexp``, but the whole value must match: ``$`` does not let a trailing
    newline through (the pattern stays ECMA-compatible for the OpenAPI document)."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# --- value parsers (shared by fields and URL converters) ------------------------------------------


def parse_phone_number(value):
    """E.164 after removing spaces and adding ``+`` to an all-digit value; else ``None``."""
    if not isinstance(value, str):
        return None
    number = _SPACES.sub("", value)
    if number.isdigit():
        number = "+" + number
    return number if _E164.match(number) else None


def _decode_base64_id(text):
    """Raw bytes of a standard base64 id (16 or 32 bytes), or None."""
    if not text or len(text) % 4 or len(text) > 64:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) in (16, 32) else None


def parse_group_id(value, *, underscore_is_slash=False):
    """A :class:`GroupId` from either form (``group.<b64 of the id>`` or the raw id), else None.

    Percent-encoding is undone; with ``underscore_is_slash`` an ``_`` stands for ``/`` (the seed's
    /v1/send/{recipient} path form).
    """
    if not isinstance(value, str) or len(value) > 200:
        return None
    text = unquote(value).strip() if "%" in value else value.strip()
    if underscore_is_slash:
        text = text.replace("_", "/")
    prefixed = text.startswith("group.")
    if prefixed:
        text = text[len("group.") :]
    if not prefixed and _decode_base64_id(text):
        return GroupId(text)
    try:
        inner = base64.b64decode(text, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    return GroupId(inner) if _decode_base64_id(inner) else None


def group_id_to_api(group_id):
    """The standard API's ``group.`` form of a signal-cli group id."""
    return "group." + base64.b64encode(group_id.encode("ascii")).decode("ascii")


INVITE_LINK_PREFIX = "https://signal.group/#"
_INVITE_LINK = re.compile(r"^https://signal\.group/#[A-Za-z0-9_+/=-]{16,2048}\Z")


def parse_invite_link(value):
    """A group invite link ``https://signal.group/#…`` (percent-encoding undone), else None."""
    if not isinstance(value, str):
        return None
    text = unquote(value).strip() if "%" in value else value.strip()
    return text if _INVITE_LINK.match(text) else None


def parse_username(value):
    """``u:name.42`` for a username with or without ``u:``, else None."""
    name = value[2:] if value.startswith("u:") else value
    return f"u:{name}" if _USERNAME.match(name) else None


def parse_recipient(value, *, groups=True, usernames=True, underscore_is_slash=False):
    """A recipient in the form signal-cli takes (see API.md §1), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    number = parse_phone_number(text)
    if number:
        return number
    if _UUID.match(text):
        return text.lower()
    if text[:4].upper() == "PNI:" and _UUID.match(text[4:]):
        return "PNI:" + text[4:].lower()
    if groups:
        group = parse_group_id(text, underscore_is_slash=underscore_is_slash)
        if group:
            return group
    if usernames:
        return parse_username(text)
    return None


def recipient_problem(value, *, groups=True, usernames=True):
    """The sentence saying what a recipient may be."""
    kinds = ["a phone number", "UUID"]
    if usernames:
        kinds.append("username")
    if groups:
        kinds.append("group id")
    return f"Recipient '{_shorten(value)}' is not {', '.join(kinds[:-1])} or {kinds[-1]}."


# --- fields -----------------------------------------------------------------------------------------


class PhoneNumber(fields.String):
    """An E.164 phone number (``+4915112345678``); spaces are removed, a missing ``+`` added."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_phone_number(value)
        if number is None:
            raise ma.ValidationError(
                f"'{_shorten(value)}' is not a phone number in international format, e.g. +4915112345678."
            )
        return number


class Recipient(fields.String):
    """A phone number, UUID, ``PNI:`` UUID, username or (where allowed) group id."""

    def __init__(self, *, groups=True, usernames=True, underscore_is_slash=False, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups
        self.usernames = usernames
        self.underscore_is_slash = underscore_is_slash

    def _deserialize(self, value, attr, data, **kwargs):
        recipient = parse_recipient(
            value, groups=self.groups, usernames=self.usernames, underscore_is_slash=self.underscore_is_slash
        )
        if recipient is None:
            raise ma.ValidationError(recipient_problem(value, groups=self.groups, usernames=self.usernames))
        return recipient


class GroupIdField(fields.String):
    """A group id in either form; deserialises to :class:`signal_cli.GroupId`."""

    def _deserialize(self, value, attr, data, **kwargs):
        group_id = parse_group_id(value)
        if group_id is None:
            raise ma.ValidationError(
                f"'{_shorten(value)}' is not a group id (expected 'group.…' or signal-cli's base64 id)."
            )
        return group_id


class WholeNumber(fields.Integer):
    """A whole number: a JSON number or a numeric string (``1.5`` and ``"1e3"`` are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ma.ValidationError("Not a whole number.")
        if isinstance(value, str) and not (value.strip().isascii() and value.strip().lstrip("-").isdigit()):
            raise ma.ValidationError(f"'{_shorten(value)}' is not a whole number.")
        if isinstance(value, float) and not value.is_integer():
            raise ma.ValidationError(f"{value} is not a whole number.")
        return super()._deserialize(value, attr, data, **kwargs)


class Timestamp(WholeNumber):
    """A message timestamp in milliseconds: a JSON number or a numeric string."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = super()._deserialize(value, attr, data, **kwargs)
        except ma.ValidationError:
            raise ma.ValidationError(f"'{_shorten(value)}' is not a timestamp in milliseconds.") from None
        if not 0 < number <= _MAX_TIMESTAMP:
            raise ma.ValidationError(f"{number} is not a timestamp in milliseconds.")
        return number


class Text(fields.String):
    """Free text: any characters but NUL (which no argv can carry), up to ``max_length``."""

    def __init__(self, *, max_length=2000, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\0" in text:
            raise ma.ValidationError("NUL characters are not allowed.")
        if len(text) > self.max_length:
            raise ma.ValidationError(f"At most {self.max_length} characters are allowed.")
        return text


class Base64Attachment(fields.String):
    """Plain base64 or a ``data:`` URI; deserialises to :class:`attachments.Attachment`."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return attachments.parse_attachment(text)
        except ValueError as exc:
            raise ma.ValidationError(f"This attachment cannot be decoded: {exc}.") from None


class Mention(fields.Field):
    """``{"start", "length", "author"}`` or the seed's ``"start:length:author"``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            match = _MENTION.match(value)
            if not match:
                raise ma.ValidationError(f"'{_shorten(value)}' is not of the form start:length:author.")
            value = {"start": match.group(1), "length": match.group(2), "author": match.group(3)}
        if not isinstance(value, dict):
            raise ma.ValidationError("A mention is an object with start, length and author.")
        loaded = MentionSchema().load(value)
        return loaded["start"], loaded["length"], loaded["author"]


class MentionSchema(Schema):
    """One mention: a range of the text (UTF-16 code units) that names a user."""

    start = WholeNumber(required=True, validate=validate.Range(min=0, max=100_000))
    length = WholeNumber(required=True, validate=validate.Range(min=1, max=100_000))
    author = Recipient(required=True, groups=False, usernames=False)


def _item_list(item, *, max_items=100, **kwargs):
    return fields.List(item, validate=validate.Length(max=max_items), **kwargs)


# --- responses shared by several blueprints -----------------------------------------------------------


class TimestampSchema(Schema):
    """A sent message's timestamp (a string of milliseconds)."""

    timestamp = fields.String()


# --- general --------------------------------------------------------------------------------------


class AboutSchema(Schema):
    """What /v1/about says about the service."""

    versions = fields.List(fields.String())
    build = fields.Integer()
    mode = fields.String()
    version = fields.String()
    signal_cli = fields.String(allow_none=True)
    capabilities = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class HealthQueryArgsSchema(Schema):
    """Whether to check more than that the service answers."""

    deep = fields.Boolean(load_default=False)


class HealthSchema(Schema):
    """The outcome of a deep health check."""

    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.Dict())


# --- configuration ------------------------------------------------------------------------------------

LOG_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}
TRUST_MODES = ("on-first-use", "always", "never")


class LogLevel(fields.String):
    """A log level name, case-insensitive; deserialises to Python's name (``WARNING``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        level = LOG_LEVELS.get(text.strip().lower())
        if level is None:
            raise ma.ValidationError(f"'{_shorten(text)}' is not a log level; use one of {', '.join(LOG_LEVELS)}.")
        return level


class LoggingSchema(Schema):
    """The logging part of the configuration."""

    level = LogLevel(required=True)

    @ma.pre_load
    def accept_capitalised_key(self, data, **kwargs):
        """The seed API spells the key ``Level``."""
        if isinstance(data, dict) and "level" not in data and "Level" in data:
            data = {**data, "level": data["Level"]}
        return data


class ConfigurationSchema(Schema):
    """The service's run-time configuration."""

    logging = fields.Nested(LoggingSchema, required=True)


class TrustModeSchema(Schema):
    """How new identity keys of an account's contacts are trusted."""

    trust_mode = fields.String(required=True, validate=validate.OneOf(TRUST_MODES))


# --- search ---------------------------------------------------------------------------------------


class SearchQueryArgsSchema(Schema):
    """Numbers to look up, and optionally the account that looks them up."""

    numbers = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=100))
    number = PhoneNumber()

    @ma.post_load
    def split_and_check_numbers(self, data, **kwargs):
        """``numbers=A,B`` counts as two numbers; each must be a phone number."""
        items = [item for value in data["numbers"] for item in value.split(",") if item.strip()]
        numbers, problems = [], {}
        for index, item in enumerate(items):
            number = parse_phone_number(item)
            if number is None:
                problems[index] = [f"'{_shorten(item)}' is not a phone number in international format."]
            numbers.append(number)
        if problems or not numbers:
            raise ma.ValidationError(problems or ["Give at least one number."], "numbers")
        data["numbers"] = numbers
        return data


class SearchResultSchema(Schema):
    """Whether a number is registered with Signal."""

    number = fields.String()
    registered = fields.Boolean()


# --- messages -------------------------------------------------------------------------------------


class AccountMixin:
    """Fills in the default account when ``number`` is absent."""

    @ma.post_load
    def default_account(self, data, **kwargs):
        """``number`` may be omitted when a default account is configured."""
        if not data.get("number"):
            account = config.default_account(current_app.config)
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
    recipients = _item_list(Recipient(), max_items=1000)
    recipient = Recipient()
    message = Text(max_length=64 * 1024)
    base64_attachments = _item_list(Base64Attachment())
    mentions = _item_list(Mention(), max_items=1000)
    text_mode = fields.String(validate=validate.OneOf(["normal", "styled"]))
    quote_timestamp = Timestamp()
    quote_author = Recipient(groups=False)
    quote_message = Text(max_length=64 * 1024)
    quote_mentions = _item_list(Mention(), max_items=1000)
    sticker = fields.String(validate=FullMatch(_STICKER, error="Not of the form <packId hex>:<stickerId>."))
    edit_timestamp = Timestamp()
    link_preview = fields.Nested(LinkPreviewSchema)
    view_once = fields.Boolean()
    notify_self = fields.Boolean()

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
    base64_attachments = _item_list(Base64Attachment())

    @ma.validates_schema
    def check_something_to_send(self, data, **kwargs):
        """A message or an attachment is required."""
        if not (data.get("message") or data.get("base64_attachments")):
            raise ma.ValidationError("Give a message or an attachment.", "message")


class SendResultSchema(Schema):
    """The result of a send, in the shape of both APIs."""

    timestamp = fields.String()
    timestamps = fields.Dict(keys=fields.String(), values=fields.Dict())
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))


# --- groups ---------------------------------------------------------------------------------------

PERMISSION_CHOICES = ("every-member", "only-admins")
LINK_CHOICES = ("disabled", "enabled", "enabled-with-approval")


class PermissionsSchema(Schema):
    """Who may add members, edit the group and send messages."""

    add_members = fields.String(validate=validate.OneOf(PERMISSION_CHOICES))
    edit_group = fields.String(validate=validate.OneOf(PERMISSION_CHOICES))
    send_messages = fields.String(validate=validate.OneOf(PERMISSION_CHOICES))


_MEMBER = Recipient(groups=False, usernames=False)


class CreateGroupSchema(Schema):
    """A new group."""

    name = Text(required=True, max_length=1024)
    members = _item_list(_MEMBER, max_items=1000)
    description = Text(max_length=8192)
    permissions = fields.Nested(PermissionsSchema)
    group_link = fields.String(validate=validate.OneOf(LINK_CHOICES))
    admins = _item_list(_MEMBER, max_items=1000)
    base64_avatar = Base64Attachment()
    expiration_time = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))
    message_expiration_timer = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))

    @ma.post_load
    def merge_expiration(self, data, **kwargs):
        """``message_expiration_timer`` is the seed's name for ``expiration_time``."""
        timer = data.pop("message_expiration_timer", None)
        if "expiration_time" not in data and timer is not None:
            data["expiration_time"] = timer
        return data


class UpdateGroupSchema(CreateGroupSchema):
    """Changes to a group; every field is optional."""

    name = Text(max_length=1024)
    group_link = fields.String(validate=validate.OneOf(("unchanged",) + LINK_CHOICES))
    add_members = _item_list(_MEMBER, max_items=1000)
    add_admins = _item_list(_MEMBER, max_items=1000)

    @ma.post_load
    def drop_unchanged_link(self, data, **kwargs):
        """``group_link: unchanged`` means leave the link as it is."""
        if data.get("group_link") == "unchanged":
            del data["group_link"]
        return data


class GroupQueryArgsSchema(Schema):
    """Options of the group listing."""

    expand = fields.Boolean(load_default=False)


class GroupCreatedSchema(Schema):
    """The id of a new group, in every form clients know."""

    id = fields.String()
    group_id = fields.String()
    internal_id = fields.String()


class GroupPermissionsSchema(Schema):
    """A group's permissions in the standard API's words."""

    add_members = fields.String()
    edit_group = fields.String()
    send_messages = fields.String()


class GroupSchema(Schema):
    """A group as both APIs describe it."""

    id = fields.String()
    internal_id = fields.String()
    name = fields.String()
    description = fields.String()
    members = fields.List(fields.Raw())
    blocked = fields.Boolean()
    member = fields.Boolean()
    pending_invites = fields.List(fields.Raw())
    pending_requests = fields.List(fields.Raw())
    invite_link = fields.String()
    admins = fields.List(fields.Raw())
    banned = fields.List(fields.Raw())
    permissions = fields.Nested(GroupPermissionsSchema)
    message_expiration_timer = fields.Integer()


# --- reactions ------------------------------------------------------------------------------------


DEFAULT_REACTION = "👍"


class ReactionSchema(Schema):
    """A reaction to a message; the conversation is ``recipient`` or ``groupid``."""

    reaction = Text(max_length=64)
    recipient = Recipient(usernames=False)
    groupid = GroupIdField()
    target_author = Recipient(required=True, groups=False)
    timestamp = Timestamp(required=True)
    remove = fields.Boolean(load_default=False)

    @ma.post_load
    def conversation(self, data, **kwargs):
        """The group (``groupid``) wins over ``recipient``; one of them is required."""
        group = data.pop("groupid", None)
        recipient = data.pop("recipient", None)
        if group is None and recipient is None:
            raise ma.ValidationError("Give the conversation as recipient or groupid.", "recipient")
        data["recipient"] = group or recipient
        if data.get("remove") and not data.get("reaction"):
            # signal-cli needs the emoji to take back; the standard API's DELETE assumes 👍 too
            data["reaction"] = DEFAULT_REACTION
        return data

    @ma.validates_schema
    def check_reaction(self, data, **kwargs):
        """Sending a reaction needs the emoji."""
        if not data.get("reaction") and not data.get("remove"):
            raise ma.ValidationError("Give the emoji as reaction.", "reaction")


class RemoveReactionSchema(ReactionSchema):
    """A reaction to take back; the emoji defaults to 👍."""

    reaction = Text(max_length=64, load_default=DEFAULT_REACTION)


# --- devices: registration ------------------------------------------------------------------------


class RegisterSchema(Schema):
    """Options of a registration."""

    use_voice = fields.Boolean(load_default=False)
    captcha = Text(max_length=16 * 1024, validate=FullMatch(r"^(signalcaptcha://)?[\w.\-:/+=]+$"))


class VerifySchema(Schema):
    """The registration lock PIN, when the account has one."""

    pin = fields.String(validate=FullMatch(r"^[0-9A-Za-z]{4,64}$", error="Not a Signal PIN."))


VERIFICATION_CODE = re.compile(r"^[0-9]{3}-?[0-9]{3}\Z")
#: a file name signal-cli gave a received attachment
#: (signal-cli names them after their CDN key, unpadded base64url: it may start with '-'; these ids
#: only ever name files in the attachments folder, never reach argv)
ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.=-]{0,254}\Z")


# --- profiles -------------------------------------------------------------------------------------


class ProfileSchema(Schema):
    """A new profile: name, about text and avatar."""

    name = Text(required=True, max_length=256)
    family_name = Text(max_length=256)
    about = Text(max_length=512)
    base64_avatar = Base64Attachment()
    remove_avatar = fields.Boolean(load_default=False)

    @ma.validates_schema
    def check_avatar(self, data, **kwargs):
        """An avatar cannot be set and removed at once."""
        if data.get("remove_avatar") and data.get("base64_avatar"):
            raise ma.ValidationError("Give base64_avatar or remove_avatar, not both.", "remove_avatar")


# --- messages: the standard API's other endpoints ---------------------------------------------------


class SendMessageV1StandardSchema(AccountMixin, Schema):
    """The old standard API's /v1/send: one attachment, groups flagged with ``is_group``."""

    number = PhoneNumber()
    recipients = _item_list(fields.String(), max_items=1000, required=True)
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
                    f"'{_shorten(value)}' is not a group id." if data["is_group"] else recipient_problem(value)
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
    """The message (by its timestamp) to delete for everyone."""

    recipient = Recipient(required=True, usernames=False)
    timestamp = Timestamp(required=True)


class ReceiptSchema(Schema):
    """A read or viewed receipt for a message."""

    recipient = Recipient(required=True, groups=False, usernames=False)
    receipt_type = fields.String(load_default="read", validate=validate.OneOf(["read", "viewed"]))
    timestamp = Timestamp(required=True)


# --- receive --------------------------------------------------------------------------------------

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


class ReceivedSchema(Schema):
    """One received envelope, exactly as signal-cli reports it."""

    envelope = fields.Dict()
    account = fields.String()
    exception = fields.Dict()


class WebhookStatusSchema(Schema):
    """How deliveries to one webhook go."""

    url = fields.String()
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


# --- groups: members, admins, pinned messages ------------------------------------------------------


class MembersSchema(Schema):
    """Members to add or remove."""

    members = fields.List(_MEMBER, required=True, validate=validate.Length(min=1, max=1000))


class AdminsSchema(Schema):
    """Admins to add or remove."""

    admins = fields.List(_MEMBER, required=True, validate=validate.Length(min=1, max=1000))


class PinMessageSchema(Schema):
    """A message (author and timestamp) to pin or unpin in a group."""

    target_author = Recipient(required=True, groups=False)
    timestamp = Timestamp(required=True)
    duration = WholeNumber(validate=validate.Range(min=1, max=2**31 - 1))


# --- devices and linking -----------------------------------------------------------------------------

_DEVICE_LINK = re.compile(r"^sgnl://linkdevice\?[A-Za-z0-9%=&_.~+/-]{1,2048}$")
_DEVICE_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,50}$")


class UnregisterSchema(Schema):
    """What unregistering also deletes."""

    delete_account = fields.Boolean(load_default=False)
    delete_local_data = fields.Boolean(load_default=False)


class DeleteLocalDataSchema(Schema):
    """Whether local data may be deleted while the account is still registered."""

    ignore_registered = fields.Boolean(load_default=False)


class QrCodeLinkQueryArgsSchema(Schema):
    """The new device's name, and the QR code's size (version)."""

    device_name = Text(
        load_default="signal-rest", max_length=50, validate=FullMatch(_DEVICE_NAME, error="Not a device name.")
    )
    qrcode_version = WholeNumber(load_default=10, validate=validate.Range(min=1, max=40))


class AddDeviceSchema(Schema):
    """The ``sgnl://linkdevice?…`` URI shown by the device to link."""

    uri = fields.String(required=True, validate=FullMatch(_DEVICE_LINK, error="Not a sgnl://linkdevice?… device link."))


class DeviceSchema(Schema):
    """A linked device."""

    id = fields.Integer()
    name = fields.String(allow_none=True)
    last_seen_timestamp = fields.String()
    creation_timestamp = fields.String()


class DeviceLinkSchema(Schema):
    """A device link URI, to show as a QR code."""

    device_link_uri = fields.String()


# --- accounts ---------------------------------------------------------------------------------------

_PIN = re.compile(r"^[0-9A-Za-z]{4,64}$")
_NICKNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{2,31}(\.[0-9]{2,9})?$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:/+=-]{1,8192}$")


class RateLimitChallengeSchema(Schema):
    """A solved captcha for a rate-limit challenge."""

    challenge_token = fields.String(required=True, validate=FullMatch(_TOKEN, error="Not a challenge token."))
    captcha = Text(required=True, max_length=16 * 1024)


class AccountSettingsSchema(Schema):
    """Who can find the account by its number, and whether it shares its number."""

    discoverable_by_number = fields.Boolean()
    share_number = fields.Boolean()


class UsernameSchema(Schema):
    """A username (nickname, optionally with its discriminator)."""

    username = fields.String(
        required=True,
        validate=FullMatch(_NICKNAME, error="3–32 letters, digits or _, not starting with a digit."),
    )


class UsernameResultSchema(Schema):
    """The username Signal gave, and its link."""

    username = fields.String()
    username_link = fields.String()


class PinSchema(Schema):
    """The registration lock PIN."""

    pin = fields.String(required=True, validate=FullMatch(_PIN, error="4–64 digits or letters."))


# --- contacts and identities -------------------------------------------------------------------------


class ContactsQueryArgsSchema(Schema):
    """Whether to list every known recipient, not only contacts."""

    all_recipients = fields.Boolean(load_default=False)


class UpdateContactSchema(Schema):
    """A contact's new name and disappearing-messages timer."""

    recipient = Recipient(required=True, groups=False, usernames=False)
    name = Text(max_length=256)
    expiration_in_seconds = WholeNumber(validate=validate.Range(min=0, max=2**31 - 1))


class NicknameSchema(Schema):
    """The nickname one gave a contact."""

    name = fields.String(allow_none=True)
    given_name = fields.String(allow_none=True)
    family_name = fields.String(allow_none=True)


class ContactProfileSchema(Schema):
    """What a contact's profile says."""

    given_name = fields.String(allow_none=True)
    lastname = fields.String(allow_none=True)
    about = fields.String(allow_none=True)
    has_avatar = fields.Boolean()
    last_updated_timestamp = fields.String()


class ContactSchema(Schema):
    """A contact as the standard API describes it."""

    number = fields.String(allow_none=True)
    uuid = fields.String(allow_none=True)
    name = fields.String()
    profile_name = fields.String()
    username = fields.String()
    color = fields.String()
    blocked = fields.Boolean()
    message_expiration = fields.String()
    note = fields.String()
    given_name = fields.String()
    nickname = fields.Nested(NicknameSchema)
    profile = fields.Nested(ContactProfileSchema)


_SAFETY_NUMBER = re.compile(r"^[0-9A-Za-z+/= ]{1,400}$")


class TrustSchema(Schema):
    """Either a verified safety number, or ``trust_all_known_keys: true``."""

    verified_safety_number = fields.String(
        validate=FullMatch(_SAFETY_NUMBER, error="Not a safety number (digits, or the scanned code).")
    )
    trust_all_known_keys = fields.Boolean()

    @ma.post_load
    def exactly_one(self, data, **kwargs):
        """One of the two ways to trust, not both and not neither; the safety number without spaces."""
        if "verified_safety_number" in data:
            data["verified_safety_number"] = data["verified_safety_number"].replace(" ", "")
            if not data["verified_safety_number"]:
                raise ma.ValidationError("The safety number is empty.", "verified_safety_number")
        if bool(data.get("verified_safety_number")) == bool(data.get("trust_all_known_keys")):
            raise ma.ValidationError("Give exactly one of verified_safety_number and trust_all_known_keys: true.")
        return data


class IdentitySchema(Schema):
    """An identity key the account knows."""

    number = fields.String(allow_none=True)
    uuid = fields.String(allow_none=True)
    status = fields.String()
    fingerprint = fields.String()
    safety_number = fields.String()
    added = fields.String()


# --- stickers ---------------------------------------------------------------------------------------

_HEX = re.compile(r"^[0-9a-fA-F]{2,128}$")


class AddStickerPackSchema(Schema):
    """A sticker pack's id and key, as in its signal.art link."""

    pack_id = fields.String(required=True, validate=FullMatch(_HEX, error="Not a hexadecimal pack id."))
    pack_key = fields.String(required=True, validate=FullMatch(_HEX, error="Not a hexadecimal pack key."))


class StickerPackSchema(Schema):
    """An installed sticker pack."""

    pack_id = fields.String()
    url = fields.String()
    installed = fields.Boolean()
    title = fields.String(allow_none=True)
    author = fields.String(allow_none=True)


# --- polls ------------------------------------------------------------------------------------------


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
                raise ma.ValidationError(f"Answer '{_shorten(answer)}' may not be empty, start with '-' or span lines.")


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
