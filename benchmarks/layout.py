"""CPU forward time in the default (NCHW) layout versus channels-last, per network family.

    python benchmarks/layout.py [--size 256] [--repeat 3] [--configs NAME ...]

Prints, per configuration, the best of ``--repeat`` timed forwards (after one warm-up) in
each layout and their ratio. The CPU layout each family descriptor declares
(``devices["cpu"].layout``, imgrestore/archs/*/descriptor.py) follows these figures:
channels-last on the CPU only where it is faster.
Weights are untrained (time does not depend on them).
"""

from __future__ import annotations

import argparse
import time

DEFAULT_CONFIGS = ("mprnet_deblurring", "mprnet_deraining", "mirnet_denoising",
                   "mirnetv2_real_denoising", "mirnetv2_compact")


def best_time(net, x, repeat: int) -> float:
    import torch

    with torch.inference_mode():
        net(x)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    args = parser.parse_args(argv)
    import torch

    from imgrestore import archs

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.size}x{args.size}, best of {args.repeat}\n")
    print("| configuration | NCHW (s) | channels-last (s) | channels-last / NCHW |")
    print("| --- | --- | --- | --- |")
    for name in args.configs:
        spec = archs.spec(name)
        x = torch.rand(1, spec.in_channels, args.size, args.size)
        plain = best_time(archs.create(name).eval(), x, args.repeat)
        net = archs.create(name).eval().to(memory_format=torch.channels_last)
        last = best_time(net, x.contiguous(memory_format=torch.channels_last), args.repeat)
        print(f"| {name} | {plain:.2f} | {last:.2f} | {last / plain:.2f} |", flush=True)


if __name__ == "__main__":
    main()
