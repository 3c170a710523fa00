"""Seeded synthetic degradations: turn a clean image into a training (or test) input.

One entry point, shared by training and evaluation::

    degraded = degrade({"kind": "gaussian_noise", "sigma": [0, 50]}, clean, rng)

``clean`` is a float32 ``H x W x C`` array in [0, 1]; ``rng`` a
``numpy.random.Generator`` (every random draw comes from it, so the same seed gives the
same result). The result is float32 ``H x W x C``, same size as ``clean`` except for
``bicubic`` with ``reupsample = false``. A spec is a mapping with ``kind`` and that kind's
parameters (:data:`DEFAULTS`); a two-number list means "draw uniformly in this range"
(the blind setting), a single number is fixed. Sigmas are in 8-bit units (sigma / 255
on [0, 1] images), as in the papers.

Kinds (see docs/training.md for the references behind each):

- ``gaussian_noise``: additive white Gaussian noise, drawn after cropping (Restormer).
- ``poisson_gaussian``: shot noise (``peak`` photons for a white pixel) + read noise.
- ``motion_blur``: a random camera-trajectory kernel (random walk with inertia, after
  Boracchi & Foi 2012) or a straight line kernel, applied with reflect padding.
- ``rain``: rain-streak layer (random drops smeared along one slanted direction) added
  to the image, Rain100L/H-style.
- ``low_light``: exposure and gamma applied in linear light, then sensor noise, then
  back to sRGB, quantised to 8 bits.
- ``bicubic``: bicubic (antialiased, a = -0.5 as MATLAB's ``imresize``) downsampling by
  ``scale``; with ``reupsample`` (MIRNet / MIRNet-v2) resized back to the input size.
- ``chain``: ``steps`` applied in order.
- ``one_of``: one of ``choices`` drawn per image (``weights``: relative odds, default
  equal), e.g. Gaussian or Poisson-Gaussian noise for a blind denoiser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Spec = Mapping[str, Any]

#: Parameters of every kind, with their defaults.
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "gaussian_noise": {"sigma": [0.0, 50.0], "clip": False},
    "poisson_gaussian": {"peak": [30.0, 1000.0], "read": [0.0, 8.0], "clip": True},
    "motion_blur": {"kernel": "trajectory", "size": [9, 31], "angle": [0.0, 180.0]},
    "rain": {
        "density": [0.002, 0.01], "length": [10.0, 40.0], "angle": [-20.0, 20.0],
        "width": [0.5, 1.2], "intensity": [0.5, 0.9],
    },
    "low_light": {
        "exposure": [0.05, 0.5], "gamma": [1.0, 1.5], "peak": [200.0, 3000.0],
        "read": [0.0, 2.0], "quantize": True,
    },
    "bicubic": {"scale": 2, "reupsample": True, "quantize": False},
    "chain": {"steps": []},
    "one_of": {"choices": [], "weights": None},
}


def check_spec(spec: Spec) -> dict[str, Any]:
    """``spec`` with defaults filled in; ``ValueError`` naming a bad kind or parameter."""
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise ValueError("a degradation needs a 'kind' (one of " + ", ".join(DEFAULTS) + ")")
    kind = spec["kind"]
    if kind not in DEFAULTS:
        raise ValueError(f"unknown degradation kind {kind!r}; known: {', '.join(DEFAULTS)}")
    unknown = sorted(set(spec) - set(DEFAULTS[kind]) - {"kind"})
    if unknown:
        raise ValueError(
            f"degradation {kind!r} has no parameter {unknown[0]!r}; "
            f"known: {', '.join(DEFAULTS[kind])}"
        )
    full = {"kind": kind, **DEFAULTS[kind], **spec}
    if kind == "chain":
        full["steps"] = [check_spec(step) for step in full["steps"]]
    if kind == "one_of":
        full["choices"] = [check_spec(choice) for choice in full["choices"]]
        if not full["choices"]:
            raise ValueError("one_of needs at least one degradation in 'choices'")
        weights = full["weights"]
        if weights is not None and (
            len(weights) != len(full["choices"]) or min(weights) < 0 or sum(weights) <= 0
        ):
            raise ValueError("one_of weights must be one non-negative number per choice")
        if len({output_scale(choice) for choice in full["choices"]}) > 1:
            raise ValueError("one_of choices must all give the same output size")
    if kind == "bicubic" and full["scale"] not in (2, 3, 4):
        raise ValueError(f"bicubic scale must be 2, 3 or 4, not {full['scale']!r}")
    if kind == "motion_blur" and full["kernel"] not in ("trajectory", "line"):
        raise ValueError(f"motion_blur kernel must be 'trajectory' or 'line': {full['kernel']!r}")
    return full


def degrade(spec: Spec, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply the degradation ``spec`` to ``clean`` (H x W x C float in [0, 1])."""
    full = check_spec(spec)
    if clean.ndim != 3:
        raise ValueError(f"expected an H x W x C image, got shape {clean.shape}")
    image = np.asarray(clean, dtype=np.float32)
    return _KINDS[full["kind"]](image, rng, full).astype(np.float32, copy=False)


def draw(value: Any, rng: np.random.Generator) -> float:
    """A number from ``[low, high]`` (uniform) or the fixed ``value``."""
    if isinstance(value, (list, tuple)):
        low, high = (float(v) for v in value)
        return float(rng.uniform(low, high)) if high > low else low
    return float(value)


def draw_log(value: Any, rng: np.random.Generator) -> float:
    """Like :func:`draw`, but log-uniform (for scale-like parameters)."""
    if isinstance(value, (list, tuple)):
        low, high = (math.log(float(v)) for v in value)
        return math.exp(rng.uniform(low, high)) if high > low else math.exp(low)
    return float(value)


# --- noise ------------------------------------------------------------------------------------


def _gaussian_noise(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    sigma = draw(p["sigma"], rng) / 255.0
    out = image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(out, 0, 1) if p["clip"] else out


def shot_read_noise(
    image: np.ndarray, rng: np.random.Generator, peak: float, read: float
) -> np.ndarray:
    """Poisson noise with ``peak`` photons at 1.0, plus Gaussian read noise (sigma ``read``)."""
    photons = rng.poisson(np.clip(image, 0, None).astype(np.float64) * peak)
    out = photons / peak + rng.standard_normal(image.shape) * read
    return out.astype(np.float32)


def _poisson_gaussian(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    peak = draw_log(p["peak"], rng)
    read = draw(p["read"], rng) / 255.0
    out = shot_read_noise(image, rng, peak, read)
    return np.clip(out, 0, 1) if p["clip"] else out


# --- blur -------------------------------------------------------------------------------------


def line_kernel(size: int, length: float, angle_deg: float) -> np.ndarray:
    """A normalised ``size x size`` kernel: a line of ``length`` pixels at ``angle_deg``."""
    steps = max(2, int(math.ceil(length * 4)))
    t = np.linspace(-0.5, 0.5, steps) * max(length - 1, 0)
    angle = math.radians(angle_deg)
    return _rasterize(t * math.cos(angle), -t * math.sin(angle), size)


def trajectory_kernel(size: int, rng: np.random.Generator, *, steps: int = 64) -> np.ndarray:
    """A normalised ``size x size`` kernel from a random camera trajectory.

    After Boracchi & Foi (2012): a 2-D random walk whose velocity has inertia, random
    kicks and occasional abrupt changes, scaled to fit the kernel support.
    """
    anxiety = rng.uniform(0.0, 0.1)
    position = np.zeros(steps, dtype=complex)
    velocity = complex(*rng.standard_normal(2))
    velocity /= abs(velocity) + 1e-12
    for i in range(1, steps):
        kick = complex(*rng.standard_normal(2)) * anxiety
        if rng.random() < anxiety * 0.25:  # abrupt shake
            kick += 2 * velocity * complex(math.cos(rng.uniform(0, 2 * math.pi)),
                                           math.sin(rng.uniform(0, 2 * math.pi)))
        velocity = velocity + kick - 0.1 * position[i - 1] / steps  # pull towards centre
        velocity /= abs(velocity) + 1e-12
        position[i] = position[i - 1] + velocity
    position -= position.mean()
    extent = max(np.abs(position.real).max(), np.abs(position.imag).max(), 1e-6)
    reach = rng.uniform(0.3, 1.0) * (size - 1) / 2
    position *= reach / extent
    return _rasterize(position.real, position.imag, size)


def _rasterize(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Splat points (offsets from the centre) bilinearly into a normalised kernel."""
    kernel = np.zeros((size, size), dtype=np.float64)
    c = (size - 1) / 2
    xs, ys = np.clip(x + c, 0, size - 1), np.clip(y + c, 0, size - 1)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    x1, y1 = np.minimum(x0 + 1, size - 1), np.minimum(y0 + 1, size - 1)
    np.add.at(kernel, (y0, x0), (1 - fx) * (1 - fy))
    np.add.at(kernel, (y0, x1), fx * (1 - fy))
    np.add.at(kernel, (y1, x0), (1 - fx) * fy)
    np.add.at(kernel, (y1, x1), fx * fy)
    return (kernel / kernel.sum()).astype(np.float32)


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Each channel of ``image`` (H x W x C) convolved with ``kernel``, reflect padding."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    kh, kw = kernel.shape
    c = image.shape[2]
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    pad = (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2)
    mode = "reflect" if min(image.shape[:2]) > max(kh, kw) else "replicate"
    x = F.pad(x, pad, mode=mode)
    weight = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1]))
    weight = weight.expand(c, 1, kh, kw).contiguous()
    out = F.conv2d(x, weight, groups=c)
    return out[0].numpy().transpose(1, 2, 0)


def _odd_size(value: Any, rng: np.random.Generator) -> int:
    size = int(round(draw(value, rng)))
    return max(3, size | 1)


def _motion_blur(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    size = _odd_size(p["size"], rng)
    if p["kernel"] == "line":
        kernel = line_kernel(size, rng.uniform(size / 3, size), draw(p["angle"], rng))
    else:
        kernel = trajectory_kernel(size, rng)
    return convolve(image, kernel)


# --- rain -------------------------------------------------------------------------------------


def rain_layer(
    shape: tuple[int, int], rng: np.random.Generator, *, density: float, length: float,
    angle_deg: float, width: float,
) -> np.ndarray:
    """An H x W streak layer in [0, 1]: random drops smeared along one direction."""
    h, w = shape
    drops = (rng.random((h, w)) < density) * rng.uniform(0.5, 1.0, (h, w))
    size = max(3, int(math.ceil(length)) | 1)
    # Streaks fall downwards; ``angle_deg`` is the slant from vertical.
    streak = line_kernel(size, length, 90.0 + angle_deg) * length
    across = _gaussian_kernel(width)
    kernel = _full_convolve(streak, across)
    layer = convolve(drops[..., None].astype(np.float32), kernel)[..., 0]
    return np.clip(layer, 0, 1)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(math.ceil(2 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / max(sigma, 1e-3)) ** 2)
    g2 = np.outer(g, g)
    return (g2 / g2.sum()).astype(np.float32)


def _full_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full 2-D convolution of two small kernels."""
    out = np.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1), np.float32)
    for i in range(b.shape[0]):
        for j in range(b.shape[1]):
            out[i : i + a.shape[0], j : j + a.shape[1]] += a * b[i, j]
    return out


def _rain(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    layer = rain_layer(
        image.shape[:2], rng, density=draw(p["density"], rng), length=draw(p["length"], rng),
        angle_deg=draw(p["angle"], rng), width=draw(p["width"], rng),
    )
    intensity = draw(p["intensity"], rng)
    return np.clip(image + intensity * layer[..., None], 0, 1)


# --- low light --------------------------------------------------------------------------------


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def _low_light(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    exposure = draw_log(p["exposure"], rng)
    gamma = draw(p["gamma"], rng)
    dark = exposure * srgb_to_linear(image) ** gamma
    noisy = shot_read_noise(dark, rng, draw_log(p["peak"], rng), draw(p["read"], rng) / 255.0)
    out = linear_to_srgb(noisy)
    return np.round(out * 255) / 255 if p["quantize"] else out


# --- downsampling -----------------------------------------------------------------------------


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of H x W x C float ``image`` to ``size = (h, w)`` (antialiased)."""
    from PIL import Image

    h, w = size
    channels = [
        np.asarray(Image.fromarray(image[..., c]).resize((w, h), Image.Resampling.BICUBIC))
        for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


def _bicubic(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    s = int(p["scale"])
    h, w = image.shape[:2]
    if not p["reupsample"] and (h % s or w % s):
        raise ValueError(f"image size {w}x{h} is not a multiple of the scale {s}")
    low = resize(image, (max(1, math.ceil(h / s)), max(1, math.ceil(w / s))))
    if p["quantize"]:
        low = np.round(np.clip(low, 0, 1) * 255) / 255
    return resize(low, (h, w)) if p["reupsample"] else low


def _chain(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    for step in p["steps"]:
        image = _KINDS[step["kind"]](image, rng, step).astype(np.float32, copy=False)
    return image


def _one_of(image: np.ndarray, rng: np.random.Generator, p: Spec) -> np.ndarray:
    weights = p["weights"]
    odds = None if weights is None else np.asarray(weights, dtype=np.float64) / sum(weights)
    choice = p["choices"][int(rng.choice(len(p["choices"]), p=odds))]
    return _KINDS[choice["kind"]](image, rng, choice)


_KINDS: Mapping[str, Callable[[np.ndarray, np.random.Generator, Spec], np.ndarray]] = {
    "gaussian_noise": _gaussian_noise,
    "poisson_gaussian": _poisson_gaussian,
    "motion_blur": _motion_blur,
    "rain": _rain,
    "low_light": _low_light,
    "bicubic": _bicubic,
    "chain": _chain,
    "one_of": _one_of,
}


def output_scale(spec: Spec) -> int:
    """How much smaller the degraded image is than the clean one (1 unless true SR)."""
    full = check_spec(spec)
    if full["kind"] == "bicubic" and not full["reupsample"]:
        return int(full["scale"])
    if full["kind"] == "chain":
        return math.prod(output_scale(step) for step in full["steps"])
    if full["kind"] == "one_of":
        return output_scale(full["choices"][0])
    return 1


__all__ = [
    "DEFAULTS",
    "check_spec",
    "convolve",
    "degrade",
    "draw",
    "line_kernel",
    "output_scale",
    "rain_layer",
    "resize",
    "shot_read_noise",
    "trajectory_kernel",
]
