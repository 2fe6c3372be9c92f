"""Attachments: the files signal-cli stored for received messages."""

from ..extensions import Blueprint, signal_cli
from ..responses import file_response

blp = Blueprint("Attachments", __name__, description="Files that came with received messages.")


@blp.route("/v1/attachments")
@blp.string_list_response(200, "The attachment ids.")
def list_attachments():
    """List the ids of the stored attachments."""
    return signal_cli().list_attachments()


@blp.route("/v1/attachments/<attachment_id:attachment>")
@blp.file_response(200, "*/*", "The attachment's bytes (Content-Type sniffed from them).")
def get_attachment(attachment):
    """Download an attachment (Content-Type sniffed from its bytes); 404 if there is none."""
    return file_response(signal_cli().attachment_path(attachment), attachment)


@blp.route("/v1/attachments/<attachment_id:attachment>", methods=["DELETE"])
@blp.response(204)
def delete_attachment(attachment):
    """Delete a stored attachment; 404 if there is none."""
    signal_cli().delete_attachment(attachment)
