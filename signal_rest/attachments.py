"""Base64 attachments: parsing data URIs, checking the base64, and writing them to private files.

An attachment arrives as plain base64, ``data:<mime>;base64,<b64>`` or
``data:<mime>;filename=<name>;base64,<b64>``. signal-cli shows the recipient the *basename* of
the file it is given, so each attachment is written under its own name into a private temporary
directory (mode 0700, files 0600) that is removed as soon as the signal-cli run is over. The
base64 is decoded in slices straight into the file, so no second copy of a large attachment is
held in memory.
"""

import binascii
import contextlib
import errno
import mimetypes
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

import filetype

#: base64 characters decoded per slice (a multiple of 4): 3 MiB of output each
_SLICE = 4 * 1024 * 1024
#: base64 characters enough to recognise a file type by its first bytes (a multiple of 4)
_SNIFF_CHARS = 352
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.-]+=[^;,]*)*)(?P<b64>;base64)?,", re.ASCII)
_WHITESPACE = re.compile(r"\s+")
_MAX_NAME_BYTES = 200


class StorageError(Exception):
    """Raised when an attachment cannot be written to a temporary file (see :func:`storage_error`)."""

    def __init__(self, error):
        self.errno = error.errno
        super().__init__(
            f"Cannot write the attachment to a temporary file in {tempfile.gettempdir()}: {error.strerror}. "
            "Free space there, or point TMPDIR at a place with room."
        )


class DiskFull(StorageError):
    """Raised when the disk (or the quota) of the temporary files is full."""


def storage_error(error):
    """The :class:`StorageError` for the ``OSError`` ``error``: :class:`DiskFull` when out of space."""
    return (DiskFull if error.errno in (errno.ENOSPC, errno.EDQUOT) else StorageError)(error)


@dataclass(frozen=True)
class Attachment:
    """One decoded-on-demand attachment: its base64 text, MIME type and file name (if given).

    The base64 is ``text[start:]``: the string the request carried, not a copy of its tail, so a
    large attachment is not held twice.
    """

    text: str
    start: int = 0
    mime: str = None
    filename: str = None


def safe_filename(name):
    """A file name that is one plain path component: no directories, control characters or dots-only."""
    name = unicodedata.normalize("NFC", unquote(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    while len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:-1] + dot + ext) if stem and len(ext) < 16 else name[:-1]
    if not name.strip("."):
        return None
    return name


def check_base64(text, start=0):
    """Raise ``ValueError`` unless ``text[start:]`` is strict, padded standard base64 of at least one byte."""
    if len(text) <= start or (len(text) - start) % 4:
        raise ValueError("its base64 length is not a multiple of 4")
    for offset in range(start, len(text), _SLICE):
        try:
            binascii.a2b_base64(text[offset : offset + _SLICE], strict_mode=True)
        except binascii.Error as exc:
            raise ValueError(f"it is not valid base64 ({exc})") from None


def parse_attachment(value):
    """Parse one attachment string; raises ``ValueError`` saying what is wrong with it."""
    mime = filename = None
    start = 0
    if value.startswith("data:"):
        match = _DATA_URI.match(value[:4096])
        if not match or not match.group("b64"):
            raise ValueError("it is a data URI but not of the form data:<mime>[;filename=<name>];base64,<data>")
        mime = match.group("mime")
        for param in filter(None, match.group("params").split(";")):
            key, _, param_value = param.partition("=")
            if key.lower() in ("filename", "name"):
                filename = safe_filename(param_value)
        start = match.end()
    if _WHITESPACE.search(value, start):
        # base64 wrapped in lines (MIME style): the one case that makes a cleaned copy
        value, start = _WHITESPACE.sub("", value[start:]), 0
    check_base64(value, start)
    return Attachment(text=value, start=start, mime=mime, filename=filename)


def media_type(attachment):
    """The attachment's MIME type: the one its data URI gives, else the one its first bytes show (or None)."""
    if attachment.mime:
        return attachment.mime
    kind = filetype.guess(binascii.a2b_base64(attachment.text[attachment.start : attachment.start + _SNIFF_CHARS]))
    return kind.mime if kind is not None else None


def _default_name(index, attachment):
    """``attachment-N`` with the extension of its MIME type, or of its content when none is given."""
    extension = mimetypes.guess_extension(media_type(attachment) or "") or ""
    return f"attachment-{index}{extension}"


def _write(path, attachment):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for offset in range(attachment.start, len(attachment.text), _SLICE):
            out.write(binascii.a2b_base64(attachment.text[offset : offset + _SLICE], strict_mode=True))


@contextlib.contextmanager
def materialized(attachments, prefix="signal-rest-", directory=None):
    """Write ``attachments`` to private files (in ``directory``, default the temporary folder);
    yield their paths; remove them all afterwards.

    Each file gets its own sub-directory, so two attachments may share a name. Whatever happens
    inside the ``with`` block (or while writing, e.g. a full disk), nothing is left behind.
    """
    attachments = list(attachments)
    if not attachments:
        yield []
        return
    try:
        if directory is not None:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        directory = tempfile.mkdtemp(prefix=prefix, dir=directory)
    except OSError as exc:
        raise storage_error(exc) from exc
    try:
        paths = []
        for index, attachment in enumerate(attachments, 1):
            folder = os.path.join(directory, str(index))
            try:
                os.mkdir(folder, 0o700)
                path = os.path.join(folder, attachment.filename or _default_name(index, attachment))
                _write(path, attachment)
            except OSError as exc:
                raise storage_error(exc) from exc
            paths.append(path)
        yield paths
    finally:
        shutil.rmtree(directory, ignore_errors=True)
