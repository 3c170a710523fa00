"""Quality and speed of the built-in models against classical baselines, on held-out photos.

    python train/builtin/photos.py data/photos          # once: the held-out photos
    python benchmarks/builtin.py data/photos/heldout [--tasks denoise upscale_x2 ...]

For each task, every held-out photo is degraded (seeded; the same degradation code as
training), then restored by the built-in model and by classical methods, all in this run
on this machine. Prints one Markdown table per task (mean RGB PSNR / SSIM over the photos,
seconds per megapixel, mean HSV saturation as a share of the clean photo's) and the
built-in model's gain over the best baseline and its border ratio: the photo's centre
(all but 16 px on each side) restored alone against the same pixels of the whole photo's
restoration, outer 4 px over interior error (``metrics.border_ratio``; above 1: a frame
at image borders). The
classical methods get every advantage we can give them: the true noise level (BM3D,
non-local means), the true blur kernel (Richardson-Lucy), and their best parameter of a small grid,
chosen per photo by the clean image (RL iterations, median size, gamma, CLAHE strength).

Needs ``bm3d`` and ``opencv-python-headless`` (``pip install bm3d opencv-python-headless``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Image = np.ndarray
#: A method: (degraded, context) -> restored at the clean image's size.
Method = Callable[[Image, dict], Image]


@dataclass(frozen=True)
class Task:
    name: str
    command: str
    scale: int
    describe: str
    degrade: Callable[[Image, np.random.Generator], tuple[Image, dict]]
    baselines: dict[str, Method]


# --- degradations (training's code, fixed parameters) ----------------------------------------


def _noise(sigma: float) -> Callable[[Image, np.random.Generator], tuple[Image, dict]]:
    """Training's Gaussian noise; the context tells the denoisers the true sigma."""
    degrade = _spec({"kind": "gaussian_noise", "sigma": sigma, "clip": False})
    return lambda clean, rng: (degrade(clean, rng)[0], {"sigma": sigma / 255})


def _blur(clean: Image, rng: np.random.Generator) -> tuple[Image, dict]:
    from imgrestore.ops.degrade import convolve, trajectory_kernel

    kernel = trajectory_kernel(15, rng)
    blurred = convolve(clean, kernel) + rng.standard_normal(clean.shape).astype(np.float32) / 255
    return np.round(np.clip(blurred, 0, 1) * 255) / 255, {"kernel": kernel}


def _spec(spec: dict) -> Callable[[Image, np.random.Generator], tuple[Image, dict]]:
    def run(clean: Image, rng: np.random.Generator) -> tuple[Image, dict]:
        from imgrestore.ops.degrade import degrade

        return degrade(spec, clean, rng).astype(np.float32), {}

    return run


# --- classical methods --------------------------------------------------------------------


def _u8(x: Image) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def bm3d_rgb(x: Image, ctx: dict) -> Image:
    import bm3d

    return np.asarray(bm3d.bm3d_rgb(x, ctx["sigma"]), dtype=np.float32)


def nl_means(x: Image, ctx: dict) -> Image:
    import cv2

    h = ctx["sigma"] * 255 * 0.8  # OpenCV's guidance: h about 0.8 sigma (tuned on kite)
    bgr = cv2.fastNlMeansDenoisingColored(_u8(x)[..., ::-1].copy(), None, h, h, 7, 21)
    return bgr[..., ::-1].astype(np.float32) / 255


def richardson_lucy(x: Image, ctx: dict) -> Image:
    """Richardson-Lucy with the true kernel, at the best of 3/10/30 iterations (more
    iterations sharpen more and amplify more noise)."""
    from skimage.restoration import richardson_lucy as rl

    def run(image: Image, iterations: float) -> Image:
        return np.stack([rl(image[..., c], ctx["kernel"], num_iter=int(iterations), clip=True)
                         for c in range(3)], -1).astype(np.float32)

    return best_of(run, (3, 10, 30))(x, ctx)


def best_of(method: Callable[[Image, float], Image], grid: tuple[float, ...]) -> Method:
    """``method`` with the grid value that scores best on this photo (an oracle choice)."""

    def run(x: Image, ctx: dict) -> Image:
        from imgrestore.ops.metrics import psnr

        outs = [method(x, g) for g in grid]
        return max(outs, key=lambda out: psnr(np.clip(out, 0, 1), ctx["clean"]))

    return run


def median(x: Image, size: float) -> Image:
    from scipy.ndimage import median_filter

    return median_filter(x, size=(int(size), int(size), 1))


def gamma(x: Image, g: float) -> Image:
    return np.clip(x, 0, 1) ** g


def clahe(x: Image, clip: float) -> Image:
    import cv2

    lab = cv2.cvtColor(_u8(x), cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB).astype(np.float32) / 255


def resize(x: Image, scale: int, method: str) -> Image:
    from PIL import Image as Pil

    from imgrestore.evaluation.compare import to_pil

    filt = {"bicubic": Pil.Resampling.BICUBIC, "lanczos": Pil.Resampling.LANCZOS}[method]
    h, w = x.shape[:2]
    return np.asarray(to_pil(x).resize((w * scale, h * scale), filt), np.float32) / 255


#: The low light measured (``benchmarks/lowlight.py`` varies its exposure).
LOW_LIGHT = {"kind": "low_light", "exposure": 0.1, "gamma": 1.2, "peak": 1000.0, "read": 1.0}

TASKS = {
    "denoise": Task("denoise", "denoise", 1, "Gaussian noise, sigma 25 (not clipped)",
                    _noise(25), {"BM3D (true sigma)": bm3d_rgb,
                                 "non-local means (OpenCV)": nl_means}),
    "deblur": Task("deblur", "deblur", 1,
                   "camera-shake blur, random 15 px trajectory kernel, noise sigma 1, 8-bit",
                   _blur, {"Richardson-Lucy (true kernel, best of 3/10/30 it)": richardson_lucy}),
    "derain": Task("derain", "derain", 1,
                   "rain streaks (density 0.006, length 25, slant 10, intensity 0.7)",
                   _spec({"kind": "rain", "density": 0.006, "length": 25.0, "angle": 10.0,
                          "width": 0.8, "intensity": 0.7}),
                   {"median filter (best of 3/5/7)": best_of(median, (3, 5, 7))}),
    "enhance": Task("enhance", "enhance", 1,
                    "low light: exposure 0.1, gamma 1.2, shot + read noise, 8-bit",
                    _spec(LOW_LIGHT),
                    {"gamma (best of 0.3-0.7)": best_of(gamma, (0.3, 0.4, 0.5, 0.6, 0.7)),
                     "CLAHE (best clip 2-16)": best_of(lambda x, c: clahe(x, c),
                                                       (2.0, 4.0, 8.0, 16.0))}),
    "upscale_x2": Task("upscale_x2", "upscale", 2, "bicubic x2 downsampling, 8-bit",
                       _spec({"kind": "bicubic", "scale": 2, "reupsample": False,
                              "quantize": True}),
                       {"bicubic": lambda x, c: resize(x, 2, "bicubic"),
                        "Lanczos": lambda x, c: resize(x, 2, "lanczos")}),
    "upscale_x4": Task("upscale_x4", "upscale", 4, "bicubic x4 downsampling, 8-bit",
                       _spec({"kind": "bicubic", "scale": 4, "reupsample": False,
                              "quantize": True}),
                       {"bicubic": lambda x, c: resize(x, 4, "bicubic"),
                        "Lanczos": lambda x, c: resize(x, 4, "lanczos")}),
}


#: Output pixels of context around the centre for the border ratio.
CONTEXT = 16


def run_task(
    task: Task, photos: list[Path], seed: int, model: str = "builtin"
) -> tuple[dict[str, tuple[float, ...]], float]:
    """Mean (PSNR, SSIM, seconds per megapixel of output, saturation / clean) per method,
    and the built-in model's mean border ratio. Saturation is the mean over the photos
    over the clean photos' mean (a grey photo would make a per-photo ratio meaningless)."""
    from imgrestore.engine import EngineOptions, Restorer
    from imgrestore.imaging import read_image
    from imgrestore.ops.metrics import border_ratio, mean_saturation, measure
    from imgrestore.zoo.loading import load_model

    loaded = load_model(model, task=task.command,
                        scale=task.scale if task.command == "upscale" else None)
    restorer = Restorer.from_model(loaded, EngineOptions(device="cpu"))
    restorer(np.zeros((64, 64, 3), np.float32))  # warm-up: time the steady state
    scores: dict[str, list[tuple[float, ...]]] = {}
    ratios, saturations = [], []
    for index, path in enumerate(photos):
        clean = read_image(path).pixels
        degraded, ctx = task.degrade(clean, np.random.default_rng([seed, index]))
        ctx["clean"] = clean
        methods: dict[str, Method] = {
            **({"degraded input": lambda x, c: x} if task.scale == 1 else {}),
            **task.baselines,
            f"built-in ({loaded.name})": lambda x, c: restorer(np.ascontiguousarray(x)),
        }
        megapixels = clean.shape[0] * clean.shape[1] / 1e6
        saturations.append(mean_saturation(clean))
        outputs = {}
        for name, method in methods.items():
            start = time.perf_counter()
            out = method(degraded.astype(np.float32), ctx)
            seconds = time.perf_counter() - start
            m = measure(np.clip(out, 0, 1), clean)
            outputs[name] = out
            scores.setdefault(name, []).append(
                (m.psnr, m.ssim, seconds / megapixels, mean_saturation(out)))
        c, k = CONTEXT // task.scale, CONTEXT
        alone = restorer(np.ascontiguousarray(degraded[c:-c, c:-c], dtype=np.float32))
        whole = outputs[f"built-in ({loaded.name})"]
        ratios.append(border_ratio(alone, whole[k:-k, k:-k], clean[k:-k, k:-k]))
    means = {name: tuple(np.mean(v, axis=0)) for name, v in scores.items()}
    clean_saturation = max(float(np.mean(saturations)), 1e-6)
    means = {name: (*v[:3], v[3] / clean_saturation) for name, v in means.items()}
    return means, float(np.mean(ratios))


def held_out_photos(folder: Path, threads: int = 0) -> list[Path]:
    """The photos in ``folder``, after setting ``threads`` torch threads (0: default) and
    printing the line that says what this run measures on."""
    import platform

    import torch

    if threads:
        torch.set_num_threads(threads)
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    print(f"{len(photos)} held-out photos from {folder}; {platform.processor() or ''} "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    return photos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("heldout", type=Path, help="folder of held-out clean photos")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--model", default="builtin",
                        help="the model to measure instead of the task's built-in one "
                        "(a run folder, e.g. a candidate before shipping)")
    args = parser.parse_args(argv)
    photos = held_out_photos(args.heldout, args.threads)
    for name in args.tasks:
        task = TASKS[name]
        results, ratio = run_task(task, photos, args.seed, args.model)
        print(f"\n### {name}: {task.describe}\n")
        print("| method | PSNR (dB) | SSIM | CPU s / MP | saturation / clean |")
        print("| --- | --- | --- | --- | --- |")
        for method, (p, s, t, sat) in results.items():
            print(f"| {method} | {p:.2f} | {s:.4f} | {t:.2f} | {sat:.1%} |")
        ours = next(v for k, v in results.items() if k.startswith("built-in"))
        baselines = {k: v for k, v in results.items() if k in task.baselines}
        best = max(baselines, key=lambda k: baselines[k][0])
        print(f"\nbuilt-in vs {best}: {ours[0] - baselines[best][0]:+.2f} dB, "
              f"{baselines[best][2] / ours[2]:.1f}x the speed; border ratio {ratio:.3f}",
              flush=True)


if __name__ == "__main__":
    main()
