"""URL converters: path parameters are validated (and normalised) by the schemas' parsers.

A bad value is a 400 in the one error shape, not a 404: the route exists, the value is wrong.
Converters for ids that may contain ``/`` (raw group ids, invite links) match across slashes.
"""

from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

from . import schemas
from .signal_cli import ATTACHMENT_ID

#: a group id in a path: signal-cli's base64 id (44 or 24 characters, may contain '/', or '_' for
#: '/'), or the standard API's form (base64 of that id: 60 or 32 characters), with or without
#: "group."; exact lengths, so ".../quit/" or a trailing slash is never taken for part of the id
GROUP_ID_PATH = (
    r"(?:group\.)?(?:[A-Za-z0-9+/_=-]{59}=|[A-Za-z0-9+/_=-]{43}=|[A-Za-z0-9+/_=-]{32}|[A-Za-z0-9+/_=-]{22}==)"
)
INVITE_LINK_PATH = r"https://signal\.group/#[^/]+"


class PathParameterConverter(BaseConverter):
    """A converter whose value may contain '/' (so it does not stop at one)."""

    part_isolating = False


class InvalidPathParameter(BadRequest):
    """A path parameter that does not pass validation."""

    def __init__(self, problem):
        super().__init__()
        self.data = {"messages": {"path": [problem]}}


class PhoneNumberConverter(BaseConverter):
    """``{number}``: an E.164 phone number (``+`` may be percent-encoded or missing)."""

    def to_python(self, value):
        number = schemas.parse_phone_number(value)
        if number is None:
            raise InvalidPathParameter(
                f"'{value[:60]}' is not a phone number in international format, e.g. +4915112345678."
            )
        return number


class GroupIdConverter(PathParameterConverter):
    """``{groupid}``: a group id in either form (a raw id may contain ``/``)."""

    # any other single segment is matched too, to answer 400 (not 404) when it is no group id
    regex = rf"{GROUP_ID_PATH}|[^/]+"

    def to_python(self, value):
        group_id = schemas.parse_group_id(value)
        if group_id is None:
            raise InvalidPathParameter(f"'{value[:60]}' is not a group id (expected 'group.…' or signal-cli's id).")
        return group_id


class RecipientConverter(PathParameterConverter):
    """``{recipient}`` of /v1/send: number, UUID, username or group id (``_`` may stand for ``/``)."""

    regex = rf"{GROUP_ID_PATH}|[^/]+"

    def to_python(self, value):
        recipient = schemas.parse_recipient(value, underscore_is_slash="_" in value and "." not in value)
        if recipient is None and "_" in value:
            recipient = schemas.parse_recipient(value, underscore_is_slash=True)
        if recipient is None:
            raise InvalidPathParameter(schemas.recipient_problem(value))
        return recipient


class IndividualConverter(BaseConverter):
    """``{uuid}``, ``{numberToTrust}``: a phone number or UUID (no groups, no usernames)."""

    def to_python(self, value):
        recipient = schemas.parse_recipient(value, groups=False, usernames=False)
        if recipient is None:
            raise InvalidPathParameter(schemas.recipient_problem(value, groups=False, usernames=False))
        return recipient


class AttachmentIdConverter(BaseConverter):
    """``{id}`` of an attachment: a plain file name (never a path)."""

    def to_python(self, value):
        if not ATTACHMENT_ID.match(value) or ".." in value:
            raise InvalidPathParameter(f"'{value[:60]}' is not an attachment id.")
        return value


class DeviceIdConverter(BaseConverter):
    """``{deviceId}``: a linked device's number (1 is the primary device)."""

    def to_python(self, value):
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 2**31:
            raise InvalidPathParameter(f"'{value[:60]}' is not a device id.")
        return int(value)


class GroupOrInviteConverter(PathParameterConverter):
    """``{groupid}`` of the join route: a group id, or an invite link ``https://signal.group/#…``."""

    # anything else before "/join" is matched too, to answer 400 (not 404) when it is neither
    regex = rf"{INVITE_LINK_PATH}|{GROUP_ID_PATH}|.+?"

    def to_python(self, value):
        if value.startswith(schemas.INVITE_LINK_PREFIX):
            return schemas.parse_invite_link(value) or _bad_invite(value)
        return GroupIdConverter.to_python(self, value)


def _bad_invite(value):
    raise InvalidPathParameter(f"'{value[:60]}' is not a Signal group invite link.")


class VerificationCodeConverter(BaseConverter):
    """``{token}``: the six-digit code Signal sent (``123-456`` or ``123456``)."""

    def to_python(self, value):
        if not schemas.VERIFICATION_CODE.match(value):
            raise InvalidPathParameter("The verification code is six digits, e.g. 123456 or 123-456.")
        return value.replace("-", "")


#: converter name -> (class, OpenAPI schema of the parameter)
CONVERTERS = {
    "number": (PhoneNumberConverter, {"type": "string", "example": "+4915112345678"}),
    "groupid": (GroupIdConverter, {"type": "string", "example": "group.YWJj…"}),
    "recipient": (RecipientConverter, {"type": "string", "example": "+4915100000001"}),
    "group_or_invite": (GroupOrInviteConverter, {"type": "string"}),
    "code": (VerificationCodeConverter, {"type": "string", "pattern": r"^[0-9]{3}-?[0-9]{3}$"}),
    "individual": (IndividualConverter, {"type": "string", "example": "+4915100000001"}),
    "attachment_id": (AttachmentIdConverter, {"type": "string", "example": "Xy12AbCdEf.jpg"}),
    "device_id": (DeviceIdConverter, {"type": "integer", "minimum": 1}),
}


def strip_trailing_slash(wsgi_app):
    """WSGI middleware: ``/v1/about/`` is ``/v1/about`` (no path parameter ever ends with '/')."""

    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if len(path) > 1 and path.endswith("/"):
            environ["PATH_INFO"] = path[:-1]
        return wsgi_app(environ, start_response)

    return middleware


def register_converters(app, api):
    """Make the converters usable in routes and documented in the OpenAPI document."""
    for name, (converter, schema) in CONVERTERS.items():
        app.url_map.converters[name] = converter
        api.register_converter(converter, lambda _converter, schema=schema: dict(schema))
