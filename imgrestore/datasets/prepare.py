"""The official training sets, laid out as the bundled recipes read them.

``prepare(kind, src, dst)`` reads a downloaded data set in ``src`` (as its authors or the
official repositories distribute it) and writes under ``dst`` (by default ``datasets``,
the recipes' own paths) the folders each recipe's ``data.train`` / ``data.val`` name:

========  =====================================================================
sidd      ``train/SIDD/{input,target}_crops`` (MIRNet-v2: 512 windows, overlap 128),
          ``SIDD/train/{input,groundtruth}`` (MPRNet, MIRNet: 300 random 256 crops
          per image, seeded), ``val/SIDD`` and ``SIDD/val`` from the validation blocks
gopro     ``GoPro/{train,test}/{input,target}`` (whole frames; the loader crops)
rain13k   ``Rain13K/train/{input,target}`` and ``<set>/test/{input,target}``
dpdd      ``{train,val}/DPDD/{inputL,inputR,inputC,target}_crops`` (train: 512 windows,
          stride 204, 30 % least sharp dropped; val: centre 256), ``test/DPDD``, 16-bit
lol       ``train/Lol`` and ``test/Lol`` (whole images)
realsr    ``train/RealSR/x{2,3,4}/{input,target}_crops`` (512 windows, overlap 256),
          ``test/RealSR/x{2,3,4}/{input,target}``
========  =====================================================================

Pixels are copied bit for bit (16-bit PNGs stay 16-bit); whole images are hard-linked
when ``dst`` is on the same file system, else copied. Files already in ``dst`` are kept,
so an interrupted run can simply be started again.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from imgrestore.datasets import KINDS, patches
from imgrestore.errors import UsageError
from imgrestore.files import replacing

IMAGES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}

Report = Callable[[str], None]


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGES), key=_natural)


def read(path: Path) -> np.ndarray:
    import imagecodecs

    return imagecodecs.imread(str(path))


def write(path: Path, pixels: np.ndarray) -> None:
    import imagecodecs

    if path.exists():
        return
    with replacing(path) as tmp:
        tmp.write_bytes(imagecodecs.png_encode(np.ascontiguousarray(pixels)))


def place(source: Path, dest: Path) -> None:
    """``dest`` as a hard link to ``source`` (a copy across file systems)."""
    if dest.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _parallel(work: Callable[[object], int], items: Iterable[object], threads: int) -> int:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(work, items))


def _find_dirs(root: Path, required: Iterable[str]) -> Iterator[Path]:
    """Folders under ``root`` (itself included) that hold every name in ``required``."""
    need = list(required)
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if all((folder / n).is_dir() for n in need):
            yield folder


# --- SIDD ---------------------------------------------------------------------------------


def sidd(src: Path, dst: Path, report: Report, threads: int, seed: int = 0) -> dict[str, int]:
    files = sorted((p for p in src.rglob("*") if p.suffix.upper() == ".PNG"), key=_natural)
    noisy = [p for p in files if "NOISY" in p.name]
    clean = [p for p in files if "GT" in p.name]
    if not noisy or len(noisy) != len(clean):
        raise UsageError(f"{src}: expected SIDD_Medium_Srgb/Data/*/ with *GT*.PNG and "
                         f"*NOISY*.PNG files ({len(clean)} GT, {len(noisy)} NOISY found)")
    v2 = dst / "train" / "SIDD"
    v1 = dst / "SIDD" / "train"

    def one(item: object) -> int:
        index, (lr_file, hr_file) = item  # type: ignore[misc]
        lr, hr = read(lr_file), read(hr_file)
        stem = lr_file.stem
        windows = patches.sliding_windows(*lr.shape[:2], 512, 128)
        for n, w in enumerate(windows, 1):
            write(v2 / "input_crops" / f"{stem}-{n}.png", patches.crop(lr, w, 512))
            write(v2 / "target_crops" / f"{stem}-{n}.png", patches.crop(hr, w, 512))
        rng = np.random.default_rng([seed, index])
        for n, w in enumerate(patches.random_windows(*lr.shape[:2], 256, 300, rng), 1):
            write(v1 / "input" / f"{index + 1}_{n}.png", patches.crop(lr, w, 256))
            write(v1 / "groundtruth" / f"{index + 1}_{n}.png", patches.crop(hr, w, 256))
        return len(windows)

    counts = {"train/SIDD": _parallel(one, enumerate(zip(noisy, clean, strict=True)), threads),
              "SIDD/train": 300 * len(noisy)}
    report(f"sidd: {len(noisy)} image pairs -> {counts['train/SIDD']} MIRNet-v2 crops, "
           f"{counts['SIDD/train']} MPRNet/MIRNet patches")
    counts.update(_sidd_val(src, dst, report))
    return counts


def _sidd_val(src: Path, dst: Path, report: Report) -> dict[str, int]:
    found = {p.name: p for p in src.rglob("Validation*BlocksSrgb.mat")}
    names = ("ValidationNoisyBlocksSrgb.mat", "ValidationGtBlocksSrgb.mat")
    if not all(n in found for n in names):
        report(f"sidd: no {' / '.join(names)} in {src}: validation set not written")
        return {}
    from scipy.io import loadmat

    noisy = loadmat(found[names[0]])["ValidationNoisyBlocksSrgb"]
    clean = loadmat(found[names[1]])["ValidationGtBlocksSrgb"]
    count = 0
    for i in range(noisy.shape[0]):
        for k in range(noisy.shape[1]):
            name = f"{i + 1}_{k + 1}.png"
            for folder, target in ((dst / "val" / "SIDD", "target_crops"),
                                   (dst / "SIDD" / "val", "groundtruth")):
                write(folder / ("input_crops" if target == "target_crops" else "input") / name,
                      noisy[i, k])
                write(folder / target / name, clean[i, k])
            count += 1
    report(f"sidd: {count} validation blocks")
    return {"val/SIDD": count, "SIDD/val": count}


# --- whole-image sets ---------------------------------------------------------------------


def _pairs_into(pairs: list[tuple[Path, Path]], out: Path, threads: int) -> int:
    """Link each (input, target) pair into ``out/input`` and ``out/target`` (target's name)."""
    def one(item: object) -> int:
        lr, hr = item  # type: ignore[misc]
        place(lr, out / "input" / hr.name)
        place(hr, out / "target" / hr.name)
        return 1

    return _parallel(one, pairs, threads)


def _matched(inp: Path, tgt: Path) -> list[tuple[Path, Path]]:
    by_stem = {p.stem: p for p in images(inp)}
    pairs = [(by_stem[t.stem], t) for t in images(tgt) if t.stem in by_stem]
    if not pairs:
        raise UsageError(f"{inp} / {tgt}: no images with matching names")
    return pairs


def gopro(src: Path, dst: Path, report: Report, threads: int) -> dict[str, int]:
    counts = {}
    for split in ("train", "test"):
        pairs = []
        for seq in _find_dirs(src, ("blur", "sharp")):
            if split not in {p.lower() for p in seq.relative_to(src).parts}:
                continue
            pairs += [(lr, hr, f"{seq.name}_{hr.name}")
                      for lr, hr in _matched(seq / "blur", seq / "sharp")]
        if not pairs:
            raise UsageError(f"{src}: expected GoPro_Large/{split}/<sequence>/{{blur,sharp}}/")
        out = dst / "GoPro" / split
        for lr, hr, name in pairs:
            place(lr, out / "input" / name)
            place(hr, out / "target" / name)
        counts[f"GoPro/{split}"] = len(pairs)
    report(f"gopro: {counts['GoPro/train']} training and {counts['GoPro/test']} test pairs")
    return counts


def rain13k(src: Path, dst: Path, report: Report, threads: int) -> dict[str, int]:
    counts = {}
    for folder in _find_dirs(src, ("input", "target")):
        parts = [p.lower() for p in folder.relative_to(src).parts]
        if "test" in parts and folder.parent.name.lower() == "test":
            key = f"{folder.name}/test"
        elif "train" in parts:
            key = "Rain13K/train"
        else:
            continue
        counts[key] = counts.get(key, 0) + _pairs_into(
            _matched(folder / "input", folder / "target"), dst / key, threads)
    if "Rain13K/train" not in counts:
        raise UsageError(f"{src}: expected train/{{input,target}} (or train/Rain13K/...) and "
                         "test/<set>/{input,target}")
    report("rain13k: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def lol(src: Path, dst: Path, report: Report, threads: int) -> dict[str, int]:
    splits = {"train": ("our485", "train"), "test": ("eval15", "test")}
    counts = {}
    for split, names in splits.items():
        found = [d for d in _find_dirs(src, ("low", "high")) if d.name.lower() in names]
        found += [d for d in _find_dirs(src, ("input", "target"))
                  if names[1] in [p.lower() for p in d.relative_to(src).parts]]
        if not found:
            raise UsageError(f"{src}: expected our485/ and eval15/ with low/ + high/")
        folder = found[0]
        inp, tgt = ("low", "high") if (folder / "low").is_dir() else ("input", "target")
        counts[f"{split}/Lol"] = _pairs_into(_matched(folder / inp, folder / tgt),
                                             dst / split / "Lol", threads)
    report(f"lol: {counts['train/Lol']} training and {counts['test/Lol']} test pairs")
    return counts


# --- DPDD ---------------------------------------------------------------------------------

_VIEWS = ("inputL", "inputR", "inputC", "target")
#: The original release's folders for each view: ``{split}_l/source`` etc.
_ORIGINAL = {"inputL": ("_l", "source"), "inputR": ("_r", "source"),
             "inputC": ("_c", "source"), "target": ("_c", "target")}


def _dpdd_split(src: Path, split: str) -> dict[str, list[Path]]:
    for folder in _find_dirs(src, _VIEWS):
        if folder.name.lower() == split or split in folder.relative_to(src).parts:
            return {v: images(folder / v) for v in _VIEWS}
    for folder in [src, *sorted(p for p in src.rglob("*") if p.is_dir())]:
        dirs = {v: folder / f"{split}{s}" / sub for v, (s, sub) in _ORIGINAL.items()}
        if all(d.is_dir() for d in dirs.values()):
            return {v: images(d) for v, d in dirs.items()}
    raise UsageError(f"{src}: expected DPDD {split}/{{inputL,inputR,inputC,target}}/ "
                     f"(or {split}_c/, {split}_l/, {split}_r/ with source/ and target/)")


def dpdd(src: Path, dst: Path, report: Report, threads: int) -> dict[str, int]:
    counts = {}
    train = _dpdd_split(src, "train")

    def crops(item: object) -> int:
        files = dict(zip(_VIEWS, item, strict=True))  # type: ignore[call-overload]
        views = {v: read(p) for v, p in files.items()}
        windows = patches.dpdd_windows(*views["target"].shape[:2], 512, 204)
        kept = patches.keep_sharpest([patches.crop(views["target"], w, 512) for w in windows])
        stem = files["inputC"].stem
        for n, i in enumerate(kept, 1):
            for v in _VIEWS:
                write(dst / "train" / "DPDD" / f"{v}_crops" / f"{stem}-{n}.png",
                      patches.crop(views[v], windows[i], 512))
        return len(kept)

    counts["train/DPDD"] = _parallel(crops, zip(*train.values(), strict=True), threads)
    val = _dpdd_split(src, "val")

    def centre(item: object) -> int:
        files = dict(zip(_VIEWS, item, strict=True))  # type: ignore[call-overload]
        for v, path in files.items():
            image = read(path)
            h, w = image.shape[:2]
            window = ((h - 256) // 2, (w - 256) // 2)
            write(dst / "val" / "DPDD" / f"{v}_crops" / f"{files['inputC'].stem}.png",
                  patches.crop(image, window, 256))
        return 1

    counts["val/DPDD"] = _parallel(centre, zip(*val.values(), strict=True), threads)
    try:
        test = _dpdd_split(src, "test")
    except UsageError:
        test = {}
    for v, files in test.items():
        for path in files:
            place(path, dst / "test" / "DPDD" / v / path.name)
    counts["test/DPDD"] = len(test.get("target", []))
    report(f"dpdd: {len(train['target'])} training images -> {counts['train/DPDD']} crops, "
           f"{counts['val/DPDD']} validation crops, {counts['test/DPDD']} test images")
    return counts


# --- RealSR -------------------------------------------------------------------------------


def _realsr_pairs(folder: Path, scale: int) -> list[tuple[Path, Path]]:
    if (folder / "LR").is_dir() and (folder / "HR").is_dir():
        return list(zip(images(folder / "LR"), images(folder / "HR"), strict=False))
    if (folder / "input").is_dir() and (folder / "target").is_dir():
        return _matched(folder / "input", folder / "target")
    found = images(folder)
    hr = {p.name.replace("_HR", ""): p for p in found if "_HR" in p.name}
    return [(p, hr[p.name.replace(f"_LR{scale}", "")]) for p in found
            if f"_LR{scale}" in p.name and p.name.replace(f"_LR{scale}", "") in hr]


def realsr(src: Path, dst: Path, report: Report, threads: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for folder in [src, *sorted(p for p in src.rglob("*") if p.is_dir())]:
        match = re.fullmatch(r"x?([234])", folder.name)
        if not match:
            continue
        scale = int(match.group(1))
        pairs = _realsr_pairs(folder, scale)
        if not pairs:
            continue
        test = any(p.lower() == "test" for p in folder.relative_to(src).parts)
        key = f"{'test' if test else 'train'}/RealSR/x{scale}"
        if test:
            counts[key] = counts.get(key, 0) + _pairs_into(pairs, dst / key, threads)
            continue
        counts[key] = counts.get(key, 0) + _parallel(
            functools.partial(_realsr_crops, out=dst / key), pairs, threads)
    if not any(k.startswith("train/") for k in counts):
        raise UsageError(f"{src}: expected RealSR x2/ x3/ x4/ folders with LR/ + HR/ "
                         "(or *_LR2 / *_HR files)")
    report("realsr: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def _realsr_crops(item: object, out: Path) -> int:
    lr_file, hr_file = item  # type: ignore[misc]
    lr, hr = read(lr_file), read(hr_file)
    windows = patches.sliding_windows(*lr.shape[:2], 512, 256)
    for n, w in enumerate(windows, 1):
        write(out / "input_crops" / f"{lr_file.stem}-{n}.png", patches.crop(lr, w, 512))
        write(out / "target_crops" / f"{lr_file.stem}-{n}.png", patches.crop(hr, w, 512))
    return len(windows)


_PREPARE = {"sidd": sidd, "gopro": gopro, "rain13k": rain13k, "dpdd": dpdd, "lol": lol,
            "realsr": realsr}


def prepare(kind: str, src: Path, dst: Path, *, report: Report = lambda _m: None,
            threads: int | None = None) -> dict[str, int]:
    """Write data set ``kind`` from ``src`` into ``dst``; the count written per folder."""
    if kind not in _PREPARE:
        raise UsageError(f"unknown data set {kind!r}; known: {', '.join(KINDS)}")
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise UsageError(f"{src}: no such folder")
    if dst.resolve().is_relative_to(src.resolve()):
        raise UsageError(f"{dst}: inside the source folder {src}; choose another DST")
    return _PREPARE[kind](src, dst, report, threads or min(8, os.cpu_count() or 1))


__all__ = ["KINDS", "prepare"]
