"""Reactions: emoji reactions to messages."""

import marshmallow as ma
from marshmallow import fields

from ..extensions import Schema
from . import (
    GroupIdField,
    Recipient,
    Text,
    Timestamp,
)

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
