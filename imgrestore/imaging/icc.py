"""Matrix/TRC ICC profiles: write them for the spaces LibRaw develops into, read them in float.

Pillow's ImageCms (littlecms) converts only 8-bit RGB images and cannot build an RGB
profile from primaries, so the few things we need are here, in float, for the profile
kind nearly every RGB photo carries (three colorants and three tone curves): build a
profile (:func:`matrix_profile`), read one (:func:`parse_matrix_profile`), and apply its
curves both ways. Other profiles (LUT-based) are left to ImageCms by
:mod:`imgrestore.imaging.colour`. The tests check both directions against littlecms.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

#: The ICC profile connection space illuminant, D50.
D50_XYZ = np.array([0.9642, 1.0, 0.8249])
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367],
                      [0.0389, -0.0685, 1.0296]])  # fmt: skip


@dataclass(frozen=True)
class Curve:
    """An ICC tone curve (encoded value -> linear light).

    ``kind`` is the ICC ``parametricCurveType`` function type 0-4 with ``params``
    (g, a, b, c, d, e, f), or -1 for a sampled table (``table`` in [0, 1]).
    """

    kind: int
    params: tuple[float, ...] = (1.0,)
    table: tuple[float, ...] = ()

    def to_linear(self, v: np.ndarray) -> np.ndarray:
        v = np.clip(v, 0.0, 1.0)
        if self.kind < 0:
            grid = np.linspace(0.0, 1.0, len(self.table))
            return np.interp(v, grid, self.table).astype(v.dtype)
        g, a, b, c, d, e, f = (*self.params, *(0.0,) * 7)[:7]
        if self.kind == 0:
            return np.power(v, g)
        if self.kind == 1:
            return np.where(v >= -b / a, np.power(np.maximum(a * v + b, 0), g), 0.0)
        if self.kind == 2:
            return np.where(v >= -b / a, np.power(np.maximum(a * v + b, 0), g) + c, c)
        if self.kind == 3:
            return np.where(v >= d, np.power(np.maximum(a * v + b, 0), g), c * v)
        return np.where(v >= d, np.power(np.maximum(a * v + b, 0), g) + e, c * v + f)

    def to_encoded(self, y: np.ndarray) -> np.ndarray:
        """The inverse curve (linear light -> encoded value), clipped to [0, 1]."""
        y = np.clip(y, 0.0, 1.0)
        if self.kind < 0:
            grid = np.linspace(0.0, 1.0, len(self.table))
            table = np.maximum.accumulate(np.asarray(self.table))  # monotone for np.interp
            return np.interp(y, table, grid).astype(y.dtype)
        g, a, b, c, d, e, f = (*self.params, *(0.0,) * 7)[:7]
        if self.kind == 0:
            return np.power(y, 1.0 / g)
        if self.kind in (1, 2):
            offset = c if self.kind == 2 else 0.0
            x = (np.power(np.maximum(y - offset, 0), 1.0 / g) - b) / a
            return np.clip(x, 0.0, 1.0)
        offset, floor = (e, f) if self.kind == 4 else (0.0, 0.0)
        knee = c * d + floor  # linear value at the breakpoint
        high = (np.power(np.maximum(y - offset, 0), 1.0 / g) - b) / a
        low = (y - floor) / c if c else np.zeros_like(y)
        return np.clip(np.where(y >= knee, high, low), 0.0, 1.0)


@dataclass(frozen=True)
class MatrixProfile:
    """An RGB profile made of colorants (to the D50 connection space) and tone curves."""

    to_xyz: np.ndarray
    """3 x 3: linear RGB -> XYZ (D50), columns = the red, green, blue colorants."""
    curves: tuple[Curve, Curve, Curve]

    def to_linear(self, pixels: np.ndarray) -> np.ndarray:
        out = np.empty_like(pixels)
        for i, curve in enumerate(self.curves):
            out[..., i] = curve.to_linear(pixels[..., i])
        return out

    def to_encoded(self, linear: np.ndarray) -> np.ndarray:
        out = np.empty_like(linear)
        for i, curve in enumerate(self.curves):
            out[..., i] = curve.to_encoded(linear[..., i])
        return out


@dataclass(frozen=True)
class Space:
    """A named RGB space: chromaticities, white point and LibRaw's curve for it."""

    title: str
    primaries: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    white: tuple[float, float]
    #: LibRaw's ``gamma=(power, toe slope)`` that gives this space's tone curve.
    libraw_gamma: tuple[float, float]


_D65 = (0.3127, 0.3290)
#: The spaces ``--raw-colorspace`` develops into, by option value.
SPACES: dict[str, Space] = {
    "srgb": Space("sRGB", ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), _D65, (2.4, 12.92)),
    "adobe": Space("Adobe RGB (1998)", ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), _D65,
                   (563 / 256, 0.0)),
    "prophoto": Space("ProPhoto RGB", ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)),
                      (0.3457, 0.3585), (1.8, 16.0)),
    "rec2020": Space("Rec. 2020", ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)), _D65,
                     (1 / 0.45, 4.5)),
    "p3": Space("Display P3", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), _D65,
                (2.4, 12.92)),
}  # fmt: skip


def _xy_to_xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def bradford(src_white: np.ndarray, dst_white: np.ndarray) -> np.ndarray:
    """3 x 3 Bradford chromatic adaptation from one XYZ white to another."""
    cone = np.diag((_BRADFORD @ dst_white) / (_BRADFORD @ src_white))
    return np.linalg.inv(_BRADFORD) @ cone @ _BRADFORD


def rgb_to_xyz(space: Space) -> np.ndarray:
    """Linear RGB -> XYZ in the space's own white (columns scaled so RGB white = white)."""
    columns = np.stack([_xy_to_xyz(p) for p in space.primaries], axis=1)
    white = _xy_to_xyz(space.white)
    return columns * np.linalg.solve(columns, white)


def libraw_curve(power: float, toe_slope: float) -> Curve:
    """The tone curve LibRaw applies for ``gamma=(power, toe_slope)``, as an ICC curve.

    LibRaw (dcraw's ``gamma_curve``) solves for the offset that makes a power curve
    with a linear toe continuous; this repeats that solve so the profile we attach
    describes the pixels exactly.
    """
    g0, g1 = 1.0 / power, toe_slope
    if g0 == 1.0:
        return Curve(0, (1.0,))
    g2 = g3 = g4 = 0.0
    if g1 and (g1 - 1) * (g0 - 1) <= 0:
        bounds = [0.0, 0.0]
        bounds[1 if g1 >= 1 else 0] = 1.0
        for _ in range(48):
            g2 = (bounds[0] + bounds[1]) / 2
            bounds[int((pow(g2 / g1, -g0) - 1) / g0 - 1 / g2 > -1)] = g2
        g3 = g2 / g1
        g4 = g2 * (1 / g0 - 1)
    if not g1:
        return Curve(0, (power,))
    # encoded V = (1 + g4) L^g0 - g4 above L = g3, V = g1 L below
    return Curve(3, (power, 1 / (1 + g4), g4 / (1 + g4), 1 / g1, g3 * g1))


def space_profile(name: str, *, linear: bool = False) -> bytes:
    """The ICC profile of a ``--raw-colorspace`` space with LibRaw's curve (or linear)."""
    space = SPACES[name]
    curve = Curve(0, (1.0,)) if linear else libraw_curve(*space.libraw_gamma)
    title = f"{space.title}{' linear' if linear else ''} (imgrestore)"
    return matrix_profile(title, space, curve)


def matrix_profile(description: str, space: Space, curve: Curve) -> bytes:
    """An ICC v4 display profile: the space's colorants adapted to D50, one curve for all."""
    white = _xy_to_xyz(space.white)
    adapt = bradford(white, D50_XYZ)
    colorants = adapt @ rgb_to_xyz(space)
    if curve.kind < 0:
        raise ValueError("matrix_profile writes parametric curves only")
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _mluc(description)),
        (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_type(D50_XYZ)),
        (b"chad", _sf32_type(adapt.flatten())),
        (b"rXYZ", _xyz_type(colorants[:, 0])),
        (b"gXYZ", _xyz_type(colorants[:, 1])),
        (b"bXYZ", _xyz_type(colorants[:, 2])),
    ]
    para = _para_type(curve)
    tags += [(b"rTRC", para), (b"gTRC", para), (b"bTRC", para)]
    return _assemble(tags)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_type(xyz: np.ndarray) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _sf32_type(values: np.ndarray) -> bytes:
    return b"sf32\0\0\0\0" + b"".join(_s15(v) for v in values)


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(
        ">II", len(encoded), 28) + encoded  # fmt: skip


def _para_type(curve: Curve) -> bytes:
    counts = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
    values = curve.params[: counts[curve.kind]]
    return b"para\0\0\0\0" + struct.pack(">HH", curve.kind, 0) + b"".join(map(_s15, values))


def _assemble(tags: list[tuple[bytes, bytes]]) -> bytes:
    table = struct.pack(">I", len(tags))
    offset = 128 + 4 + 12 * len(tags)
    body = b""
    for signature, data in tags:
        padded = data + b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = 128 + len(table) + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x04300000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\0" * 12  # creation date
    header += b"acsp" + b"\0" * 4 + struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8
    header += struct.pack(">I", 0)  # rendering intent: perceptual
    header += b"".join(_s15(v) for v in D50_XYZ) + b"\0" * 4  # illuminant, creator
    header += b"\0" * (128 - len(header))
    return header + table + body


# --- reading ------------------------------------------------------------------------------


def _tag_table(data: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack_from(">I", data, 128)
    if count > 1000:
        raise ValueError("implausible ICC tag count")
    tags = {}
    for i in range(count):
        signature, offset, size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if offset + size > len(data):
            raise ValueError("ICC tag outside the profile")
        tags[signature] = data[offset : offset + size]
    return tags


def _read_xyz(tag: bytes) -> np.ndarray:
    if tag[:4] != b"XYZ ":
        raise ValueError("colorant is not an XYZType")
    return np.array(struct.unpack_from(">3i", tag, 8), dtype=np.float64) / 65536


def _read_curve(tag: bytes) -> Curve:
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", tag, 8)
        if n == 0:
            return Curve(0, (1.0,))
        if n == 1:
            (gamma,) = struct.unpack_from(">H", tag, 12)
            return Curve(0, (gamma / 256,))
        values = np.frombuffer(tag, dtype=">u2", count=n, offset=12) / 65535
        return Curve(-1, table=tuple(float(v) for v in values))
    if kind == b"para":
        (function,) = struct.unpack_from(">H", tag, 8)
        counts = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
        if function not in counts:
            raise ValueError(f"unknown parametric curve type {function}")
        params = struct.unpack_from(f">{counts[function]}i", tag, 12)
        return Curve(function, tuple(p / 65536 for p in params))
    raise ValueError(f"unsupported curve type {kind!r}")


def parse_matrix_profile(data: bytes) -> MatrixProfile | None:
    """The colorants and curves of an RGB matrix/TRC profile; None for any other kind.

    Profiles with LUTs (``A2B0``...) are None too: a CMM would use the LUT, not the matrix.
    Raises ``ValueError`` for a damaged profile.
    """
    if len(data) < 132 or data[36:40] != b"acsp":
        raise ValueError("not an ICC profile")
    if data[16:20] != b"RGB " or data[20:24] != b"XYZ ":
        return None
    tags = _tag_table(data)
    if any(t in tags for t in (b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1")):
        return None
    needed = (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")
    if not all(t in tags for t in needed):
        return None
    matrix = np.stack([_read_xyz(tags[t]) for t in needed[:3]], axis=1)
    curves = tuple(_read_curve(tags[t]) for t in needed[3:])
    return MatrixProfile(matrix, curves)  # type: ignore[arg-type]


def srgb_matrix_profile() -> MatrixProfile:
    """sRGB as littlecms builds it (Bradford-adapted colorants, the IEC curve)."""
    profile = parse_matrix_profile(space_profile("srgb"))
    assert profile is not None
    return profile
