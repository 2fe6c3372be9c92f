"""Attachments: the files signal-cli stored for received messages."""

from pathlib import Path

from ..extensions import Blueprint, signal_cli
from ..responses import file_response
from ..schemas import ATTACHMENT_ID
from ..signal_cli import NotFound

blp = Blueprint("Attachments", __name__, description="Files that came with received messages.")


def _attachments_dir():
    return Path(signal_cli().config_dir) / "attachments"


def _attachment_path(attachment_id):
    """The file of `attachment_id`, or a 404; never a file outside the attachments folder."""
    folder = _attachments_dir().resolve()
    path = (folder / attachment_id).resolve()
    if path.parent != folder or not path.is_file():
        raise NotFound(f"There is no attachment {attachment_id}.")
    return path


@blp.route("/v1/attachments")
@blp.string_list_response(200, "The attachment ids.")
def list_attachments():
    """List the ids of the stored attachments."""
    folder = _attachments_dir()
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and not entry.is_symlink() and ATTACHMENT_ID.match(entry.name)
    )


@blp.route("/v1/attachments/<attachment_id:attachment>")
@blp.file_response(200, "*/*", "The attachment's bytes (Content-Type sniffed from them).")
def get_attachment(attachment):
    """Download an attachment (Content-Type sniffed from its bytes); 404 if there is none."""
    return file_response(_attachment_path(attachment), attachment)


@blp.route("/v1/attachments/<attachment_id:attachment>", methods=["DELETE"])
@blp.response(204)
def delete_attachment(attachment):
    """Delete a stored attachment; 404 if there is none."""
    _attachment_path(attachment).unlink()
