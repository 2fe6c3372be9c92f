"""Accounts: rate-limit challenges, settings, usernames and PINs."""

import re

from marshmallow import fields

from ..extensions import Schema
from . import (
    FullMatch,
    Text,
)

_PIN = re.compile(r"^[0-9A-Za-z]{4,64}$")
_NICKNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{2,31}(\.[0-9]{2,9})?$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:/+=-]{1,8192}$")


class RateLimitChallengeSchema(Schema):
    """A solved captcha for a rate-limit challenge."""

    challenge_token = fields.String(required=True, validate=FullMatch(_TOKEN, error="Not a challenge token."))
    captcha = Text(required=True, max_length=16 * 1024)


class AccountSettingsSchema(Schema):
    """Who can find the account by its number, and whether it shares its number."""

    discoverable_by_number = fields.Boolean()
    share_number = fields.Boolean()


class UsernameSchema(Schema):
    """A username (nickname, optionally with its discriminator)."""

    username = fields.String(
        required=True,
        validate=FullMatch(_NICKNAME, error="3–32 letters, digits or _, not starting with a digit."),
    )


class UsernameResultSchema(Schema):
    """The username Signal gave, and its link."""

    username = fields.String()
    username_link = fields.String(attribute="usernameLink", dump_default="")


class PinSchema(Schema):
    """The registration lock PIN."""

    pin = fields.String(required=True, validate=FullMatch(_PIN, error="4–64 digits or letters."))
