"""Reactions: emoji reactions to messages."""

from ..extensions import Blueprint, signal_cli
from ..idempotency import idempotent
from ..schemas.reactions import ReactionSchema, RemoveReactionSchema

blp = Blueprint("Reactions", __name__, description="React to messages with emoji.")


@blp.route("/v1/reactions/<number:number>", methods=["POST"])
@blp.arguments(ReactionSchema)
@idempotent
@blp.response(204)
def send_reaction(data, number):
    """React to a message (`remove: true` takes the reaction back)."""
    signal_cli().send_reaction(
        number, data["recipient"], data["reaction"], data["target_author"], data["timestamp"], remove=data["remove"]
    )


@blp.route("/v1/reactions/<number:number>", methods=["DELETE"])
@blp.arguments(RemoveReactionSchema)
@idempotent
@blp.response(204)
def remove_reaction(data, number):
    """Take back a reaction; signal-cli needs its emoji (default 👍)."""
    signal_cli().send_reaction(
        number, data["recipient"], data["reaction"], data["target_author"], data["timestamp"], remove=True
    )
