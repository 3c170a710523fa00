"""Low-light enhancers across exposures: how much of their error is the brightness they pick.

    python benchmarks/lowlight.py data/photos/heldout builtin_enhance runs/CANDIDATE ...

A dark photo does not say how dark its scene was, so an enhancer guesses the exposure, and
at a low-light PSNR of about 20 dB most of the error is that guess. For each model and
each exposure (the benchmark's low light, ``benchmarks/builtin.py``, at other exposures:
gamma 1.2, shot and read noise, 8-bit; seeded), over the held-out photos, this prints the
mean PSNR, the PSNR after the one global gain that fits the clean photo best (what the
network gets right apart from brightness), SSIM, mean brightness and mean HSV saturation as
shares of the clean photos', and the brightness of the whole photos against that of the
same photos restored as independent 96 px crops (a network whose brightness depends on
how much of the photo its global pooling sees is far from 1: training crops are small,
the engine runs whole photos).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from builtin import LOW_LIGHT, held_out_photos  # benchmarks/builtin.py, beside this script

EXPOSURES = (0.05, 0.1, 0.2, 0.4)
CROP = 96


def low_light(clean: np.ndarray, exposure: float, index: int) -> np.ndarray:
    """``benchmarks/builtin.py``'s low light at ``exposure`` (seeded by the photo's index)."""
    from imgrestore.ops.degrade import degrade

    spec = {**LOW_LIGHT, "exposure": exposure}
    return np.ascontiguousarray(degrade(spec, clean, np.random.default_rng([0, index])),
                                dtype=np.float32)


def gain_fitted(out: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """``out`` times the global gain of least squared error against ``clean``."""
    gain = float((out * clean).sum() / max(float((out * out).sum()), 1e-12))
    return np.clip(out * gain, 0, 1)


def in_crops(restore, degraded: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The whole ``CROP``-px crops of ``degraded``, each restored alone, tiled again."""
    h, w = (degraded.shape[0] // CROP) * CROP, (degraded.shape[1] // CROP) * CROP
    out = np.zeros((h, w, 3), np.float32)
    for y in range(0, h, CROP):
        for x in range(0, w, CROP):
            crop = np.ascontiguousarray(degraded[y:y + CROP, x:x + CROP])
            out[y:y + CROP, x:x + CROP] = np.clip(restore(crop), 0, 1)
    return out, (h, w)


def measure_model(ref: str, photos: list[Path], exposures: tuple[float, ...]) -> None:
    from imgrestore.engine import EngineOptions, Restorer
    from imgrestore.imaging import read_image
    from imgrestore.ops.metrics import mean_saturation, measure, psnr
    from imgrestore.zoo.loading import load_model

    restore = Restorer.from_model(load_model(ref, task="enhance"), EngineOptions(device="cpu"))
    cleans = [read_image(p).pixels for p in photos]
    clean_saturation = float(np.mean([mean_saturation(c) for c in cleans]))
    print(f"\n### {ref}\n")
    print("| exposure | PSNR (dB) | gain-fitted PSNR | SSIM | brightness / clean | "
          "saturation / clean | whole / 96 px crops |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for exposure in exposures:
        rows, whole_light, crop_light = [], 0.0, 0.0
        for index, clean in enumerate(cleans):
            degraded = low_light(clean, exposure, index)
            out = np.clip(restore(degraded), 0, 1)
            m = measure(out, clean)
            rows.append((m.psnr, psnr(gain_fitted(out, clean), clean), m.ssim,
                         out.mean() / clean.mean(), mean_saturation(out)))
            crops, (h, w) = in_crops(restore, degraded)
            whole_light += float(out[:h, :w].sum())
            crop_light += float(crops.sum())
        p, g, s, b, sat = np.mean(rows, axis=0)
        print(f"| {exposure:g} | {p:.2f} | {g:.2f} | {s:.4f} | {b:.3f} | "
              f"{sat / clean_saturation:.1%} "
              f"| {whole_light / crop_light:.3f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("heldout", type=Path, help="folder of held-out clean photos")
    parser.add_argument("models", nargs="+", help="models to measure (names, run folders)")
    parser.add_argument("--exposures", type=float, nargs="+", default=list(EXPOSURES))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args(argv)
    photos = held_out_photos(args.heldout, args.threads)
    for ref in args.models:
        measure_model(ref, photos, tuple(args.exposures))


if __name__ == "__main__":
    main()
