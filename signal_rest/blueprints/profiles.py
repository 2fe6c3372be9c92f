"""Profiles: the account's name, about text and avatar."""

from ..attachments import materialized
from ..extensions import Blueprint, signal_cli
from ..schemas.profiles import ProfileSchema

blp = Blueprint("Profiles", __name__, description="The account's profile.")


@blp.route("/v1/profiles/<number:number>", methods=["PUT"])
@blp.arguments(ProfileSchema)
@blp.response(204)
def update_profile(data, number):
    """Set the profile name, about text and avatar (no avatar given: unchanged)."""
    avatar = [data["base64_avatar"]] if data.get("base64_avatar") else []
    with materialized(avatar, directory=signal_cli().outgoing_dir) as paths:
        signal_cli().update_profile(
            number,
            given_name=data["name"],
            family_name=data.get("family_name"),
            about=data.get("about"),
            avatar=paths[0] if paths else None,
            remove_avatar=data["remove_avatar"],
        )
