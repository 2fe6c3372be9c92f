"""Devices: registering, verifying, unregistering, and linking devices."""

import io

import segno
from flask import current_app

from ..extensions import Blueprint, signal_cli
from ..schemas import EmptySchema
from ..schemas.devices import (
    AddDeviceSchema,
    DeleteLocalDataSchema,
    DeviceLinkSchema,
    DeviceSchema,
    QrCodeLinkQueryArgsSchema,
    RegisterSchema,
    UnregisterSchema,
    VerifySchema,
)

blp = Blueprint("Devices", __name__, description="Register, verify and link accounts and devices.")


@blp.route("/v1/register/<number:number>", methods=["POST"])
@blp.arguments(RegisterSchema, required=False)
@blp.response(201, EmptySchema)
def register(data, number):
    """Register a phone number: Signal sends a code by SMS (or voice call with `use_voice`).

    When Signal asks for a captcha the answer is a 400 that says how to get one; send it again
    with `captcha`.
    """
    signal_cli().register(number, voice=data.get("use_voice", False), captcha=data.get("captcha"))
    return {}


@blp.route("/v1/register/<number:number>/verify/<code:token>", methods=["POST"])
@blp.arguments(VerifySchema, required=False)
@blp.response(201, EmptySchema)
def verify(data, number, token):
    """Verify a registered number with the code Signal sent (and the PIN, if one is set)."""
    signal_cli().verify(number, token, pin=data.get("pin"))
    return {}


@blp.route("/v1/unregister/<number:number>", methods=["POST"])
@blp.arguments(UnregisterSchema, required=False)
@blp.response(204)
def unregister(data, number):
    """Unregister the account (`delete_account`: delete it at Signal; `delete_local_data`: here too)."""
    cli = signal_cli()
    cli.unregister(number, delete_account=data["delete_account"])
    if data["delete_local_data"]:
        cli.delete_local_data(number, ignore_registered=True)


@blp.route("/v1/devices/<number:number>/local-data", methods=["DELETE"])
@blp.arguments(DeleteLocalDataSchema, required=False)
@blp.response(204)
def delete_local_data(data, number):
    """Delete what this service's signal-cli stores about the account."""
    signal_cli().delete_local_data(number, ignore_registered=data["ignore_registered"])


def _device_link(device_name):
    return signal_cli().link(device_name, lifetime=current_app.config["SIGNAL_REST_LINK_TIMEOUT"])


@blp.route("/v1/qrcodelink")
@blp.arguments(QrCodeLinkQueryArgsSchema, location="query")
@blp.file_response(200, "image/png", "A QR code of the device link.")
def qrcodelink(args):
    """Link this service as a new device of an existing account: scan the QR code with the phone.

    signal-cli keeps waiting for the scan in the background until SIGNAL_REST_LINK_TIMEOUT.
    """
    uri = _device_link(args["device_name"])
    try:
        code = segno.make_qr(uri, version=args["qrcode_version"])
    except segno.DataOverflowError:
        code = segno.make_qr(uri)
    image = io.BytesIO()
    code.save(image, kind="png", scale=6, border=4)
    return current_app.response_class(image.getvalue(), mimetype="image/png")


@blp.route("/v1/qrcodelink/raw")
@blp.arguments(QrCodeLinkQueryArgsSchema, location="query")
@blp.response(200, DeviceLinkSchema)
def qrcodelink_raw(args):
    """The device link URI itself, for clients that draw the QR code themselves."""
    return {"device_link_uri": _device_link(args["device_name"])}


@blp.route("/v1/devices/<number:number>")
@blp.response(200, DeviceSchema(many=True))
def list_devices(number):
    """List the devices linked to the account."""
    return signal_cli().list_devices(number)


@blp.route("/v1/devices/<number:number>", methods=["POST"])
@blp.arguments(AddDeviceSchema)
@blp.response(204)
def add_device(data, number):
    """Link a new device from the `sgnl://linkdevice?…` URI its QR code shows."""
    signal_cli().add_device(number, data["uri"])


@blp.route("/v1/devices/<number:number>/<device_id:device_id>", methods=["DELETE"])
@blp.response(204)
def remove_device(number, device_id):
    """Unlink a device."""
    signal_cli().remove_device(number, device_id)
