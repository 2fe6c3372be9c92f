"""Responses that are not JSON: images and files, with a Content-Type sniffed from their bytes."""

import mimetypes

import filetype
from flask import current_app, send_file

OCTET_STREAM = "application/octet-stream"


def sniff(data_or_path, name=None):
    """The MIME type of some bytes (or a file): from its content, else from ``name``'s extension."""
    kind = filetype.guess(data_or_path)
    if kind is not None:
        return kind.mime
    if name:
        guessed, _ = mimetypes.guess_type(name)
        if guessed:
            return guessed
    return OCTET_STREAM


def image_response(data):
    """An avatar or other image, answered with its sniffed Content-Type."""
    return current_app.response_class(data, status=200, mimetype=sniff(data))


def file_response(path, name):
    """A stored file, streamed, with its sniffed Content-Type and ``name`` as download name."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    return send_file(path, mimetype=sniff(head, name), as_attachment=True, download_name=name, conditional=False)
