"""Devices: registering, verifying, unregistering, and linking devices."""

import re

from marshmallow import fields, validate

from ..extensions import Schema
from . import (
    FullMatch,
    NullableText,
    NumberText,
    Text,
    WholeNumber,
)


class RegisterSchema(Schema):
    """Options of a registration."""

    use_voice = fields.Boolean(load_default=False)
    captcha = Text(max_length=16 * 1024, validate=FullMatch(r"^(signalcaptcha://)?[\w.\-:/+=]+$"))


class VerifySchema(Schema):
    """The registration lock PIN, when the account has one."""

    pin = fields.String(validate=FullMatch(r"^[0-9A-Za-z]{4,64}$", error="Not a Signal PIN."))


_DEVICE_LINK = re.compile(r"^sgnl://linkdevice\?[A-Za-z0-9%=&_.~+/-]{1,2048}$")
_DEVICE_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,50}$")


class UnregisterSchema(Schema):
    """What unregistering also deletes."""

    delete_account = fields.Boolean(load_default=False)
    delete_local_data = fields.Boolean(load_default=False)


class DeleteLocalDataSchema(Schema):
    """Whether local data may be deleted while the account is still registered."""

    ignore_registered = fields.Boolean(load_default=False)


class QrCodeLinkQueryArgsSchema(Schema):
    """The new device's name, and the QR code's size (version)."""

    device_name = Text(
        load_default="signal-rest", max_length=50, validate=FullMatch(_DEVICE_NAME, error="Not a device name.")
    )
    qrcode_version = WholeNumber(load_default=10, validate=validate.Range(min=1, max=40))


class AddDeviceSchema(Schema):
    """The ``sgnl://linkdevice?…`` URI shown by the device to link."""

    uri = fields.String(required=True, validate=FullMatch(_DEVICE_LINK, error="Not a sgnl://linkdevice?… device link."))


class DeviceSchema(Schema):
    """A linked device."""

    id = fields.Integer(dump_default=None)
    name = NullableText(allow_none=True)
    last_seen_timestamp = NumberText(attribute="lastSeenTimestamp")
    creation_timestamp = NumberText(attribute="createdTimestamp")


class DeviceLinkSchema(Schema):
    """A device link URI, to show as a QR code."""

    device_link_uri = fields.String()
