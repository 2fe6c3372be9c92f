"""Groups: list, create, change, leave and join Signal groups."""

from flask import current_app

from ..attachments import materialized
from ..extensions import Blueprint, signal_cli
from ..responses import image_response
from ..schemas import TimestampSchema, group_id_to_api
from ..schemas.groups import (
    AdminsSchema,
    CreateGroupSchema,
    GroupCreatedSchema,
    GroupQueryArgsSchema,
    GroupSchema,
    MembersSchema,
    PinMessageSchema,
    UpdateGroupSchema,
)
from ..signal_cli import GroupId, NotFound

blp = Blueprint("Groups", __name__, description="Signal groups of an account.")

_PERMISSION = {"ONLY_ADMINS": "only-admins", "EVERY_MEMBER": "every-member"}


def _people(entries, expand):
    if expand:
        return [{"number": e.get("number"), "uuid": e.get("uuid")} for e in entries or []]
    return [e.get("number") or e.get("uuid") for e in entries or []]


def group_entry(group, expand=False):
    """A signal-cli `listGroups` entry in the shape both APIs use."""
    return {
        "id": group_id_to_api(group["id"]),
        "internal_id": group["id"],
        "name": group.get("name") or "",
        "description": group.get("description") or "",
        "members": _people(group.get("members"), expand),
        "blocked": bool(group.get("isBlocked")),
        "member": bool(group.get("isMember")),
        "pending_invites": _people(group.get("pendingMembers"), expand),
        "pending_requests": _people(group.get("requestingMembers"), expand),
        "invite_link": group.get("groupInviteLink") or "",
        "admins": _people(group.get("admins"), expand),
        "banned": _people(group.get("banned"), expand),
        "permissions": {
            "add_members": _PERMISSION.get(group.get("permissionAddMember"), "every-member"),
            "edit_group": _PERMISSION.get(group.get("permissionEditDetails"), "every-member"),
            "send_messages": _PERMISSION.get(group.get("permissionSendMessage"), "every-member"),
        },
        "message_expiration_timer": group.get("messageExpirationTime") or 0,
    }


def find_group(number, groupid, expand=False):
    """The group entry of `groupid`, or a 404 saying it is unknown."""
    for group in signal_cli().list_groups(number, [groupid]):
        if group.get("id") == groupid:
            return group_entry(group, expand)
    raise NotFound(f"Account {number} has no group {group_id_to_api(groupid)}.")


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
    with materialized(avatar) as paths:
        signal_cli().update_group(number, groupid, **_settings(data, paths[0] if paths else None))


@blp.route("/v1/groups/<number:number>")
@blp.arguments(GroupQueryArgsSchema, location="query")
@blp.response(200, GroupSchema(many=True))
def list_groups(args, number):
    """List the account's groups (`expand=true`: members as number and UUID objects)."""
    return [group_entry(group, args["expand"]) for group in signal_cli().list_groups(number)]


@blp.route("/v1/groups/<number:number>", methods=["POST"])
@blp.arguments(CreateGroupSchema)
@blp.response(201, GroupCreatedSchema)
def create_group(data, number):
    """Create a group with the given members, settings and avatar."""
    avatar = [data["base64_avatar"]] if data.get("base64_avatar") else []
    with materialized(avatar) as paths:
        settings = _settings(data, paths[0] if paths else None)
        settings.pop("add_members")
        settings.pop("name")
        settings["add_admins"] = data.get("admins", [])
        group_id = signal_cli().create_group(number, data["name"], data.get("members", []), **settings)
    api_id = group_id_to_api(group_id)
    return {"id": api_id, "group_id": api_id, "internal_id": group_id}


@blp.route("/v1/groups/<number:number>/<groupid:groupid>")
@blp.arguments(GroupQueryArgsSchema, location="query")
@blp.response(200, GroupSchema)
def get_group(args, number, groupid):
    """Show one group; 404 if the account has no such group."""
    return find_group(number, groupid, args["expand"])


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
    return find_group(number, groupid)


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
@blp.response(201, TimestampSchema)
def pin_message(data, number, groupid):
    """Pin a message in a group (needs signal-cli 0.14.0 or newer; older ones answer 501)."""
    result = signal_cli().pin_message(
        number, groupid, data["target_author"], data["timestamp"], duration=data.get("duration")
    )
    return {"timestamp": str((result or {}).get("timestamp", ""))}


@blp.route("/v1/groups/<number:number>/<groupid:groupid>/pin-message", methods=["DELETE"])
@blp.arguments(PinMessageSchema)
@blp.response(201, TimestampSchema)
def unpin_message(data, number, groupid):
    """Unpin a message in a group (needs signal-cli 0.14.0 or newer)."""
    result = signal_cli().pin_message(number, groupid, data["target_author"], data["timestamp"], unpin=True)
    return {"timestamp": str((result or {}).get("timestamp", ""))}
