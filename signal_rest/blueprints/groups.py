"""Groups: list, create, change, leave and join Signal groups."""

import functools

from flask import current_app

from ..attachments import materialized
from ..extensions import Blueprint, signal_cli
from ..idempotency import idempotent
from ..responses import image_response
from ..schemas import TimestampSchema
from ..schemas.groups import (
    AdminsSchema,
    CreateGroupSchema,
    GroupCreatedSchema,
    GroupQueryArgsSchema,
    GroupSchema,
    MembersSchema,
    PeopleContext,
    PinMessageSchema,
    UpdateGroupSchema,
)
from ..signal_cli import GroupId

blp = Blueprint("Groups", __name__, description="Signal groups of an account.")


def people_as_asked(view):
    """Run ``view`` (and the dump of its answer) with the query's ``expand`` in the :data:`PeopleContext`."""

    @functools.wraps(view)
    def wrapper(args, *positional, **named):
        with PeopleContext({"expand": args["expand"]}):
            return view(args, *positional, **named)

    return wrapper


def _settings(data, avatar_path):
    return {
        "name": data.get("name"),
        "description": data.get("description"),
        "avatar": avatar_path,
        "expiration": data.get("expiration_time"),
        "link": data.get("group_link"),
        "permissions": data.get("permissions"),
        "add_members": data.get("add_members", []),
        "add_admins": data.get("add_admins", []),
    }


def _update(number, groupid, data):
    avatar = [data["base64_avatar"]] if data.get("base64_avatar") else []
    with materialized(avatar, directory=signal_cli().outgoing_dir) as paths:
        settings = _settings(data, paths[0] if paths else None)
        signal_cli().update_group(
            number,
            groupid,
            **settings,
            member_label=data.get("member_label"),
            member_label_emoji=data.get("member_label_emoji"),
        )


@blp.route("/v1/groups/<number:number>")
@blp.arguments(GroupQueryArgsSchema, location="query")
@people_as_asked
@blp.response(200, GroupSchema(many=True))
def list_groups(args, number):
    """List the account's groups (`expand=true`: members as number and UUID objects)."""
    return signal_cli().list_groups(number)


@blp.route("/v1/groups/<number:number>", methods=["POST"])
@blp.arguments(CreateGroupSchema)
@blp.response(201, GroupCreatedSchema)
def create_group(data, number):
    """Create a group with the given members, settings and avatar."""
    avatar = [data["base64_avatar"]] if data.get("base64_avatar") else []
    with materialized(avatar, directory=signal_cli().outgoing_dir) as paths:
        settings = _settings(data, paths[0] if paths else None)
        settings.pop("add_members")
        settings.pop("name")
        settings["add_admins"] = data.get("admins", [])
        group_id = signal_cli().create_group(number, data["name"], data.get("members", []), **settings)
    return group_id


@blp.route("/v1/groups/<number:number>/<groupid:groupid>")
@blp.arguments(GroupQueryArgsSchema, location="query")
@people_as_asked
@blp.response(200, GroupSchema)
def get_group(args, number, groupid):
    """Show one group; 404 if the account has no such group."""
    return signal_cli().get_group(number, groupid)


@blp.route("/v1/groups/<number:number>/<groupid:groupid>", methods=["PUT"])
@blp.arguments(UpdateGroupSchema)
@blp.response(204)
def update_group(data, number, groupid):
    """Change a group: name, description, avatar, timer, link, permissions, members, admins."""
    if data:
        _update(number, groupid, data)


@blp.route("/v1/groups/<number:number>/<groupid:groupid>", methods=["PATCH"])
@blp.arguments(UpdateGroupSchema)
@blp.response(200, GroupSchema)
def patch_group(data, number, groupid):
    """Change a group as PUT does, and answer with the changed group (the seed API's form)."""
    if data:
        _update(number, groupid, data)
    return signal_cli().get_group(number, groupid)


@blp.route("/v1/groups/<number:number>/<groupid:groupid>", methods=["DELETE"])
@blp.response(200)
def delete_group(number, groupid):
    """Leave a group and delete its local data (200 with an empty body)."""
    signal_cli().quit_group(number, groupid, delete=True)
    return current_app.response_class(status=200)


@blp.route("/v1/groups/<number:number>/<group_or_invite:groupid>/join", methods=["POST"])
@blp.response(204)
def join_group(number, groupid):
    """Join a group: through an invite link (`https://signal.group/#…`, percent-encoded in the
    path), or by accepting a pending invitation to a group id."""
    if isinstance(groupid, GroupId):
        signal_cli().update_group(number, groupid)
    else:
        signal_cli().join_group(number, groupid)


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/quit", methods=["POST"])
@blp.response(204)
def quit_group(number, groupid):
    """Leave a group."""
    signal_cli().quit_group(number, groupid)


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/block", methods=["POST"])
@blp.response(204)
def block_group(number, groupid):
    """Block a group: its messages are no longer received."""
    signal_cli().block(number, [groupid])


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/members", methods=["POST"])
@blp.arguments(MembersSchema)
@blp.response(204)
def add_members(data, number, groupid):
    """Add members to a group; 404 if there is no such group."""
    signal_cli().update_group(number, groupid, add_members=data["members"])


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/members", methods=["DELETE"])
@blp.arguments(MembersSchema)
@blp.response(204)
def remove_members(data, number, groupid):
    """Remove members from a group; 404 if there is no such group."""
    signal_cli().update_group(number, groupid, remove_members=data["members"])


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/admins", methods=["POST"])
@blp.arguments(AdminsSchema)
@blp.response(204)
def add_admins(data, number, groupid):
    """Make members admins of a group; 404 if there is no such group."""
    signal_cli().update_group(number, groupid, add_admins=data["admins"])


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/admins", methods=["DELETE"])
@blp.arguments(AdminsSchema)
@blp.response(204)
def remove_admins(data, number, groupid):
    """Take admin rights away in a group; 404 if there is no such group."""
    signal_cli().update_group(number, groupid, remove_admins=data["admins"])


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/avatar")
@blp.file_response(200, "image/*", "The avatar image.")
def group_avatar(number, groupid):
    """The group's avatar image (Content-Type sniffed from its bytes); 404 when it has none."""
    return image_response(signal_cli().avatar(number, group_id=groupid))


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/pin-message", methods=["POST"])
@blp.arguments(PinMessageSchema)
@idempotent
@blp.response(201, TimestampSchema)
def pin_message(data, number, groupid):
    """Pin a message in a group (needs signal-cli 0.14.0 or newer; older ones answer 501)."""
    return signal_cli().pin_message(
        number, groupid, data["target_author"], data["timestamp"], duration=data.get("duration")
    )


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/pin-message", methods=["DELETE"])
@blp.arguments(PinMessageSchema)
@idempotent
@blp.response(201, TimestampSchema)
def unpin_message(data, number, groupid):
    """Unpin a message in a group (needs signal-cli 0.14.0 or newer)."""
    return signal_cli().pin_message(number, groupid, data["target_author"], data["timestamp"], unpin=True)
