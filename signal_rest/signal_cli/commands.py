"""Pure builders: each signal-cli operation as a :class:`Command`, with no process and no argv.

A command is signal-cli's method name (the subcommand, which is also its JSON-RPC method) and its
parameters keyed by signal-cli's own option dests, the names its JSON-RPC interface uses
(``recipient``, ``groupId``, ``targetTimestamp``, ``message``, ``attachment``, ...). How a
command is written on argv (which option, which form, ``--`` before positionals, the message on
stdin) is :mod:`.grammar`'s business; :meth:`Command.jsonrpc` gives the same command as a JSON-RPC
request. Parameters that are not given are left out: ``None``, ``False`` flags and empty lists.
"""

from dataclasses import dataclass, field, replace

#: values signal-cli's parser fills in on argv but not over JSON-RPC (no parser runs there), for
#: params signal-cli then unboxes: without one the daemon fails with a NullPointerException (-32603)
JSONRPC_DEFAULTS = {
    # ``--pin-duration`` defaults to -1 (forever); SendPinMessageCommand passes it on as an int
    "sendPinMessage": {"pinDuration": -1},
}


#: methods only the daemon has (multi-account JSON-RPC); there is no argv for them
JSONRPC_ONLY = frozenset({"startLink", "finishLink"})


class GroupId(str):
    """A group id in signal-cli's own form: standard base64 of the group's raw id."""


@dataclass(frozen=True)
class Command:
    """One signal-cli operation: its method, its parameters, and how to run and read it."""

    method: str
    params: dict = field(default_factory=dict)
    #: "json" (one document, or nothing), "lines" (JSON lines) or "text"
    output: str = "json"
    #: values that must never appear in logs or error messages (PINs, codes, captchas, tokens)
    secrets: tuple = ()
    #: whether the command runs for one account (``-a``); multi-account commands do not
    account: bool = True
    #: seconds this command may take beyond the usual time limit (receive waits on purpose)
    extra_time: float = 0.0
    #: what the command acts on by name ("group", "contact", "device", "recipient"): signal-cli's
    #: "not found" for it is :class:`~.errors.NotFound`; without one, a group missing among the
    #: recipients of a send is a plain :class:`~.errors.UserError`
    target: str = None

    def jsonrpc(self, account=None, request_id=None):
        """The command as a JSON-RPC 2.0 request (``account`` picks the account in multi-account mode),
        with the parser's defaults that signal-cli needs over JSON-RPC (:data:`JSONRPC_DEFAULTS`)."""
        params = {**JSONRPC_DEFAULTS.get(self.method, {}), **self.params}
        if self.account and account:
            params["account"] = account
        request = {"jsonrpc": "2.0", "method": self.method, "params": params}
        if request_id is not None:
            request["id"] = request_id
        return request

    def given(self, **params):
        """The same command with ``params`` added (a value known only once the command may run)."""
        return replace(self, params={**self.params, **params})


def _command(method, params=None, *, booleans=(), **settings):
    """A :class:`Command` whose params lack every value that is not given: ``None``, an empty list,
    or ``False`` for a flag (the dests in ``booleans`` take a value, so their ``False`` is kept)."""
    given = {
        dest: list(value) if isinstance(value, tuple) else value
        for dest, value in (params or {}).items()
        if value is not None and value not in ([], ()) and (value is not False or dest in booleans)
    }
    return Command(method, given, **settings)


def _recipients(recipients):
    """Mixed recipients as params: ``groupId`` for group ids, ``recipient`` for the rest."""
    return {
        "groupId": [r for r in recipients if isinstance(r, GroupId)],
        "recipient": [r for r in recipients if not isinstance(r, GroupId)],
    }


def _ranges(specs):
    """``(start, length, x)`` triples as signal-cli's ``start:length:x`` words."""
    return [f"{start}:{length}:{x}" for start, length, x in specs]


def version_command():
    """``--version`` (JSON-RPC ``version``): reads no config and needs no account."""
    return _command("version", output="text", account=False)


def list_accounts_command():
    """``listAccounts``: every account of the config dir (multi-account mode, no ``-a``)."""
    return _command("listAccounts", account=False)


def user_status_command(numbers):
    """``getUserStatus``: which of ``numbers`` are registered with Signal."""
    return _command("getUserStatus", {"recipient": numbers})


def send_command(
    recipients,
    message=None,
    *,
    attachments=(),
    mentions=(),
    text_styles=(),
    quote=None,
    sticker=None,
    edit_timestamp=None,
    preview=None,
    view_once=False,
    notify_self=False,
    no_urgent=False,
    voice_note=False,
    target=None,
):
    """``send``: a message to any mix of numbers, UUIDs, usernames and groups.

    ``target="recipient"`` when the request names the one recipient as the thing it acts on (a
    missing group is then NotFound). ``attachments`` and a preview image are paths this service
    created; ``mentions`` and ``text_styles`` are ``(start, length, x)`` triples; ``quote`` is a
    dict with ``timestamp``, ``author`` and optional ``message``, ``mentions``; ``preview`` one with
    ``url``, ``title``, optional ``description`` and ``image`` (a path). ``no_urgent`` (>= 0.14.0)
    sends without a push notification; ``voice_note`` (>= 0.14.2) marks every attachment as a
    voice note.
    """
    quote = quote or {}
    preview = preview or {}
    params = {
        "message": message,
        "attachment": attachments,
        "mention": _ranges(mentions),
        "textStyle": _ranges(text_styles),
        "quoteTimestamp": quote.get("timestamp"),
        "quoteAuthor": quote.get("author"),
        "quoteMessage": quote.get("message"),
        "quoteMention": _ranges(quote.get("mentions", ())),
        "sticker": sticker or None,
        "editTimestamp": edit_timestamp,
        "previewUrl": preview.get("url"),
        # signal-cli needs a title whenever there is a preview
        "previewTitle": (preview.get("title") or "") if preview else None,
        "previewDescription": preview.get("description") or None,
        "previewImage": preview.get("image") or None,
        "viewOnce": view_once,
        "notifySelf": notify_self,
        "noUrgent": no_urgent,
        "voiceNote": voice_note,
        **_recipients(recipients),
    }
    return _command("send", params, target=target)


def reaction_command(recipient, emoji, target_author, timestamp, *, remove=False):
    """``sendReaction``: add (or with ``remove`` take back) an emoji reaction to a message."""
    params = {"emoji": emoji, "targetAuthor": target_author, "targetTimestamp": timestamp, "remove": remove}
    return _command("sendReaction", {**params, **_recipients([recipient])})


def list_groups_command(group_ids=()):
    """``listGroups``: every group of the account, or only ``group_ids`` (refreshed)."""
    return _command("listGroups", {"groupId": group_ids}, target="group" if group_ids else None)


#: the permission settings of a group update and their dests
_PERMISSIONS = {
    "add_members": "setPermissionAddMember",
    "edit_group": "setPermissionEditDetails",
    "send_messages": "setPermissionSendMessages",
}


def _group_settings(
    *,
    name=None,
    description=None,
    avatar=None,
    expiration=None,
    link=None,
    permissions=None,
    add_members=(),
    remove_members=(),
    add_admins=(),
    remove_admins=(),
    member_label=None,
    member_label_emoji=None,
):
    permissions = permissions or {}
    return {
        "name": name,
        "description": description,
        "avatar": avatar,
        "expiration": expiration,
        "link": link,
        **{dest: permissions.get(key) or None for key, dest in _PERMISSIONS.items()},
        "member": add_members,
        "removeMember": remove_members,
        "admin": add_admins,
        "removeAdmin": remove_admins,
        # one's own label in the group (>= 0.14.1); a part left out keeps its value
        "memberLabel": member_label,
        "memberLabelEmoji": member_label_emoji,
    }


def create_group_command(name, members, **settings):
    """``updateGroup`` without a group id: create a group; ``settings`` as for :func:`update_group_command`."""
    return _command("updateGroup", _group_settings(name=name, add_members=members, **settings))


def update_group_command(group_id, **settings):
    """``updateGroup``: change a group (name, description, avatar path, expiration, link,
    permissions, members and admins to add or remove). With no settings it accepts a pending
    invitation to the group."""
    return _command("updateGroup", {"groupId": group_id, **_group_settings(**settings)}, target="group")


def quit_group_command(group_id, *, delete=False):
    """``quitGroup``: leave a group; ``delete`` also removes its local data."""
    return _command("quitGroup", {"groupId": group_id, "delete": delete}, target="group")


def join_group_command(uri):
    """``joinGroup``: join a group through its invite link."""
    return _command("joinGroup", {"uri": uri})


def register_command(*, voice=False, captcha=None):
    """``register``: ask Signal for a verification code by SMS or voice call."""
    return _command("register", {"voice": voice, "captcha": captcha or None}, secrets=(captcha,) if captcha else ())


def verify_command(code, *, pin=None):
    """``verify``: finish registering with the code Signal sent (and the PIN, if one is set)."""
    return _command(
        "verify", {"pin": pin or None, "verificationCode": code}, secrets=tuple(s for s in (code, pin) if s)
    )


def update_profile_command(*, given_name=None, family_name=None, about=None, avatar=None, remove_avatar=False):
    """``updateProfile``: name, about text and avatar (a path) of the account's profile."""
    params = {
        "givenName": given_name,
        "familyName": family_name,
        "about": about,
        "avatar": avatar,
        "removeAvatar": remove_avatar,
    }
    return _command("updateProfile", params)


def typing_command(recipient, *, stop=False):
    """``sendTyping``: show (or with ``stop`` end) the typing indicator in a conversation."""
    return _command("sendTyping", {"stop": stop, **_recipients([recipient])})


def remote_delete_command(recipient, timestamp):
    """``remoteDelete``: delete a message one sent, for everyone in the conversation."""
    return _command("remoteDelete", {"targetTimestamp": timestamp, **_recipients([recipient])})


def admin_delete_command(group_id, target_author, timestamp):
    """``sendAdminDelete`` (>= 0.14.0): as a group admin, delete anyone's message for every member."""
    params = {"targetAuthor": target_author, "targetTimestamp": timestamp, "groupId": [group_id]}
    return _command("sendAdminDelete", params, target="group")


def receipt_command(recipient, timestamp, *, receipt_type="read"):
    """``sendReceipt``: tell the sender a message was read or viewed."""
    return _command("sendReceipt", {"targetTimestamp": timestamp, "type": receipt_type, "recipient": recipient})


def receive_command(
    *, timeout=1.0, max_messages=None, ignore_attachments=False, ignore_stories=False, read_receipts=False
):
    """``receive``: fetch waiting messages, one JSON line each, until ``timeout`` idle seconds."""
    params = {
        "timeout": timeout,
        "maxMessages": max_messages,
        "ignoreAttachments": ignore_attachments,
        "ignoreStories": ignore_stories,
        "sendReadReceipts": read_receipts,
    }
    # it waits up to `timeout` for each next message, and once more after the queue ran empty
    return _command("receive", params, output="lines", extra_time=2 * float(timeout))


def block_command(recipients):
    """``block``: block contacts or groups."""
    return _command("block", _recipients(recipients), target="recipient")


def avatar_command(*, contact=None, group_id=None):
    """``getAvatar``: a contact's or a group's avatar, as ``{"data": <base64>}``."""
    if group_id is not None:
        return _command("getAvatar", {"groupId": group_id}, target="group")
    return _command("getAvatar", {"contact": contact}, target="contact")


def unregister_command(*, delete_account=False):
    """``unregister``: stop using Signal on this account (``delete_account``: delete it at Signal)."""
    return _command("unregister", {"deleteAccount": delete_account})


def delete_local_data_command(*, ignore_registered=False):
    """``deleteLocalAccountData``: remove everything signal-cli stores about the account."""
    return _command("deleteLocalAccountData", {"ignoreRegistered": ignore_registered})


def link_command(device_name):
    """``link``: print a ``sgnl://linkdevice`` URI, then wait until a phone scans it (plain text)."""
    return _command("link", {"name": device_name}, output="text", account=False)


def start_link_command():
    """``startLink`` (JSON-RPC only): a ``sgnl://linkdevice`` URI, answered at once ``{"deviceLinkUri"}``."""
    return _command("startLink", account=False)


def finish_link_command(uri, device_name, *, lifetime):
    """``finishLink`` (JSON-RPC only): wait up to ``lifetime`` seconds for the phone to scan ``uri``."""
    return _command("finishLink", {"deviceLinkUri": uri, "deviceName": device_name}, account=False, extra_time=lifetime)


def list_devices_command():
    """``listDevices``: the devices linked to the account."""
    return _command("listDevices")


def add_device_command(uri):
    """``addDevice``: link a new device from its ``sgnl://linkdevice`` URI."""
    return _command("addDevice", {"uri": uri})


def remove_device_command(device_id):
    """``removeDevice``: unlink a device."""
    return _command("removeDevice", {"deviceId": int(device_id)}, target="device")


def rate_limit_challenge_command(challenge, captcha):
    """``submitRateLimitChallenge``: lift a rate limit with a solved captcha."""
    return _command(
        "submitRateLimitChallenge", {"challenge": challenge, "captcha": captcha}, secrets=(challenge, captcha)
    )


def update_account_command(*, discoverable_by_number=None, number_sharing=None, username=None, delete_username=False):
    """``updateAccount``: discoverability, number sharing and the username."""
    params = {
        "discoverableByNumber": None if discoverable_by_number is None else bool(discoverable_by_number),
        "numberSharing": None if number_sharing is None else bool(number_sharing),
        "username": username,
        "deleteUsername": delete_username,
    }
    return _command("updateAccount", params, booleans=("discoverableByNumber", "numberSharing"))


def set_pin_command(pin):
    """``setPin``: set the registration lock PIN."""
    return _command("setPin", {"pin": pin}, secrets=(pin,))


def remove_pin_command():
    """``removePin``: remove the registration lock PIN."""
    return _command("removePin")


def list_contacts_command(recipients=(), *, all_recipients=False):
    """``listContacts``: contacts (or every known recipient), optionally only ``recipients``."""
    return _command("listContacts", {"detailed": True, "allRecipients": all_recipients, "recipient": recipients})


def update_contact_command(recipient, *, name=None, expiration=None):
    """``updateContact``: a contact's name and disappearing-messages timer."""
    return _command("updateContact", {"name": name, "expiration": expiration, "recipient": recipient})


def send_contacts_command():
    """``sendContacts``: send the contact list to the account's other devices."""
    return _command("sendContacts")


def list_identities_command():
    """``listIdentities``: the identity keys the account knows, with their trust level."""
    return _command("listIdentities")


def trust_command(recipient, *, safety_number=None, all_known_keys=False):
    """``trust``: trust a recipient's identity key (a verified safety number, or every known key)."""
    params = {"verifiedSafetyNumber": safety_number, "trustAllKnownKeys": all_known_keys, "recipient": recipient}
    return _command("trust", params)


def list_sticker_packs_command():
    """``listStickerPacks``: the sticker packs the account has."""
    return _command("listStickerPacks")


def add_sticker_pack_command(uri):
    """``addStickerPack``: install a sticker pack from its ``https://signal.art/addstickers/`` URI."""
    return _command("addStickerPack", {"uri": uri})


def poll_create_command(recipient, question, answers, *, allow_multiple=True):
    """``sendPollCreate`` (signal-cli >= 0.13.22): a poll with two or more answers."""
    params = {"question": question, "option": answers, "noMulti": not allow_multiple}
    return _command("sendPollCreate", {**params, **_recipients([recipient])})


def poll_vote_command(recipient, poll_author, poll_timestamp, answer_indexes, vote_count=None):
    """``sendPollVote`` (>= 0.13.22): vote for answers (zero-based indexes); ``vote_count`` grows per vote
    (it may be left out here and given later with :meth:`Command.given`)."""
    params = {
        "pollAuthor": poll_author,
        "pollTimestamp": poll_timestamp,
        "option": [int(index) for index in answer_indexes],
        "voteCount": vote_count,
    }
    return _command("sendPollVote", {**params, **_recipients([recipient])})


def poll_terminate_command(recipient, poll_timestamp):
    """``sendPollTerminate`` (>= 0.13.22): close a poll one created."""
    return _command("sendPollTerminate", {"pollTimestamp": poll_timestamp, **_recipients([recipient])})


def pin_message_command(group_id, target_author, timestamp, *, duration=None, unpin=False):
    """``sendPinMessage`` / ``sendUnpinMessage`` (>= 0.14.0): pin a message in a group."""
    params = {
        "targetAuthor": target_author,
        "targetTimestamp": timestamp,
        "pinDuration": None if unpin else duration,
        "groupId": [group_id],
    }
    return _command("sendUnpinMessage" if unpin else "sendPinMessage", params, target="group")


def story_command(attachment, *, group_id=None, allow_replies=True):
    """``sendStory`` (>= 0.14.6): post an image or video (a path) as a story to a group, or without
    one to "My Story" (every contact that is not blocked)."""
    params = {"attachment": attachment, "noReplies": not allow_replies, "groupId": group_id}
    return _command("sendStory", params, target="group" if group_id else None)
