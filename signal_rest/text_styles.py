"""``text_mode: styled``: markdown-like markers turned into Signal text styles.

``**bold**``, ``*italic*``, ``***bold italic***``, ``~strike~``, ``||spoiler||`` and `` `mono` ``
become ``(start, length, STYLE)`` ranges over the text with the markers removed; offsets count
UTF-16 code units, as Signal does. A backslash escapes a marker character. A marker without a
partner stays in the text as written.
"""

#: opening/closing marker -> the styles it applies; longest first, so ``***`` wins over ``**``
MARKERS = {
    "***": ("BOLD", "ITALIC"),
    "**": ("BOLD",),
    "||": ("SPOILER",),
    "*": ("ITALIC",),
    "~": ("STRIKETHROUGH",),
    "`": ("MONOSPACE",),
}
_ESCAPABLE = set("*~|`\\")


def utf16_len(text):
    """Length of ``text`` in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _marker_at(text, i):
    for marker in MARKERS:
        if text.startswith(marker, i):
            return marker
    return None


def _closes_later(text, i, marker):
    """Whether an unescaped ``marker`` occurs at or after ``i`` with something before it."""
    j = i
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith(marker, j):
            return j > i
        j += 1
    return False


def _parse(text, i, closing):
    """Parse from ``i`` until ``closing`` (or the end); returns (pieces, spans, next index, closed)."""
    pieces, spans, length = [], [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPABLE:
            pieces.append(text[i + 1])
            length += utf16_len(text[i + 1])
            i += 2
            continue
        marker = _marker_at(text, i)
        if closing and text.startswith(closing, i):
            # a longer marker that opens a span of its own takes precedence over closing
            if not (marker and len(marker) > len(closing) and _closes_later(text, i + len(marker), marker)):
                return pieces, spans, i + len(closing), True
        if marker and closing != "`" and _closes_later(text, i + len(marker), marker):
            if marker == "`":
                end = text.index("`", i + 1)
                inner_pieces, inner_spans, after, closed = [text[i + 1 : end]], [], end + 1, True
            else:
                inner_pieces, inner_spans, after, closed = _parse(text, i + len(marker), marker)
            if closed:
                inner = "".join(inner_pieces)
                for style in MARKERS[marker]:
                    spans.append((length, utf16_len(inner), style))
                spans.extend((start + length, size, style) for start, size, style in inner_spans)
                pieces.append(inner)
                length += utf16_len(inner)
                i = after
                continue
        pieces.append(char)
        length += utf16_len(char)
        i += 1
    return pieces, spans, i, False


def parse_styled_text(text):
    """Return ``(plain_text, [(start, length, STYLE), ...])`` for a styled message."""
    pieces, spans, _, _ = _parse(text, 0, None)
    return "".join(pieces), sorted(spans)
