"""Speed and memory of the tiled engine against the plain whole-image forward.

Every case runs in a fresh child process; its peak resident memory (RSS) is read from
``wait4``'s rusage, its time is the forward alone (network built and image made first).
Weights are keyseeded (:mod:`imgrestore.testing`): speed and memory do not depend on them.

Sections (``--only`` picks some; all by default):

* ``throughput``: per configuration, an image of ``--size``² pixels (default 1024², 1 MP)
  through ``plain`` = :func:`imgrestore.archs.restore` on the whole image (the baseline)
  and ``tiled`` = :class:`~imgrestore.engine.restorer.Restorer` with ``tile='auto'``
  (CPU default budget) and ``--tile`` if given: megapixels/s, peak RSS, tiling overhead.
* ``big``: a ``--big-mp`` megapixel photo (default 24) with ``tile='auto'``: peak RSS.
  With ``--big-width N`` the network is a narrow copy of ``--big-config`` (n_feat N) whose
  tiles are planned with the real configuration's memory estimate (same tile size); the
  figure then covers every image-sized buffer but a narrow network's forward.
* ``memory``: forward memory per pixel of the engine's forward (peak RSS minus RSS before
  it, allocator set up, at ``--memory-sizes``) per backend and precision, and the slope
  between the sizes: the figures behind the families' ``bytes_per_pixel``.
* ``gpu``: only where CUDA is present: time, peak GPU memory and PSNR against fp32 for
  each precision.

    python benchmarks/engine.py                                  # all (hours on 2 cores)
    python benchmarks/engine.py --only throughput --configs mirnetv2_real_denoising
    python benchmarks/engine.py --only big --big-width 16
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

DEFAULT_CONFIGS = ["mprnet_deblurring", "mprnet_denoising", "mprnet_deraining",
                   "mirnet_denoising", "mirnetv2_real_denoising"]
SECTIONS = ("throughput", "big", "memory", "gpu")
GIB = 2**30


# --------------------------------------------------------------------------- child side


def _rss_now() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _network(case: dict):
    from imgrestore import archs
    from imgrestore.testing import keyseed_

    spec = archs.spec(case["config"])
    if case.get("n_feat"):
        kwargs = dict(spec.kwargs)
        key = "n_feat"
        for other in ("scale_unetfeats", "scale_orsnetfeats"):  # MPRNet's other widths
            if other in kwargs:
                kwargs[other] = max(4, kwargs[other] * case["n_feat"] // kwargs[key])
        kwargs[key] = case["n_feat"]
        spec = archs.ArchSpec(f"{spec.name}_n{case['n_feat']}", spec.family, kwargs,
                              spec.in_channels, spec.out_channels, spec.scales)
    return keyseed_(archs.build(spec.family, **spec.kwargs)).eval(), spec


def _image(height: int, width: int, channels: int):
    import numpy as np

    return np.random.default_rng(0).random((height, width, channels), dtype=np.float32)


def _child(case: dict) -> dict:
    import torch

    from imgrestore import archs
    from imgrestore.engine.restorer import Restorer, forward_bytes_per_pixel

    torch.set_num_threads(case["threads"])
    net, spec = _network(case)
    image = _image(case["height"], case["width_px"], spec.in_channels)
    if case["mode"] == "forward":  # one forward through the engine, as the planner sees it
        restorer = Restorer(net, spec, device="cpu", tile=0, backend=case["backend"],
                            precision=case["precision"], cache_dir=case["cache"])
        x = torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()
        if case.get("warm"):
            restorer.forward(x)
            return {"rss_before": 0}
        before = _rss_now()
        restorer.forward(x)
        return {"rss_before": before}
    before = _rss_now()
    result: dict = {"rss_before": before}
    if case["mode"] == "plain":
        x = torch.from_numpy(image).permute(2, 0, 1)[None]
        start = time.perf_counter()
        with torch.inference_mode():
            archs.restore(net, spec, x)
        result["seconds"] = time.perf_counter() - start
        return result
    tiles = []
    per_px = forward_bytes_per_pixel(archs.spec(case["config"]))
    restorer = Restorer(net, spec, device="cpu", tile=case["tile"], overlap=case["overlap"],
                        max_memory=case.get("max_memory"), bytes_per_pixel=per_px,
                        backend=case.get("backend", "auto"))
    result["tile"] = restorer.plan_tile(case["height"], case["width_px"])
    start = time.perf_counter()
    restorer(image, progress=lambda done, total: tiles.append(total))
    result["seconds"] = time.perf_counter() - start
    result["tiles"] = tiles[-1]
    return result


def _gpu_child(case: dict) -> dict:
    import numpy as np
    import torch

    from imgrestore.engine.restorer import Restorer

    net, spec = _network(case)
    image = _image(case["height"], case["width_px"], spec.in_channels)
    rows, reference = {}, None
    for precision in ("fp32", "fp16", "bf16"):
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            continue
        restorer = Restorer(net, spec, device="cuda", precision=precision, tile=case["tile"])
        restorer(image[:256, :256])  # warm-up
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out = restorer(image)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        if reference is None:
            reference = out
        mse = float(np.mean((out.astype(np.float64) - reference) ** 2))
        rows[precision] = {
            "seconds": seconds,
            "peak_gib": torch.cuda.max_memory_allocated() / GIB,
            "psnr": math.inf if mse == 0 else 10 * math.log10(1 / mse),
        }
    return rows


# -------------------------------------------------------------------------- parent side


def _run(case: dict) -> dict:
    """Run ``case`` in a fresh process; its result plus ``peak_gib`` (peak RSS)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(case)],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"case {case} failed with status {status}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_gib"] = usage.ru_maxrss * 1024 / GIB  # ru_maxrss is in KiB on Linux
    return result


def _throughput(args: argparse.Namespace) -> None:
    size = args.size
    mp = size * size / 1e6
    print(f"\n== throughput: {size}x{size} ({mp:.2f} MP), CPU, {args.threads} threads ==")
    header = (f"{'config':26} {'mode':12} {'tile':>10} {'tiles':>5} {'s':>8} {'MP/s':>7} "
              f"{'peak GiB':>8} {'time':>6}")
    print(header)
    print("-" * len(header))
    for config in args.configs:
        base = dict(config=config, height=size, width_px=size, threads=args.threads,
                    overlap=args.overlap)
        plain = _run({**base, "mode": "plain"})
        rows = [("plain", plain)]
        for tile in ["auto", *args.tile]:
            rows.append((f"tiled {tile}", _run({**base, "mode": "tiled", "tile": tile})))
        for mode, r in rows:
            tile = r.get("tile")
            tile_text = "-" if mode == "plain" else "whole" if tile is None else (
                "x".join(map(str, tile)) if isinstance(tile, list) else str(tile))
            print(f"{config:26} {mode:12} {tile_text:>10} {r.get('tiles', 1):>5} "
                  f"{r['seconds']:8.1f} {mp / r['seconds']:7.4f} {r['peak_gib']:8.2f} "
                  f"{r['seconds'] / plain['seconds']:6.2f}")
        sys.stdout.flush()


def _big(args: argparse.Namespace) -> None:
    width = round(math.sqrt(args.big_mp * 1e6 * 3 / 2))
    height = round(width * 2 / 3)
    narrow = f", narrow copy n_feat={args.big_width}" if args.big_width else ""
    print(f"\n== big: {width}x{height} ({width * height / 1e6:.1f} MP), tile=auto, "
          f"{args.big_config}{narrow} ==")
    r = _run(dict(config=args.big_config, n_feat=args.big_width, height=height,
                  width_px=width, threads=args.threads, overlap=args.overlap,
                  mode="tiled", tile="auto"))
    print(f"tile {r['tile']}, {r['tiles']} tiles, {r['seconds']:.0f} s, "
          f"{width * height / 1e6 / r['seconds']:.3f} MP/s, peak RSS {r['peak_gib']:.2f} GiB "
          f"(RSS before the run {r['rss_before'] / GIB:.2f} GiB; goal < 3.73 GiB = 4 GB)")


def _memory(args: argparse.Namespace) -> None:
    """Peak RSS minus RSS before one engine forward (allocator set up, model ready), per
    size; the per-pixel slope between the sizes leaves out what does not grow with the
    image (a compiled model's own copy of the weights)."""
    import tempfile

    print(f"\n== memory: forward bytes per pixel (peak RSS - RSS before), sizes "
          f"{args.memory_sizes}, engine forward with the allocator set up ==")
    cache = tempfile.mkdtemp(prefix="imgrestore-memory-")
    for config in args.configs:
        for backend in args.memory_backends:
            for precision in args.memory_precisions:
                base = dict(config=config, threads=args.threads, mode="forward",
                            backend=backend, precision=precision, cache=cache)
                used = []
                for size in args.memory_sizes:
                    case = dict(base, height=size, width_px=size)
                    if backend == "openvino":  # convert and compile first, elsewhere
                        _run({**case, "warm": True})
                    r = _run(case)
                    used.append((size * size, r["peak_gib"] * GIB - r["rss_before"]))
                cells = "   ".join(f"{int(px ** 0.5)}²: {b / px:6.0f} B/px" for px, b in used)
                (p0, b0), (p1, b1) = used[0], used[-1]
                slope = (b1 - b0) / (p1 - p0) if p1 > p0 else b0 / p0
                print(f"{config:24} {backend:8} {precision:4}  {cells}   slope {slope:6.0f} B/px",
                      flush=True)


def _gpu(args: argparse.Namespace) -> None:
    import torch

    if not torch.cuda.is_available():
        print("\n== gpu: skipped (no CUDA device) ==")
        return
    size = args.size
    print(f"\n== gpu: {torch.cuda.get_device_name()} {size}x{size}, tile=auto ==")
    for config in args.configs:
        case = dict(config=config, height=size, width_px=size, tile="auto")
        proc = subprocess.run([sys.executable, __file__, "--gpu-child", json.dumps(case)],
                              capture_output=True, text=True, check=True)
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
        for precision, r in rows.items():
            print(f"{config:26} {precision:5} {r['seconds']:7.2f} s "
                  f"{size * size / 1e6 / r['seconds']:7.2f} MP/s  peak {r['peak_gib']:.2f} GiB"
                  f"  PSNR vs fp32 {r['psnr']:.1f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    parser.add_argument("--size", type=int, default=1024, help="side of the square image")
    parser.add_argument("--tile", nargs="*", default=[], help="extra fixed tile sizes")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--big-mp", type=float, default=24.0)
    parser.add_argument("--big-config", default="mirnetv2_real_denoising")
    parser.add_argument("--big-width", type=int, default=0, help="narrow n_feat (0: real)")
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--memory-backends", nargs="+", default=["torch", "openvino"])
    parser.add_argument("--memory-precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--gpu-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    if args.gpu_child:
        print(json.dumps(_gpu_child(json.loads(args.gpu_child))))
        return
    args.tile = [int(t) for t in args.tile]
    print(f"imgrestore engine benchmark; {os.cpu_count()} CPUs; one fresh process per case")
    for section in SECTIONS:
        if section in args.only:
            globals()[f"_{section}"](args)


if __name__ == "__main__":
    main()
