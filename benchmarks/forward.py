"""CPU forward cost of each network family: our entry point against a plain eager forward.

For one configuration per family (or those named with --configs) it prints

- the time of one forward at 256 x 256 (median of --repeat runs after a warm-up), and
- the peak resident memory of a fresh process doing one forward at 512 x 512,

for two ways of running the same module with the same weights:

- ``eager``: the baseline, ``net(x)`` under ``torch.no_grad()`` (what the official demos do);
- ``ours``: :func:`imgrestore.archs.restore` under ``torch.inference_mode()``.

Figures are ratios against the baseline measured in the same run (timings on a shared
2-core machine are noisy: +-30%).

    python benchmarks/forward.py                 # one config per family
    python benchmarks/forward.py --configs mprnet_deraining --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

DEFAULT_CONFIGS = ["mprnet_deblurring", "mprnet_deraining", "mirnet_denoising",
                   "mirnetv2_real_denoising"]


def _child(config: str, mode: str, size: int, repeat: int, threads: int) -> None:
    """Run in a fresh process: build, forward, report seconds (peak RSS is read by the parent)."""
    import torch

    from imgrestore import archs
    from imgrestore.testing import fixed_input, keyseed_

    torch.set_num_threads(threads)
    spec = archs.spec(config)
    net = keyseed_(archs.create(config)).eval()
    x = fixed_input((1, spec.in_channels, size, size))

    def once() -> None:
        if mode == "eager":
            with torch.no_grad():
                net(x)
        else:
            with torch.inference_mode():
                archs.restore(net, spec, x)

    seconds = []
    for i in range(repeat + (1 if repeat > 1 else 0)):
        start = time.perf_counter()
        once()
        if repeat == 1 or i > 0:  # the first of several runs is a warm-up
            seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(seconds)}))


def _seconds(config: str, mode: str, size: int, repeat: int, threads: int) -> float:
    """Median forward seconds, measured in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", config, mode, str(size), str(repeat), str(threads)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def _peak_rss_gib(config: str, mode: str, size: int, threads: int) -> float:
    """Peak resident memory of a fresh process doing one forward (from wait4's rusage)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", config, mode, str(size), "1", str(threads)],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"{config} {mode}: child failed with status {status}")
    return usage.ru_maxrss / 2**20  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs at 256 x 256")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        config, mode, size, repeat, threads = args.child
        _child(config, mode, int(size), int(repeat), int(threads))
        return

    print(f"CPU, {args.threads} threads; time: median of {args.repeat} forwards at 256x256; "
          "memory: peak RSS of a fresh process, one forward at 512x512")
    header = f"{'config':34} {'mode':6} {'256² s':>8} {'ratio':>6} {'512² GiB':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for config in args.configs:
        results = {
            mode: (
                _seconds(config, mode, 256, args.repeat, args.threads),
                _peak_rss_gib(config, mode, 512, args.threads),
            )
            for mode in ("eager", "ours")
        }
        base_s, base_m = results["eager"]
        for mode in ("eager", "ours"):
            s, m = results[mode]
            print(f"{config:34} {mode:6} {s:8.2f} {s / base_s:6.2f} {m:9.2f} {m / base_m:6.2f}")



if __name__ == "__main__":
    main()
