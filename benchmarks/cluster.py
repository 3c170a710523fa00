"""Ray against the plain local batch: the same photos, the same compact model, one machine.

    python benchmarks/cluster.py [--photos data/photos] [--count 40] [--size 256]

Cuts ``--count`` crops of ``--size`` pixels from the photos (``python
train/builtin/photos.py data/photos`` makes them), then restores them with ``denoise
--model builtin``:

1. the local batch (``imgrestore.batch.run.run``, this process, 2 threads, then 1);
2. a local Ray instance (2 CPUs): its start-up (``ray.init``), then the same batch with
   1 worker of 2 threads and with 2 workers of 1 thread.

For each it prints the wall time, images/s over the whole run (the pool's start-up
included), the time to the first finished file (mostly the workers' start: a process
each, importing torch, receiving the model), and the steady rate between the first and
the last file. Ratios are against the local batch of the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_crops(photos: Path, count: int, size: int, folder: Path) -> list[Path]:
    from PIL import Image

    sources = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".png", ".jpg"))
    if not sources:
        sys.exit(f"no photos in {photos} (run: python train/builtin/photos.py data/photos)")
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        with Image.open(sources[i % len(sources)]) as im:
            im = im.convert("RGB")
            w, h = im.size
            x, y = int(rng.integers(0, max(1, w - size))), int(rng.integers(0, max(1, h - size)))
            crop = im.crop((x, y, x + min(size, w), y + min(size, h)))
        path = folder / f"crop{i:03d}.png"
        crop.save(path)
        made.append(path)
    return made


def _clock_class():  # imgrestore is imported once the command line is read
    from imgrestore.batch.run import SilentEvents

    class Clock(SilentEvents):
        """Events that note when each file finished."""

        def __init__(self) -> None:
            self.started = time.perf_counter()
            self.finished: list[float] = []

        def file_done(self, result) -> None:  # type: ignore[no-untyped-def]
            assert result.status == "done", result  # stops the benchmark on any failure
            self.finished.append(time.perf_counter())

    return Clock


def timed_run(request) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from imgrestore.batch.run import run

    clock = _clock_class()()
    report = run(request, clock)
    wall = time.perf_counter() - clock.started
    n = len(clock.finished)
    assert report.counts().get("done") == n, report.counts()
    first, last = clock.finished[0] - clock.started, clock.finished[-1] - clock.started
    return {"wall": wall, "rate": n / wall, "first": first,
            "steady": (n - 1) / (last - first) if last > first else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("data/photos"))
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # as imgrestore's --ray does
    import ray
    import torch

    from imgrestore.batch.run import Request, Step
    from imgrestore.cluster import RayOptions

    torch.set_num_threads(2)
    root = Path(tempfile.mkdtemp(prefix="imgrestore-cluster-bench-"))
    crops = make_crops(args.photos, args.count, args.size, root / "in")
    base = Request(steps=(Step("denoise", model="builtin"),), inputs=(str(root / "in"),))
    print(f"{args.count} crops of {args.size}x{args.size} from {args.photos}; denoise "
          f"--model builtin; torch {torch.__version__}, ray {ray.__version__}")

    header = (f"{'run':18} {'workers':>7} {'threads':>7} {'wall s':>8} {'img/s':>7} "
              f"{'vs local':>8} {'first s':>8} {'steady img/s':>12} {'vs local':>8}")
    print(header + "\n" + "-" * len(header))
    local: dict[str, float] = {}

    def show(name: str, workers: str, threads: int, r: dict[str, float]) -> None:
        local.update(local or r)  # the first row, the 2-thread local batch, is the baseline
        print(f"{name:18} {workers:>7} {threads:>7} {r['wall']:8.1f} {r['rate']:7.2f} "
              f"{r['rate'] / local['rate']:8.2f} {r['first']:8.1f} {r['steady']:12.2f} "
              f"{r['steady'] / local['steady']:8.2f}")

    # Untimed: the first forward's one-time costs (allocator, kernels) are no run's.
    timed_run(dataclasses.replace(base, inputs=(str(crops[0]),), output=str(root / "warm")))
    show("local batch", "-", 2, timed_run(dataclasses.replace(base, output=str(root / "l"))))
    torch.set_num_threads(1)  # 2 threads suffer most when other jobs share the cores
    show("local batch", "-", 1, timed_run(dataclasses.replace(base, output=str(root / "l1"))))
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    print(f"ray.init (local instance, 2 CPUs): {time.perf_counter() - started:.1f} s")
    try:
        for workers in (1, 2):
            request = dataclasses.replace(base, output=str(root / f"ray{workers}"),
                                          ray=RayOptions(workers=workers))
            show(f"ray, {workers} worker{'s' * (workers > 1)}", str(workers), 2 // workers,
                 timed_run(request))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
