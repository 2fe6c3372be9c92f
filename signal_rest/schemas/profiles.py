"""Profiles: the account's name, about text and avatar."""

import marshmallow as ma
from marshmallow import fields

from ..extensions import Schema
from . import (
    Base64Attachment,
    Text,
)


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
