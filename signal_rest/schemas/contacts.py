"""Contacts: listing and changing contacts."""

from marshmallow import fields, validate

from ..extensions import Schema
from . import (
    Flag,
    NullableText,
    NumberText,
    Recipient,
    Text,
    TextOrEmpty,
    WholeEntry,
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

    name = NullableText(allow_none=True, attribute="nickName")
    given_name = NullableText(allow_none=True, attribute="nickGivenName")
    family_name = NullableText(allow_none=True, attribute="nickFamilyName")


class ContactProfileSchema(Schema):
    """What a contact's profile says."""

    given_name = NullableText(allow_none=True, attribute="givenName")
    lastname = NullableText(allow_none=True, attribute="familyName")
    about = NullableText(allow_none=True)
    has_avatar = Flag(attribute="hasAvatar")
    last_updated_timestamp = NumberText(attribute="lastUpdateTimestamp")


class ProfileName(fields.String):
    """The name a contact's profile gives: given and family name."""

    # the profile is also dumped whole, and marshmallow lets only one field take its value from a key
    _CHECK_ATTRIBUTE = False

    def _serialize(self, value, attr, obj, **kwargs):
        profile = obj.get("profile") or {}
        return " ".join(filter(None, (profile.get("givenName"), profile.get("familyName"))))


class ContactProfile(fields.Nested):
    """A contact's profile; empty when signal-cli knows none."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, dump_default=None, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or {}, attr, obj, **kwargs)


class ContactSchema(Schema):
    """A contact as the standard API describes it."""

    number = NullableText(allow_none=True)
    uuid = NullableText(allow_none=True)
    name = TextOrEmpty()
    profile_name = ProfileName()
    username = TextOrEmpty()
    color = TextOrEmpty()
    blocked = Flag(attribute="isBlocked")
    message_expiration = NumberText(attribute="messageExpirationTime")
    note = TextOrEmpty()
    given_name = TextOrEmpty(attribute="givenName")
    nickname = WholeEntry(NicknameSchema)
    profile = ContactProfile(ContactProfileSchema)
