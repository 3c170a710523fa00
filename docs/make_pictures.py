"""Make the before/after pictures of the documentation from real photos.

Each photo is downscaled, degraded with the training degradation of the task
(seeded), restored by the model through the same engine as the task commands, and
measured; the script writes ``docs/pictures/<task>-<photo>.jpg`` (degraded, restored
and original side by side, labelled with PSNR, zoomed crops below) and
``docs/pictures/<task>-split.jpg`` (a split view of the first photo), and prints a
Markdown table of the scores.

The documentation's pictures are made with the built-in models (``--model builtin``,
the default) on the held-out photos of ``train/builtin/photos.py`` (the commands are in
docs/eval.md); ``--model`` takes any other model. Use photos the model was not trained
on. Pictures are JPEG (``--quality``), small enough to commit (keep the whole folder to a
few hundred KB).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

#: The degradation each task's pictures show (the inline ``--synthesize`` syntax).
DEGRADATIONS = {
    "denoise": "gaussian_noise:sigma=25,clip=true",
    "deblur": "motion_blur:kernel=line,size=15",
    "derain": "rain:density=0.006,intensity=0.7",
    "enhance": "low_light:exposure=0.1",
    "upscale": "bicubic:scale=2,reupsample=false,quantize=true",
}
#: What the degraded image is called in the pictures.
DEGRADED_LABEL = {"denoise": "noisy", "deblur": "blurred", "derain": "rainy",
                  "enhance": "dark", "upscale": "bicubic x2"}
PICTURES = Path(__file__).resolve().parent / "pictures"


def shrink(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` downscaled (Lanczos) so its long side is ``size`` pixels: the whole scene,
    small enough for a page."""
    from PIL import Image

    from imgrestore.evaluation.compare import to_pil

    h, w = image.shape[:2]
    ratio = size / max(h, w)
    if ratio >= 1:
        return image
    small = to_pil(image).resize((round(w * ratio), round(h * ratio)), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+", type=Path, help="real photos (clean)")
    parser.add_argument("--task", default="denoise", choices=sorted(DEGRADATIONS))
    parser.add_argument("--model", default="builtin",
                        help="model reference as --model takes it (default: builtin)")
    parser.add_argument("--synthesize", help="degradation (default: the task's, see the code)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=320,
                        help="long side of the pictures' images, in pixels")
    parser.add_argument("--quality", type=int, default=82, help="JPEG quality")
    parser.add_argument("--out", type=Path, default=PICTURES)
    args = parser.parse_args(argv)

    from imgrestore.engine.options import EngineOptions
    from imgrestore.engine.restorer import Restorer
    from imgrestore.evaluation import compare
    from imgrestore.evaluation.runner import identity
    from imgrestore.evaluation.synth import describe, parse_spec, synthesize
    from imgrestore.imaging import read_image
    from imgrestore.ops.metrics import measure
    from imgrestore.zoo.loading import load_model

    spec = parse_spec(args.synthesize or DEGRADATIONS[args.task])
    loaded = load_model(args.model, task=args.task)
    restorer = Restorer.from_model(loaded, EngineOptions())
    label = DEGRADED_LABEL[args.task]
    rows = []
    for index, path in enumerate(args.photos):
        clean = shrink(read_image(path).pixels, args.size)
        degraded = synthesize(spec, clean, seed=args.seed, index=index)
        shown = identity(np.clip(degraded, 0, 1), loaded.scale)
        restored = restorer(degraded)
        before, after = measure(shown, clean), measure(restored, clean)
        rows.append((path.stem, before.psnr, after.psnr, before.ssim, after.ssim))
        images = [compare.to_pil(x) for x in (shown, restored, clean)]
        labels = [f"{label} {before.psnr:.1f} dB", f"{loaded.name} {after.psnr:.1f} dB",
                  "original"]
        box = compare.auto_zoom(images[0], images[1], args.size // 6)
        name = f"{args.task}-{path.stem.lower()}.jpg"
        compare.save_picture(compare.side_by_side(images, labels, zoom=box),
                             args.out / name, quality=args.quality)
        if index == 0:
            compare.save_picture(compare.split(images[0], images[1], labels[:2], zoom=box),
                                 args.out / f"{args.task}-split.jpg", quality=args.quality)
        print(f"wrote {args.out / name}")
    print(f"\n{args.task} with {loaded.name}, {describe(spec)}, seed {args.seed}, "
          f"photos downscaled to {args.size} px:\n")
    print(f"| photo | {label} PSNR | restored PSNR | {label} SSIM | restored SSIM |")
    print("| --- | --- | --- | --- | --- |")
    for stem, p0, p1, s0, s1 in rows:
        print(f"| {stem} | {p0:.2f} | {p1:.2f} | {s0:.3f} | {s1:.3f} |")


if __name__ == "__main__":
    main()
