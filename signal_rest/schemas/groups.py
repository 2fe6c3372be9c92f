"""Groups: creating, changing, listing groups, their members, admins and pinned messages."""

import marshmallow as ma
from marshmallow import fields, validate

from ..extensions import Schema
from . import (
    Base64Attachment,
    Recipient,
    Text,
    Timestamp,
    WholeNumber,
    item_list,
)

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
    members = item_list(_MEMBER, max_items=1000)
    description = Text(max_length=8192)
    permissions = fields.Nested(PermissionsSchema)
    group_link = fields.String(validate=validate.OneOf(LINK_CHOICES))
    admins = item_list(_MEMBER, max_items=1000)
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
    add_members = item_list(_MEMBER, max_items=1000)
    add_admins = item_list(_MEMBER, max_items=1000)

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
