"""Attachments, avatars and sticker packs."""

import base64
import os
import re

from ..errors import CommandError, java_trace
from ..records import sha256
from ..state import ATTACHMENTS_DIR
from ..values import parse_group_id, parse_recipient
from .common import handler
from .sending import shuffled_object


@handler("getAttachment")
def cmd_get_attachment(run, ns):
    """Print a received attachment base64-encoded (the id is joined to the folder unchecked, as in the real one)."""
    attachment_id = ns["id"]
    try:
        with open(os.path.join(run.config_dir, ATTACHMENTS_DIR, attachment_id), "rb") as f:
            data = base64.b64encode(f.read()).decode()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise CommandError(1, f"Could not find attachment with ID: {attachment_id}")
    run.emit({"data": data}, plain=data + "\n")


@handler("getAvatar")
def cmd_get_avatar(run, ns):
    """Print a contact, profile or group avatar base64-encoded."""
    acct = run.acct(run.state())
    if ns.get("contact") is not None or ns.get("profile") is not None:
        table = acct["contact_avatars"] if ns.get("contact") is not None else acct["profile_avatars"]
        ident = parse_recipient(ns.get("contact") or ns.get("profile"), run.account)
        data = table.get(ident[1])
    else:
        data = acct["group_avatars"].get(parse_group_id(ns["group-id"]))
    if data is None:
        raise CommandError(1, "Could not find avatar")
    run.emit({"data": data}, plain=data + "\n")


@handler("getSticker")
def cmd_get_sticker(run, ns):
    """Print a sticker image base64-encoded."""
    pack_id = ns["pack-id"]
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", pack_id):
        raise CommandError(2, java_trace("java.lang.NumberFormatException", f'For input string: "{pack_id}"'))
    sticker_id = ns["sticker-id"]
    data = run.acct(run.state()).get("sticker_data", {}).get(f"{pack_id.lower()}:{sticker_id}")
    if data is None:
        raise CommandError(1, f"Could not find sticker with ID: {sticker_id} in pack {pack_id}")
    run.emit({"data": data}, plain=data + "\n")


@handler("listStickerPacks")
def cmd_list_sticker_packs(run, ns):
    """List known sticker packs."""
    packs = run.acct(run.state())["sticker_packs"]
    run.emit(
        packs,
        plain="".join(
            f'Pack {p["packId"]}: "{p.get("title")}" by "{p.get("author")}" has '
            f"{len(p.get('stickers', []))} stickers. {p.get('url')}\n"
            for p in packs
        ),
    )


@handler("addStickerPack")
def cmd_add_sticker_pack(run, ns):
    """Install sticker packs from signal.art links."""
    packs = []
    for uri in ns["uri"]:
        match = re.fullmatch(r"https://signal\.art/addstickers/#pack_id=([0-9a-f]+)&pack_key=([0-9a-f]+)", uri)
        if not match:
            raise CommandError(1, "Invalid sticker pack link")
        packs.append((match.group(1), uri))

    def act(state):
        acct = run.acct(state)
        for pack_id, uri in packs:
            existing = next((p for p in acct["sticker_packs"] if p.get("packId") == pack_id), None)
            if existing:
                existing["installed"] = True
            else:
                acct["sticker_packs"].append(
                    {
                        "packId": pack_id,
                        "url": uri,
                        "installed": True,
                        "title": None,
                        "author": None,
                        "cover": None,
                        "stickers": [],
                    }
                )

    run.transact(act)


@handler("uploadStickerPack")
def cmd_upload_sticker_pack(run, ns):
    """Pretend to upload a sticker pack and print its URL."""
    path = ns["path"]
    if not os.path.exists(path):
        raise CommandError(3, f"Upload error (maybe image size too large):{path} (No such file or directory)")
    digest = sha256(os.path.abspath(path).encode()).hexdigest()
    url = f"https://signal.art/addstickers/#pack_id={digest[:32]}&pack_key={digest[:64]}"
    run.emit(shuffled_object([("url", url)]), plain=url + "\n")
