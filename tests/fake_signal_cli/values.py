"""Value syntax signal-cli checks itself: phone numbers, recipients, base64 group ids, data URIs."""

import base64
import re

from .errors import CommandError, java_trace

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
VALID_ACCOUNT = re.compile(r"\+[1-9]\d{3,14}")
E164 = re.compile(r"\+[1-9]\d{6,14}")
# Country calling codes are prefix-free: 1 and 7 have one digit, these have two, the rest three.
_TWO_DIGIT_CODES = {
    "20",
    "27",
    "30",
    "31",
    "32",
    "33",
    "34",
    "36",
    "39",
    "40",
    "41",
    "43",
    "44",
    "45",
    "46",
    "47",
    "48",
    "49",
    "51",
    "52",
    "53",
    "54",
    "55",
    "56",
    "57",
    "58",
    "60",
    "61",
    "62",
    "63",
    "64",
    "65",
    "66",
    "81",
    "82",
    "84",
    "86",
    "90",
    "91",
    "92",
    "93",
    "94",
    "95",
    "98",
}
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_INDEX = {ord(c): i for i, c in enumerate(_B64_ALPHABET)}


def _calling_code(number):
    digits = number.lstrip("+")
    if digits[:1] in ("1", "7"):
        return digits[:1]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def _imprecise_format(number, local):
    """PhoneNumberFormatter.impreciseFormatNumber: fill missing digits from our own number."""
    if number.startswith("+"):
        return number
    local = local.lstrip("+")
    if len(local) <= len(number):
        return "+" + number
    return "+" + local[: len(local) - len(number)] + number


def format_number(text, local_number):
    """Normalise a recipient the loose way signal-cli does (an approximation of libphonenumber)."""
    if "@" in text:
        raise ValueError("Possible attempt to use email address.")
    number = re.sub(r"[^0-9+]", "", text)
    if not number:
        raise ValueError("No valid characters found.")
    code = _calling_code(local_number)
    if number.startswith("+"):
        digits = number.replace("+", "")
        return "+" + digits if 2 <= len(digits) <= 17 else number
    if "+" in number:
        return _imprecise_format(number, local_number)
    if number.startswith("00"):
        return "+" + number[2:]
    if number.startswith("0") and code not in ("1", "7"):
        national = number[1:]
    elif number.startswith(code) and len(number) >= 11:
        return "+" + number
    else:
        national = number
    if 2 <= len(national) <= 17:
        return "+" + code + national
    return _imprecise_format(number, local_number)


def parse_recipient(text, local_number):
    """RecipientIdentifier.Single.fromString: a (kind, value) pair or exit 1."""
    if text is None:
        raise CommandError(
            2,
            java_trace(
                "java.lang.NullPointerException",
                'Cannot invoke "String.startsWith(String)" because "identifier" is null',
            ),
        )
    if _UUID.fullmatch(text):
        return ("uuid", text.lower())
    if text.startswith("PNI:"):
        if not _UUID.fullmatch(text[4:]):
            raise CommandError(1, f"Invalid phone number '{text}': Invalid PNI")
        return ("pni", text[4:].lower())
    if text.startswith("u:"):
        return ("username", text[2:])
    try:
        return ("number", format_number(text, local_number))
    except ValueError as e:
        raise CommandError(1, f"Invalid phone number '{text}': {e}")


def java_b64decode(text):
    """java.util.Base64.getDecoder().decode(String), with its exact error messages."""
    src = bytes(ord(c) if ord(c) < 256 else 0x3F for c in text)
    if not src:
        return b""
    if len(src) < 2:
        raise ValueError("Input byte[] should at least have 2 bytes for base64 bytes")
    out, bits, shift, sp = bytearray(), 0, 18, 0
    while sp < len(src):
        byte = src[sp]
        sp += 1
        if byte == 0x3D:  # '='
            if shift == 18 or (shift == 6 and (sp == len(src) or src[sp] != 0x3D)):
                raise ValueError("Input byte array has wrong 4-byte ending unit")
            if shift == 6:
                sp += 1
            break
        value = _B64_INDEX.get(byte)
        if value is None:
            signed = byte - 256 if byte > 127 else byte
            raise ValueError("Illegal base64 character %s" % ("-%x" % -signed if signed < 0 else f"{signed:x}"))
        bits |= value << shift
        shift -= 6
        if shift < 0:
            out += bytes(((bits >> 16) & 0xFF, (bits >> 8) & 0xFF, bits & 0xFF))
            bits, shift = 0, 18
    if shift == 6:
        out.append((bits >> 16) & 0xFF)
    elif shift == 0:
        out += bytes(((bits >> 16) & 0xFF, (bits >> 8) & 0xFF))
    elif shift == 12:
        raise ValueError("Last unit does not have enough valid bits")
    if sp < len(src):
        raise ValueError(f"Input byte array has incorrect ending byte at {sp}")
    return bytes(out)


def parse_group_id(text):
    """GroupId.fromBase64 through CommandUtil.getGroupId: the canonical id or exit 1."""
    try:
        raw = java_b64decode(text)
        if len(raw) not in (16, 32):
            raise ValueError(f"Invalid group id of size {len(raw)}")
    except ValueError as e:
        raise CommandError(1, f'Invalid group id: Failed to decode groupId (must be base64) "{text}": {e}')
    return base64.b64encode(raw).decode()


_DATA_URI = re.compile(r"\Adata:(?P<type>.+?/.+?)?(?P<parameters>;.+?=.+?)?(?P<base64>;base64)?,(?P<data>.+)\Z", re.I)
_DATA_URI_PARAMETER = re.compile(r";(?P<key>.+)=(?P<value>.+)", re.I)


def _url_decode(text):
    """java.net.URLDecoder.decode, which refuses malformed % escapes."""
    if re.search(r"%(?![0-9a-fA-F]{2})", text):
        raise ValueError("URLDecoder: Illegal hex characters in escape (%) pattern")
    from urllib.parse import unquote_plus

    return unquote_plus(text, errors="replace")


def parse_data_uri(text):
    """DataURI.of: (content type, file name or None, bytes); ValueError if it is not one."""
    match = _DATA_URI.match(text)
    if not match:
        raise ValueError("The given string is not a valid data URI.")
    parameters = {}
    if match.group("parameters"):
        for m in _DATA_URI_PARAMETER.finditer(match.group("parameters")):
            parameters[m.group("key")] = _url_decode(m.group("value"))
    if match.group("base64"):
        data = java_b64decode(match.group("data"))
    else:
        data = _url_decode(match.group("data")).encode("utf-8")
    return match.group("type") or "text/plain", parameters.get("filename"), data
