"""Contacts: listing and changing contacts."""

from marshmallow import fields, validate

from ..extensions import Schema
from . import (
    Recipient,
    Text,
    WholeNumber,
)


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
