"""Training and validation samples: patches, augmentation, epoch order, MixUp.

Folders are read by :mod:`.layout` (paired, dual-pixel or clean-only). Every random
choice for sample ``key`` in ``epoch`` comes from
``numpy.random.default_rng([seed, epoch, key])``, so batches do not depend on worker
count or order, and a resumed run sees the same samples. ``key`` runs over
``range(images * data.repeat)``: each repeat of an image is its own sample, with its
own crop, flip and noise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imgrestore.errors import UsageError
from imgrestore.ops.degrade import check_spec, degrade
from imgrestore.ops.metrics import LUMA
from imgrestore.training.layout import Layout, find_layout, read_image

if TYPE_CHECKING:
    import torch


# --- patches and augmentation ----------------------------------------------------------------


def pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad ``image`` bottom/right so both sides are at least ``size`` (MPRNet)."""
    h, w = image.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if not ph and not pw:
        return image
    mode = "reflect" if ph < h and pw < w else "symmetric"
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode)


def detail(image: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels (0 for a flat patch)."""
    rows, cols = np.abs(np.diff(image, axis=0)), np.abs(np.diff(image, axis=1))
    return float((rows.mean() + cols.mean()) / 2)


def random_crop(
    images: Sequence[np.ndarray], patch: int, rng: np.random.Generator, *,
    min_detail: float = 0.0, tries: int = 8,
) -> list[np.ndarray]:
    """The same ``patch x patch`` window of every image (small images padded first).

    An image ``s`` times larger than the first (super-resolution target) is cropped at
    ``s`` times the window. ``min_detail`` > 0: windows whose last image (the target) has
    less :func:`detail` are drawn again, up to ``tries`` windows in all (the last one is
    kept), so that flat sky does not dominate what a deblurrer learns from.
    """
    scales = [max(1, image.shape[0] // images[0].shape[0]) for image in images]
    padded = [pad_to(image, patch * s) for image, s in zip(images, scales, strict=True)]
    h, w = padded[0].shape[:2]
    for _ in range(tries if min_detail > 0 else 1):
        y = int(rng.integers(0, h - patch + 1))
        x = int(rng.integers(0, w - patch + 1))
        out = [image[y * s : (y + patch) * s, x * s : (x + patch) * s]
               for image, s in zip(padded, scales, strict=True)]
        if detail(out[-1]) >= min_detail:
            break
    return out


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    if size <= 0 or (h <= size and w <= size):
        return image
    y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[y : y + size, x : x + size]


def dihedral(image: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 flips/rotations of an H x W x C image: ``k`` in 0..7 (0 = identity)."""
    if k >= 4:
        image = image[:, ::-1]
    return np.rot90(image, k % 4, axes=(0, 1))


def choose_augment(mode: str, rng: np.random.Generator) -> int:
    """A dihedral index: ``dihedral8`` uniform; ``mprnet9`` MPRNet's 9-way choice, whose
    extra case is the identity; ``none`` always 0."""
    if mode == "dihedral8":
        return int(rng.integers(8))
    if mode == "mprnet9":
        k = int(rng.integers(9))
        return 0 if k == 8 else k
    return 0


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend RGB triplets with their grey (ITU-R 601 weights), clipped to [0, 1]."""
    out = np.empty_like(image)
    for c0 in range(0, image.shape[2], 3):
        rgb = image[..., c0 : c0 + 3]
        gray = rgb @ np.array(LUMA, dtype=np.float32)
        out[..., c0 : c0 + 3] = np.clip(factor * rgb + (1 - factor) * gray[..., None], 0, 1)
    return out


# --- datasets ---------------------------------------------------------------------------------


def _chw(image: np.ndarray) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


class _Images:
    """Read (and optionally cache) the images of one sample; ``preloaded`` starts the
    cache with images already decoded (by :func:`.layout.check_images`)."""

    def __init__(
        self, layout: Layout, cache: bool, preloaded: Mapping[Path, np.ndarray] | None = None,
    ) -> None:
        self.layout = layout
        self.cache: dict[Path, np.ndarray] | None = dict(preloaded or {}) if cache else None

    def read(self, path: Path) -> np.ndarray:
        if self.cache is None:
            return read_image(path)
        if path not in self.cache:
            self.cache[path] = read_image(path)
        return self.cache[path]

    def sample(self, index: int) -> tuple[np.ndarray | None, np.ndarray]:
        """(input with views stacked on channels, or None when clean-only; target)."""
        target = self.read(self.layout.targets[index])
        if not self.layout.paired:
            return None, target
        views = [self.read(p) for p in self.layout.inputs[index]]
        return np.concatenate(views, axis=2), target


class TrainSet:
    """Random patches: index with ``(epoch, index)``; yields ``{"input", "target"}`` CHW."""

    def __init__(
        self, layout: Layout, *, patch: int, seed: int, augment: str = "dihedral8",
        saturation_jitter: float = 0.0, degradation: Mapping[str, Any] | None = None,
        min_detail: float = 0.0, cache: bool = False,
        preloaded: Mapping[Path, np.ndarray] | None = None,
    ) -> None:
        if not layout.paired and not degradation:
            raise UsageError(
                f"{layout.root}: clean images only; the recipe needs data.degradation "
                "(e.g. {kind = \"gaussian_noise\", sigma = [0, 50]})"
            )
        self.images = _Images(layout, cache, preloaded)
        self.patch, self.seed, self.augment = patch, seed, augment
        self.saturation_jitter, self.min_detail = saturation_jitter, min_detail
        self.degradation = check_spec(degradation) if degradation and not layout.paired else None

    def __len__(self) -> int:
        return len(self.images.layout)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Sample ``key = (epoch, index)``; ``index`` may exceed the image count (repeats)."""
        epoch, index = key
        rng = np.random.default_rng([self.seed, epoch, index])
        inp, target = self.images.sample(index % len(self))
        arrays = [target] if inp is None else [inp, target]
        arrays = random_crop(arrays, self.patch, rng, min_detail=self.min_detail)
        k = choose_augment(self.augment, rng)
        arrays = [dihedral(a, k) for a in arrays]
        if self.saturation_jitter and rng.random() < self.saturation_jitter:
            factor = float(rng.uniform(0.8, 1.2))
            arrays = [adjust_saturation(a, factor) for a in arrays]
        if inp is None:
            target = np.ascontiguousarray(arrays[0])
            inp = degrade(self.degradation, target, rng)
        else:
            inp, target = arrays
        return {"input": _chw(inp), "target": _chw(target)}


class ValSet:
    """Whole (or center-cropped) validation images; clean-only folders are degraded with
    ``default_rng([seed, index])``, the same inputs every time."""

    def __init__(
        self, layout: Layout, *, crop: int = 0, seed: int = 0,
        degradation: Mapping[str, Any] | None = None, limit: int = 0,
        preloaded: Mapping[Path, np.ndarray] | None = None,
    ) -> None:
        if not layout.paired and not degradation:
            raise UsageError(f"{layout.root}: clean validation images need data.degradation")
        self.images = _Images(layout, cache=True, preloaded=preloaded)
        self.crop, self.seed = crop, seed
        self.degradation = check_spec(degradation) if degradation and not layout.paired else None
        self.count = min(len(layout), limit) if limit else len(layout)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        inp, target = self.images.sample(index)
        target = center_crop(target, self.crop)
        if inp is None:
            inp = degrade(self.degradation, target, np.random.default_rng([self.seed, index]))
        else:
            s = max(1, target.shape[0] // inp.shape[0])
            inp = center_crop(inp, self.crop // s if self.crop else 0)
        return {"input": _chw(inp), "target": _chw(target)}


class EpochSampler:
    """Shuffled ``(epoch, key)`` samples, epoch after epoch, sharded across processes.

    The order of each epoch is the one :class:`torch.utils.data.DistributedSampler` gives
    for that epoch over ``range(size * repeat)``. With ``drop_last`` (BasicSR) each epoch
    is cut to whole batches; without it (MPRNet, MIRNet: ``drop_last=False``) its last
    batch is smaller. Batches never straddle epochs. ``start`` skips the first samples of
    the first epoch (resume).
    """

    def __init__(
        self, size: int, *, seed: int, rank: int = 0, world: int = 1, repeat: int = 1,
        batch: int = 1, start_epoch: int = 0, start: int = 0, drop_last: bool = True,
    ) -> None:
        self.size, self.seed, self.rank, self.world = size, seed, rank, world
        self.repeat, self.batch, self.drop_last = repeat, batch, drop_last
        self.start_epoch, self.start = start_epoch, start

    def epoch_indices(self, epoch: int) -> list[int]:
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(
            range(self.size * self.repeat), num_replicas=self.world, rank=self.rank,
            shuffle=True, seed=self.seed, drop_last=self.drop_last,
        )
        sampler.set_epoch(epoch)
        indices = list(sampler)
        if self.drop_last:
            indices = indices[: len(indices) // self.batch * self.batch]
        return indices

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[tuple[int, int]]]:
        """Lists of ``(epoch, key)``: the loader batches, forever."""
        epoch, start = self.start_epoch, self.start
        while True:
            indices = self.epoch_indices(epoch)[start:]
            for i in range(0, len(indices), self.batch):
                yield [(epoch, key) for key in indices[i : i + self.batch]]
            epoch, start = epoch + 1, 0


class BatchKeys:
    """:meth:`EpochSampler.batches` as a ``batch_sampler`` for a DataLoader."""

    def __init__(self, sampler: EpochSampler) -> None:
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return self.sampler.batches()


def samples_per_epoch(size: int, *, world: int = 1, repeat: int = 1,
                      drop_last: bool = True) -> int:
    """Samples one process sees per epoch (DistributedSampler: the remainder is dropped
    with ``drop_last``, else padded with repeats)."""
    total = size * repeat
    return total // world if drop_last else -(-total // world)


def batches_per_epoch(samples: int, batch: int, *, drop_last: bool = True) -> int:
    return samples // batch if drop_last else -(-samples // batch)


# --- MixUp -----------------------------------------------------------------------------------


def mixup(
    inp: torch.Tensor, target: torch.Tensor, *, kind: str, alpha: float, prob: float,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each sample with a random partner from the batch, input and target alike.

    ``per_sample``: one lambda ~ Beta(alpha, alpha) per sample (MPRNet, MIRNet);
    ``per_batch``: one lambda for the batch (MIRNet-v2), applied with probability ``prob``.
    """
    import torch

    n = inp.shape[0]
    if kind == "none" or n < 2:
        return inp, target
    if kind == "per_batch":
        if rng.random() >= prob:
            return inp, target
        lam = torch.tensor(float(rng.beta(alpha, alpha)), dtype=inp.dtype, device=inp.device)
    else:
        if prob < 1 and rng.random() >= prob:
            return inp, target
        lam = torch.from_numpy(rng.beta(alpha, alpha, size=n)).to(inp.device, inp.dtype)
        lam = lam.view(n, 1, 1, 1)
    perm = torch.from_numpy(rng.permutation(n)).to(inp.device)
    return lam * inp + (1 - lam) * inp[perm], lam * target + (1 - lam) * target[perm]


__all__ = [
    "BatchKeys",
    "EpochSampler",
    "Layout",
    "TrainSet",
    "ValSet",
    "adjust_saturation",
    "batches_per_epoch",
    "center_crop",
    "choose_augment",
    "detail",
    "dihedral",
    "find_layout",
    "mixup",
    "random_crop",
    "read_image",
    "samples_per_epoch",
]
