"""Groups (listGroups, updateGroup, quitGroup, joinGroup) and blocking (block, unblock)."""

import base64
import json
import os
import random
import re

from ..errors import CommandError
from ..records import (
    find_group,
    is_self,
    member_entry,
    new_group_entry,
    random_group_link,
    sha256,
    user_entry,
    uuid_for,
)
from ..values import parse_group_id, parse_recipient
from .common import handler, require_primary
from .sending import group_member_results, next_timestamp, plain_send_result, record_send, shuffled_object


def _members_from(state, run, texts):
    members = []
    for text in texts or []:
        kind, value = parse_recipient(text, run.account)
        if kind == "number":
            if user_entry(state, value).get("registered") is False:
                raise CommandError(1, f"The user {value} is not registered.")
            members.append(member_entry(state, value))
        elif kind == "username":
            members.append({"number": None, "uuid": uuid_for("u:" + value)})
        else:
            number = next((n for n, u in state.get("users", {}).items() if u.get("uuid") == value), None)
            members.append({"number": number, "uuid": value})
    return members


def _same_member(a, b):
    return any(a.get(key) and a.get(key) == b.get(key) for key in ("number", "uuid"))


def _add_members(target, new):
    for member in new:
        if not any(_same_member(member, m) for m in target):
            target.append(member)


def _remove_members(target, gone):
    target[:] = [m for m in target if not any(_same_member(m, g) for g in gone)]


@handler("listGroups")
def cmd_list_groups(run, ns):
    """List groups (all fields in JSON); -g filters, unknown ids are skipped."""
    wanted = [parse_group_id(g) for g in ns.get("group-id") or []]
    groups = run.acct(run.state())["groups"]
    if wanted:
        groups = [g for g in groups if g["id"] in wanted]
    plain = "".join(
        f"Id: {g['id']} Name: {g.get('name')} Active: {str(g.get('isMember')).lower()} "
        f"Blocked: {str(g.get('isBlocked')).lower()}\n"
        for g in groups
    )
    if run.at_least("0.14.1"):
        labels = run.acct(run.state()).get("member_labels", {})
        groups = [_group_with_member_objects(g, labels.get(g["id"], {})) for g in groups]
    run.emit(groups, plain=plain)


def _group_with_member_objects(group, labels):
    """0.14.1+: members are ``{number, uuid, isAdmin, [labelEmoji], [label]}``; admins come from them."""
    admins = group.get("admins", [])
    members = []
    for member in group.get("members", []):
        entry = {"number": member.get("number"), "uuid": member.get("uuid")}
        entry["isAdmin"] = any(_same_member(member, a) for a in admins)
        label = labels.get(member.get("uuid")) or {}
        for key in ("labelEmoji", "label"):
            if label.get(key) is not None:
                entry[key] = label[key]
        members.append(entry)
    shown = dict(group, members=members)
    shown["admins"] = [{"number": m["number"], "uuid": m["uuid"]} for m in members if m["isAdmin"]]
    return shown


@handler("updateGroup")
def cmd_update_group(run, ns):
    """Create a group (without -g) or update one; prints {"groupId"?, "results"?, "timestamp"?}."""
    group_id = parse_group_id(ns["group-id"]) if ns.get("group-id") is not None else None
    for key in ("member", "remove-member", "admin", "remove-admin", "ban", "unban"):
        for text in ns.get(key) or []:
            parse_recipient(text, run.account)
    avatar = None
    if ns.get("avatar") is not None:
        try:
            with open(ns["avatar"], "rb") as f:
                avatar = base64.b64encode(f.read()).decode()
        except OSError as e:
            raise CommandError(
                1,
                f'Failed to add avatar attachment for group": {group_id or "<new group>"}: '
                f"{ns['avatar']} ({e.strerror})",
            )

    def act(state):
        acct = run.acct(state)
        me = {"number": run.account, "uuid": acct["uuid"]}
        results, created, changed = [], None, False
        gid = group_id
        if gid is None:
            gid = base64.b64encode(os.urandom(32)).decode()
            members = [me] + [m for m in _members_from(state, run, ns.get("member")) if not _same_member(m, me)]
            group = new_group_entry(gid, ns.get("name"), members, [dict(me)])
            acct["groups"].append(group)
            if avatar:
                acct["group_avatars"][gid] = avatar
            created = gid
            results += group_member_results(state, run, acct, group, with_group_id=False)
        else:
            group = find_group(acct, gid)
            if group is None:
                raise CommandError(1, f"Group not found: {gid}")
            if not group.get("isMember", True):
                raise CommandError(1, f"User is not a member in group: {group.get('name')} ({gid})")
            for key, field in (("name", "name"), ("description", "description")):
                if ns.get(key) is not None:
                    group[field] = ns[key]
                    changed = True
            if ns.get("member"):
                _add_members(group["members"], _members_from(state, run, ns["member"]))
                changed = True
            if avatar:
                acct["group_avatars"][gid] = avatar
                changed = True
        if created and ns.get("description") is not None:
            group["description"] = ns["description"]
            changed = True
        for key, action in (
            ("remove-member", "remove"),
            ("admin", "admin"),
            ("remove-admin", "unadmin"),
            ("ban", "ban"),
            ("unban", "unban"),
        ):
            people = _members_from(state, run, ns.get(key))
            if not people:
                continue
            changed = True
            if action == "remove":
                _remove_members(group["members"], people)
                _remove_members(group["admins"], people)
            elif action == "admin":
                _add_members(group["admins"], people)
            elif action == "unadmin":
                _remove_members(group["admins"], people)
            elif action == "ban":
                _remove_members(group["members"], people)
                _add_members(group["banned"], people)
            else:
                _remove_members(group["banned"], people)
        if ns.get("link") is not None:
            group["groupInviteLink"] = (
                None if ns["link"] == "disabled" else (group.get("groupInviteLink") or random_group_link())
            )
            acct.setdefault("link_approval", {})[gid] = ns["link"] == "enabled-with-approval"
            changed = True
        if ns.get("reset-link"):
            group["groupInviteLink"] = random_group_link()
            changed = True
        for key, field in (
            ("set-permission-add-member", "permissionAddMember"),
            ("set-permission-edit-details", "permissionEditDetails"),
            ("set-permission-send-messages", "permissionSendMessage"),
        ):
            if ns.get(key) is not None:
                group[field] = ns[key].upper().replace("-", "_")
                changed = True
        if ns.get("expiration") is not None:
            group["messageExpirationTime"] = ns["expiration"]
            changed = True
        for key, field in (("member-label-emoji", "labelEmoji"), ("member-label", "label")):
            # 0.14.1+: your own label in the group; a part left out keeps its value
            if ns.get(key) is not None:
                acct.setdefault("member_labels", {}).setdefault(gid, {}).setdefault(acct["uuid"], {})[field] = ns[key]
                changed = True
        if changed:
            results += group_member_results(state, run, acct, group, with_group_id=False)
        response = {}
        if created or changed:
            response["results"] = results
            response["timestamp"] = next_timestamp(state)
            record_send(
                state,
                run,
                {"group_id": gid, "created": bool(created), "timestamp": response["timestamp"], "results": results},
            )
        return created, response

    created, response = run.transact(act)
    # A HashMap: its key order is fixed (groupId, results, timestamp).
    output = {"groupId": created} if created else {}
    output.update(response)
    plain = (f'Created new group: "{created}"\n' if created else "") + (
        f"{response['timestamp']}\n" if "timestamp" in response else ""
    )
    run.emit(output, plain=plain)


@handler("quitGroup")
def cmd_quit_group(run, ns):
    """Leave a group (and with --delete forget it); not a member: nothing printed, exit 0."""
    group_id = parse_group_id(ns["group-id"])
    new_admin_texts = ns.get("admin") or []
    for text in new_admin_texts:
        parse_recipient(text, run.account)

    def act(state):
        acct = run.acct(state)
        group = find_group(acct, group_id)
        if group is None:
            raise CommandError(1, f"Failed to send to group: Group not found: {group_id}")
        output = None
        if group.get("isMember", True):
            new_admins = _members_from(state, run, new_admin_texts)
            others = [m for m in group["members"] if not is_self(m, run.account, acct)]
            admins = group.get("admins", [])
            if any(is_self(a, run.account, acct) for a in admins) and len(admins) == 1 and others and not new_admins:
                raise CommandError(
                    1,
                    "You need to specify a new admin with --admin: User is last admin in group: "
                    f"{group.get('name')} ({group_id})",
                )
            results = group_member_results(state, run, acct, group, with_group_id=False)
            _add_members(group["admins"], new_admins)
            group["members"] = others
            group["admins"] = [a for a in group["admins"] if not is_self(a, run.account, acct)]
            group["isMember"] = False
            output = (next_timestamp(state), results)
            record_send(state, run, {"group_id": group_id, "timestamp": output[0], "results": results})
        if ns.get("delete"):
            acct["groups"] = [g for g in acct["groups"] if g["id"] != group_id]
        return output

    output = run.transact(act)
    if output is None:
        run.log("INFO", "QuitGroupCommand", "User is not a group member")
        return 0
    timestamp, results = output
    random.shuffle(results)
    run.emit(
        shuffled_object([("timestamp", timestamp), ("results", results)]), plain=plain_send_result(timestamp, results)
    )


@handler("joinGroup")
def cmd_join_group(run, ns):
    """Join a group by invite link; the group is found among all accounts' groups by its link."""
    uri = ns["uri"]
    prefix = "https://signal.group/#"
    if not uri.startswith(prefix):
        raise CommandError(1, "Link is not a signal group invitation link")
    fragment = uri[len(prefix) :]
    if not fragment or not re.fullmatch(r"[A-Za-z0-9_-]+=*", fragment):
        raise CommandError(1, "Group link is invalid: Invalid group link")

    def act(state):
        acct = run.acct(state)
        me = {"number": run.account, "uuid": acct["uuid"]}
        owner, source = next(
            (
                (a, g)
                for a in state.get("accounts", {}).values()
                for g in a.get("groups", [])
                if g.get("groupInviteLink") == uri
            ),
            ({}, None),
        )
        if source is None:
            gid = base64.b64encode(sha256(fragment.encode()).digest()).decode()
            source = new_group_entry(gid, None, [], [], groupInviteLink=uri)
        group = find_group(acct, source["id"])
        if group is None:
            group = json.loads(json.dumps(source))
            acct["groups"].append(group)
        requested = bool(owner.get("link_approval", {}).get(group["id"])) and not any(
            _same_member(m, me) for m in group["members"]
        )
        if requested:
            _add_members(group["requestingMembers"], [me])
            group["isMember"] = False
        else:
            _add_members(group["members"], [me])
            group["isMember"] = True
        results = group_member_results(state, run, acct, group, with_group_id=False)
        timestamp = next_timestamp(state)
        record_send(state, run, {"group_id": group["id"], "timestamp": timestamp, "results": results})
        return group["id"], requested, timestamp, results

    group_id, requested, timestamp, results = run.transact(act)
    pairs = [("timestamp", timestamp), ("results", results), ("groupId", group_id)]
    if requested:
        pairs.append(("onlyRequested", True))
    run.emit(
        shuffled_object(pairs),
        plain=f'{"Requested to join" if requested else "Joined"} group "{group_id}"\n{timestamp}\n',
    )


def _set_blocked(run, ns, blocked):
    idents = [parse_recipient(t, run.account) for t in ns.get("recipient") or []]
    group_ids = [parse_group_id(g) for g in ns.get("group-id") or []]
    unknown = []

    def act(state):
        acct = run.acct(state)
        require_primary(acct)
        numbers = acct["blocked"]["numbers"]
        for _, value in idents:
            if blocked and value not in numbers:
                numbers.append(value)
            elif not blocked and value in numbers:
                numbers.remove(value)
            for contact in acct["contacts"]:
                if value in (contact.get("number"), contact.get("uuid")):
                    contact["isBlocked"] = blocked
        for gid in group_ids:
            group = find_group(acct, gid)
            if group is None:
                unknown.append(gid)
                continue
            group["isBlocked"] = blocked
            groups = acct["blocked"]["groups"]
            if blocked and gid not in groups:
                groups.append(gid)
            elif not blocked and gid in groups:
                groups.remove(gid)

    run.transact(act)
    for gid in unknown:
        run.log("WARN", "BlockCommand" if blocked else "UnblockCommand", f"Unknown group id: Group not found: {gid}")


@handler("block")
def cmd_block(run, ns):
    """Block contacts and groups; an unknown group is only a WARN line."""
    _set_blocked(run, ns, True)


@handler("unblock")
def cmd_unblock(run, ns):
    """Unblock contacts and groups."""
    _set_blocked(run, ns, False)
