"""Groups: creating, changing, listing groups, their members, admins and pinned messages."""

import marshmallow as ma
from marshmallow import fields, validate
from marshmallow.experimental.context import Context

from ..extensions import Schema
from . import (
    Base64Attachment,
    Flag,
    IntegerOrZero,
    Recipient,
    Text,
    TextOrEmpty,
    Timestamp,
    WholeEntry,
    WholeNumber,
    group_id_to_api,
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


#: the longest member label accepted (Signal's apps cap labels well below this)
MAX_MEMBER_LABEL = 100


class UpdateGroupSchema(CreateGroupSchema):
    """Changes to a group; every field is optional."""

    name = Text(max_length=1024)
    group_link = fields.String(validate=validate.OneOf(("unchanged",) + LINK_CHOICES))
    add_members = item_list(_MEMBER, max_items=1000)
    add_admins = item_list(_MEMBER, max_items=1000)
    member_label = Text(
        max_length=MAX_MEMBER_LABEL,
        metadata={"description": "The account's own label in the group (needs signal-cli 0.14.1 or newer)."},
    )
    member_label_emoji = Text(
        max_length=16,
        metadata={"description": "The emoji shown with the account's label (needs signal-cli 0.14.1 or newer)."},
    )

    @ma.post_load
    def drop_unchanged_link(self, data, **kwargs):
        """``group_link: unchanged`` means leave the link as it is."""
        if data.get("group_link") == "unchanged":
            del data["group_link"]
        return data


class GroupQueryArgsSchema(Schema):
    """Options of the group listing."""

    expand = fields.Boolean(load_default=False)


class GroupIdForm(fields.String):
    """A signal-cli group id, the entry's ``key`` (or, without one, the whole object dumped): in the
    standard API's ``group.…`` form, or with ``internal`` as signal-cli prints it."""

    # marshmallow lets only one field take its value from an attribute, and two forms show one id
    _CHECK_ATTRIBUTE = False

    def __init__(self, key=None, *, internal=False, **kwargs):
        super().__init__(**kwargs)
        self.key = key
        self.internal = internal

    def _serialize(self, value, attr, obj, **kwargs):
        group_id = obj if self.key is None else obj[self.key]
        return group_id if self.internal else group_id_to_api(group_id)


class GroupCreatedSchema(Schema):
    """The id of a new group, in every form clients know."""

    id = GroupIdForm()
    group_id = GroupIdForm()
    internal_id = GroupIdForm(internal=True)


#: the dump context of a group listing: ``{"expand": True}`` dumps people as ``{number, uuid}`` objects
PeopleContext = Context[dict]


class Person(fields.Raw):
    """A member (or admin, invitee, ...) of a group: its number, else its UUID; with
    ``expand`` in the :data:`PeopleContext` an object of both."""

    def _serialize(self, value, attr, obj, **kwargs):
        if PeopleContext.get({}).get("expand"):
            return {"number": value.get("number"), "uuid": value.get("uuid")}
        return value.get("number") or value.get("uuid")


class People(fields.List):
    """A list of :class:`Person`; none when signal-cli prints none."""

    def __init__(self, **kwargs):
        super().__init__(Person(), dump_default=None, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or [], attr, obj, **kwargs)


class Permission(fields.String):
    """Who may do something in a group, from signal-cli's ``ONLY_ADMINS``/``EVERY_MEMBER``."""

    _NAMES = {"ONLY_ADMINS": "only-admins", "EVERY_MEMBER": "every-member"}

    def __init__(self, **kwargs):
        super().__init__(dump_default=None, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return self._NAMES.get(value, "every-member")


class GroupPermissionsSchema(Schema):
    """A group's permissions in the standard API's words."""

    add_members = Permission(attribute="permissionAddMember")
    edit_group = Permission(attribute="permissionEditDetails")
    send_messages = Permission(attribute="permissionSendMessage")


class GroupSchema(Schema):
    """A group as both APIs describe it."""

    id = GroupIdForm("id")
    internal_id = GroupIdForm("id", internal=True)
    name = TextOrEmpty()
    description = TextOrEmpty()
    members = People()
    blocked = Flag(attribute="isBlocked")
    member = Flag(attribute="isMember")
    pending_invites = People(attribute="pendingMembers")
    pending_requests = People(attribute="requestingMembers")
    invite_link = TextOrEmpty(attribute="groupInviteLink")
    admins = People()
    banned = People()
    permissions = WholeEntry(GroupPermissionsSchema)
    message_expiration_timer = IntegerOrZero(attribute="messageExpirationTime")


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
