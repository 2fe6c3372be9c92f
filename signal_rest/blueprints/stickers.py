"""Stickers: the account's sticker packs."""

from ..extensions import Blueprint, signal_cli
from ..schemas import EmptySchema
from ..schemas.stickers import AddStickerPackSchema, StickerPackSchema

blp = Blueprint("Stickers", __name__, description="Sticker packs.")


@blp.route("/v1/sticker-packs/<number:number>")
@blp.response(200, StickerPackSchema(many=True))
def list_sticker_packs(number):
    """List the account's sticker packs."""
    return [
        {
            "pack_id": pack.get("packId"),
            "url": pack.get("url"),
            "installed": bool(pack.get("installed")),
            "title": pack.get("title"),
            "author": pack.get("author"),
        }
        for pack in signal_cli().list_sticker_packs(number)
    ]


@blp.route("/v1/sticker-packs/<number:number>", methods=["POST"])
@blp.arguments(AddStickerPackSchema)
@blp.response(201, EmptySchema)
def add_sticker_pack(data, number):
    """Install a sticker pack from its id and key (as in its signal.art link)."""
    uri = f"https://signal.art/addstickers/#pack_id={data['pack_id'].lower()}&pack_key={data['pack_key'].lower()}"
    signal_cli().add_sticker_pack(number, uri)
    return {}
