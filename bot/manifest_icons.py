"""The Teams app icons, drawn in code so the package can build its upload zip anywhere.

Shapes are signed-distance functions sampled once per pixel centre; the distance in pixels gives
the anti-aliased coverage. Pure float maths, so the pixels are identical on every machine (the
zlib stream may differ between zlib builds, the decoded pixels never do).
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Callable

RGB = tuple[int, int, int]
ACCENT = "#1D3557"  # Teams accentColor and Slack background_color
COLOR_SIZE = 192  # Teams: full-colour icon, 192x192
OUTLINE_SIZE = 32  # Teams: white-on-transparent outline icon, 32x32
WHITE: RGB = (255, 255, 255)

Point = tuple[float, float]
Sdf = Callable[[float, float], float]


def hex_rgb(value: str) -> RGB:
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def _rounded_box(cx: float, cy: float, hw: float, hh: float, r: float) -> Sdf:
    def sdf(x: float, y: float) -> float:
        qx, qy = abs(x - cx) - hw + r, abs(y - cy) - hh + r
        return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - r
    return sdf


def _segment(a: Point, b: Point, x: float, y: float) -> float:
    bax, bay = b[0] - a[0], b[1] - a[1]
    pax, pay = x - a[0], y - a[1]
    h = max(0.0, min(1.0, (pax * bax + pay * bay) / (bax * bax + bay * bay)))
    return math.hypot(pax - bax * h, pay - bay * h)


def _polyline(points: tuple[Point, ...], width: float) -> Sdf:
    pairs = list(itertools.pairwise(points))
    return lambda x, y: min(_segment(a, b, x, y) for a, b in pairs) - width / 2


def _triangle(a: Point, b: Point, c: Point, rounding: float) -> Sdf:
    def sdf(x: float, y: float) -> float:
        edge = min(_segment(a, b, x, y), _segment(b, c, x, y), _segment(c, a, x, y))
        sides = [(q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
                 for p, q in ((a, b), (b, c), (c, a))]
        inside = all(s >= 0 for s in sides) or all(s <= 0 for s in sides)
        return (-edge if inside else edge) - rounding
    return sdf


# The glyph: a speech bubble (chat) with a tick (done), in a unit square, y pointing down.
_BODY = _rounded_box(0.5, 0.44, 0.32, 0.25, 0.11)
_TAIL = _triangle((0.29, 0.62), (0.47, 0.62), (0.25, 0.83), 0.015)
_CHECK = (0.35, 0.45), (0.46, 0.55), (0.66, 0.34)


def _coverage(distance: float, size: int) -> float:
    """Fraction of a pixel covered, from the signed distance (unit square) at its centre."""
    return max(0.0, min(1.0, 0.5 - distance * size))


def _pixels(size: int, shade: Callable[[float, float], tuple[int, int, int, int]]) -> bytes:
    rows = bytearray()
    for j in range(size):
        rows.append(0)  # PNG filter type 0 (None) for every row
        y = (j + 0.5) / size
        for i in range(size):
            rows.extend(shade((i + 0.5) / size, y))
    return bytes(rows)


def color_pixels(size: int = COLOR_SIZE) -> bytes:
    """Filtered RGBA scanlines: white bubble with an accent tick on the accent colour."""
    accent = hex_rgb(ACCENT)
    check = _polyline(_CHECK, 0.075)

    def shade(x: float, y: float) -> tuple[int, int, int, int]:
        glyph = _coverage(min(_BODY(x, y), _TAIL(x, y)), size)
        tick = _coverage(check(x, y), size)
        white = glyph * (1 - tick)
        r, g, b = (round(c + (255 - c) * white) for c in accent)
        return r, g, b, 255
    return _pixels(size, shade)


def outline_pixels(size: int = OUTLINE_SIZE) -> bytes:
    """Filtered RGBA scanlines: the bubble's outline and tick in white, transparent elsewhere."""
    stroke = 2.0 / size  # two pixels wide at 32x32, as Teams' outline icons are drawn
    check = _polyline(_CHECK, stroke * 1.2)

    def shade(x: float, y: float) -> tuple[int, int, int, int]:
        body = _BODY(x, y)
        ring = abs(body + stroke / 2) - stroke / 2  # inside the bubble's edge
        tail = max(_TAIL(x, y), -(body + stroke))  # not drawn into the bubble's interior
        alpha = _coverage(min(ring, tail, check(x, y)), size)
        return (*WHITE, round(255 * alpha))
    return _pixels(size, shade)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int, scanlines: bytes) -> bytes:
    """An 8-bit RGBA PNG from already-filtered scanlines (one filter byte per row)."""
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # depth 8, RGBA, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(scanlines, 9)) + _chunk(b"IEND", b""))


def color_png() -> bytes:
    return png(COLOR_SIZE, color_pixels())


def outline_png() -> bytes:
    return png(OUTLINE_SIZE, outline_pixels())
