"""Embeddable stats: the compact "1.2k views" number and a self-contained SVG badge.

The badge is plain SVG text: no fonts, scripts, stylesheets or external references, so it can
be served from any origin, inlined into HTML, or cached by a CDN without loading anything else.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from fractions import Fraction

__all__ = ["BADGE_METRICS", "compact_number", "render_badge", "text_width"]

#: Metric name → default badge label.
BADGE_METRICS: dict[str, str] = {"pageviews": "views", "visitors": "visitors"}

_UNITS: tuple[tuple[int, str], ...] = (
    (10**12, "T"),
    (10**9, "B"),
    (10**6, "M"),
    (10**3, "k"),
    (1, ""),
)


def compact_number(n: int | float) -> str:
    """Format a count the way badges show it: ``1234`` → ``"1.2k"``.

    Rule: pick the largest unit (k = 10³, M = 10⁶, B = 10⁹, T = 10¹²) not above ``|n|``,
    *truncate* toward zero to one decimal and drop a trailing ``.0``. Truncation, not
    rounding, so a badge never overstates: ``1_999`` → ``"1.9k"``, ``999_999`` → ``"999.9k"``
    (never ``"1000k"`` or ``"1M"`` before the million is reached). Below 1000 integers are
    shown whole and floats truncated to one decimal (``12.75`` → ``"12.7"``). Negatives get a
    leading ``-``; anything that truncates to zero is ``"0"`` (no ``"-0"``).

    Floats are taken at their shortest ``repr`` (``0.3`` is 0.3, not 0.29999…), and the
    arithmetic is exact, so no binary rounding error can push a value across a digit.
    """
    if isinstance(n, bool) or not isinstance(n, int | float):
        raise TypeError(f"compact_number() needs an int or float, not {type(n).__name__}")
    if isinstance(n, float) and not math.isfinite(n):
        raise ValueError(f"compact_number() needs a finite number, not {n!r}")
    exact = Fraction(n) if isinstance(n, int) else Fraction(repr(n))
    magnitude = abs(exact)
    unit, suffix = next((u, s) for u, s in _UNITS if magnitude >= u or u == 1)
    tenths = math.floor(magnitude * 10 / unit)
    if tenths == 0:
        return "0"
    whole, fraction = divmod(tenths, 10)
    text = f"{whole}.{fraction}" if fraction else str(whole)
    return f"{'-' if exact < 0 else ''}{text}{suffix}"


# Advance widths of Verdana at 11px (the shields.io font), in px, for printable ASCII.
# Approximate: enough to size a badge within a pixel or two; ``textLength`` in the SVG then
# stretches the rendered text to exactly this width, whichever fallback font the viewer has.
_VERDANA_11: dict[str, float] = {
    " ": 3.87, "!": 4.33, '"': 5.05, "#": 9.16, "$": 7.0, "%": 11.84, "&": 7.99, "'": 2.95,
    "(": 4.99, ")": 4.99, "*": 7.0, "+": 9.16, ",": 4.0, "-": 4.99, ".": 4.0, "/": 4.99,
    "0": 7.0, "1": 7.0, "2": 7.0, "3": 7.0, "4": 7.0, "5": 7.0, "6": 7.0, "7": 7.0,
    "8": 7.0, "9": 7.0, ":": 4.99, ";": 4.99, "<": 9.16, "=": 9.16, ">": 9.16, "?": 5.97,
    "@": 11.0, "A": 7.52, "B": 7.54, "C": 7.68, "D": 8.48, "E": 6.96, "F": 6.32, "G": 8.53,
    "H": 8.27, "I": 4.62, "J": 5.0, "K": 7.62, "L": 6.12, "M": 9.27, "N": 8.23, "O": 8.66,
    "P": 6.63, "Q": 8.66, "R": 7.65, "S": 7.52, "T": 6.78, "U": 8.05, "V": 7.52, "W": 10.88,
    "X": 7.54, "Y": 6.78, "Z": 7.54, "[": 4.99, "\\": 4.99, "]": 4.99, "^": 9.16, "_": 7.0,
    "`": 7.0, "a": 6.61, "b": 6.82, "c": 5.73, "d": 6.82, "e": 6.5, "f": 3.86, "g": 6.82,
    "h": 6.96, "i": 3.02, "j": 3.79, "k": 6.5, "l": 3.02, "m": 10.69, "n": 6.96, "o": 6.68,
    "p": 6.82, "q": 6.82, "r": 4.69, "s": 5.73, "t": 4.33, "u": 6.96, "v": 6.5, "w": 8.99,
    "x": 6.5, "y": 6.5, "z": 5.79, "{": 6.98, "|": 4.99, "}": 6.98, "~": 9.16,
}  # fmt: skip
_DEFAULT_WIDTH = 7.0  # other letters: about an average Verdana capital
_WIDE_WIDTH = 11.0  # CJK and other full-width characters: one em

# Characters XML 1.0 forbids even as references; a URL-supplied label could carry them and
# would make the whole badge unparseable, so they are dropped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})|[a-zA-Z]{3,20}")

_HEIGHT = 20
_PADDING = 5  # px either side of each text, as shields.io


def text_width(text: str) -> float:
    """Approximate rendered width of ``text`` in Verdana 11px, in px."""
    total = 0.0
    for char in text:
        if char in _VERDANA_11:
            total += _VERDANA_11[char]
        elif unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue  # accents and zero-width characters take no room
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            total += _WIDE_WIDTH
        else:
            total += _DEFAULT_WIDTH
    return total


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _esc(text: str) -> str:
    """Escape for both XML text and double-quoted attributes."""
    return html.escape(text, quote=True)


def _text(content: str, *, center: float, width: float) -> str:
    """One label with its 1px drop shadow, drawn at 10x scale for sub-pixel positioning."""
    x = round(center * 10)
    length = round(width * 10)
    body = _esc(content)
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{length}">{body}</text>'
        f'<text x="{x}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{length}">{body}</text>'
    )


def render_badge(label: str, value: str, *, color: str = "#4c1") -> str:
    """A flat, shields.io-style SVG badge: grey ``label`` half, ``color`` ``value`` half.

    Widths come from :func:`text_width`, so no font has to be available when rendering.
    Label and value may come straight from a URL: every piece of text is XML-escaped and
    characters XML cannot carry are dropped. ``color`` must be ``#rgb``, ``#rrggbb`` or a CSS
    colour name (``ValueError`` otherwise), so it can never smuggle markup into an attribute.
    An empty ``label`` gives a value-only badge. The ``id``s are derived from the content, so
    several different badges inlined into one HTML page do not clip each other.
    """
    if not _COLOR.fullmatch(color):
        raise ValueError(f"badge colour must be #rgb, #rrggbb or a colour name, not {color!r}")
    label, value = _clean(label), _clean(value)
    title = f"{label}: {value}" if label else value

    label_text = text_width(label)
    value_text = text_width(value)
    label_w = math.ceil(label_text) + 2 * _PADDING if label else 0
    value_w = math.ceil(value_text) + 2 * _PADDING
    total_w = label_w + value_w

    digest = hashlib.sha256(f"{label}\0{value}\0{color}".encode()).hexdigest()[:10]
    grad, clip = f"ffs-{digest}", f"ffr-{digest}"

    texts = _text(label, center=label_w / 2, width=label_text) if label else ""
    texts += _text(value, center=label_w + value_w / 2, width=value_text)
    label_rect = f'<rect width="{label_w}" height="{_HEIGHT}" fill="#555"/>' if label else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{_HEIGHT}" '
        f'role="img" aria-label="{_esc(title)}">'
        f"<title>{_esc(title)}</title>"
        f'<linearGradient id="{grad}" x2="0" y2="100%">'
        f'<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="{clip}">'
        f'<rect width="{total_w}" height="{_HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#{clip})">{label_rect}'
        f'<rect x="{label_w}" width="{value_w}" height="{_HEIGHT}" fill="{color}"/>'
        f'<rect width="{total_w}" height="{_HEIGHT}" fill="url(#{grad})"/></g>'
        f'<g fill="#fff" text-anchor="middle" '
        f'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'text-rendering="geometricPrecision" font-size="110">{texts}</g>'
        f"</svg>"
    )
