"""Stickers: sticker packs."""

import re

from marshmallow import fields

from ..extensions import Schema
from . import (
    FullMatch,
)

_HEX = re.compile(r"^[0-9a-fA-F]{2,128}$")


class AddStickerPackSchema(Schema):
    """A sticker pack's id and key, as in its signal.art link."""

    pack_id = fields.String(required=True, validate=FullMatch(_HEX, error="Not a hexadecimal pack id."))
    pack_key = fields.String(required=True, validate=FullMatch(_HEX, error="Not a hexadecimal pack key."))


class StickerPackSchema(Schema):
    """An installed sticker pack."""

    pack_id = fields.String()
    url = fields.String()
    installed = fields.Boolean()
    title = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
