"""Schemas: everything a user sends is validated and normalised here before it goes near argv.

This module holds the shared fields (phone number, recipient, group id, timestamp, free text,
attachment) and the parsers behind them; each blueprint's schemas are in the module of its name.
Fields return the values the wrapper takes: normalised E.164 numbers, lower-case UUIDs,
``u:name.42`` usernames and :class:`signal_cli.GroupId` objects.
"""

import base64
import binascii
import re
from urllib.parse import unquote

import marshmallow as ma
from marshmallow import fields, validate

from .. import attachments
from ..extensions import Schema
from ..signal_cli import GroupId

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_USERNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{2,31}\.[0-9]{2,9}\Z")
_SPACES = re.compile(r"\s+")
_MENTION = re.compile(r"^([0-9]{1,9}):([0-9]{1,9}):(.+)\Z", re.S)
_MAX_TIMESTAMP = 2**63 - 1


def shorten(value, limit=60):
    """``value`` as text, cut to ``limit`` characters for an error message."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class FullMatch(validate.Regexp):
    """Like ``validate.Regexp``, but the whole value must match: ``$`` does not let a trailing
    newline through (the pattern stays ECMA-compatible for the OpenAPI document)."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# --- value parsers (shared by fields and URL converters) -------------------------------------------------


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
    return f"Recipient '{shorten(value)}' is not {', '.join(kinds[:-1])} or {kinds[-1]}."


#: the six-digit code Signal sends to verify a number (path parameter)
VERIFICATION_CODE = re.compile(r"^[0-9]{3}-?[0-9]{3}\Z")


# --- fields ----------------------------------------------------------------------------------------------


class PhoneNumber(fields.String):
    """An E.164 phone number (``+4915112345678``); spaces are removed, a missing ``+`` added."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_phone_number(value)
        if number is None:
            raise ma.ValidationError(
                f"'{shorten(value)}' is not a phone number in international format, e.g. +4915112345678."
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
                f"'{shorten(value)}' is not a group id (expected 'group.…' or signal-cli's base64 id)."
            )
        return group_id


class WholeNumber(fields.Integer):
    """A whole number: a JSON number or a numeric string (``1.5`` and ``"1e3"`` are refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ma.ValidationError("Not a whole number.")
        if isinstance(value, str) and not (value.strip().isascii() and value.strip().lstrip("-").isdigit()):
            raise ma.ValidationError(f"'{shorten(value)}' is not a whole number.")
        if isinstance(value, float) and not value.is_integer():
            raise ma.ValidationError(f"{value} is not a whole number.")
        return super()._deserialize(value, attr, data, **kwargs)


class Timestamp(WholeNumber):
    """A message timestamp in milliseconds: a JSON number or a numeric string."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = super()._deserialize(value, attr, data, **kwargs)
        except ma.ValidationError:
            raise ma.ValidationError(f"'{shorten(value)}' is not a timestamp in milliseconds.") from None
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
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("The text holds an unpaired surrogate (\\ud800-\\udfff).") from None
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
                raise ma.ValidationError(f"'{shorten(value)}' is not of the form start:length:author.")
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


def item_list(item, *, max_items=100, **kwargs):
    """A list field of ``item`` with at most ``max_items`` entries."""
    return fields.List(item, validate=validate.Length(max=max_items), **kwargs)


# --- responses shared by several blueprints --------------------------------------------------------------


class EmptySchema(Schema):
    """An empty JSON object: the answer of a creation that has nothing to tell (``{}``)."""


class _AbsentIsNone:
    """Dumps a key signal-cli left out of its output as if it had printed ``null``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, dump_default=None, **kwargs)


class NullableText(_AbsentIsNone, fields.String):
    """A text signal-cli may leave out: dumped as ``null`` then."""


class TextOrEmpty(_AbsentIsNone, fields.String):
    """A text signal-cli may leave out or print as ``null``: dumped as ``""`` then."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or "", attr, obj, **kwargs)


class Flag(_AbsentIsNone, fields.Boolean):
    """A yes/no signal-cli may leave out (no)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return bool(value)


class NumberText(_AbsentIsNone, fields.String):
    """A number signal-cli printed (a timestamp, a timer), as text: ``"0"`` when it printed none."""

    def _serialize(self, value, attr, obj, **kwargs):
        return str(value or 0)


class IntegerOrZero(_AbsentIsNone, fields.Integer):
    """A number signal-cli may leave out or print as ``null`` (0)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or 0, attr, obj, **kwargs)


class TimestampText(_AbsentIsNone, fields.String):
    """The timestamp signal-cli printed for a message it sent, as text (``""`` when it printed none)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return "" if value is None else str(value)


class WholeEntry(fields.Nested):
    """A nested object dumped from the same signal-cli entry as its parent (not from one of its keys)."""

    _CHECK_ATTRIBUTE = False

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(obj, attr, obj, **kwargs)


class TimestampSchema(Schema):
    """A sent message's timestamp (a string of milliseconds), dumped from signal-cli's send result."""

    timestamp = TimestampText()
