"""Identities: identity keys and trusting them."""

import re

import marshmallow as ma
from marshmallow import fields

from ..extensions import Schema
from . import (
    FullMatch,
    NullableText,
    NumberText,
    TextOrEmpty,
)

_SAFETY_NUMBER = re.compile(r"^[0-9A-Za-z+/= ]{1,400}$")


class TrustSchema(Schema):
    """Either a verified safety number, or ``trust_all_known_keys: true``."""

    verified_safety_number = fields.String(
        validate=FullMatch(_SAFETY_NUMBER, error="Not a safety number (digits, or the scanned code).")
    )
    trust_all_known_keys = fields.Boolean()

    @ma.post_load
    def exactly_one(self, data, **kwargs):
        """One of the two ways to trust, not both and not neither; the safety number without spaces."""
        if "verified_safety_number" in data:
            data["verified_safety_number"] = data["verified_safety_number"].replace(" ", "")
            if not data["verified_safety_number"]:
                raise ma.ValidationError("The safety number is empty.", "verified_safety_number")
        if bool(data.get("verified_safety_number")) == bool(data.get("trust_all_known_keys")):
            raise ma.ValidationError("Give exactly one of verified_safety_number and trust_all_known_keys: true.")
        return data


class IdentitySchema(Schema):
    """An identity key the account knows."""

    number = NullableText(allow_none=True)
    uuid = NullableText(allow_none=True)
    status = TextOrEmpty(attribute="trustLevel")
    fingerprint = TextOrEmpty()
    safety_number = TextOrEmpty(attribute="safetyNumber")
    added = NumberText(attribute="addedTimestamp")
