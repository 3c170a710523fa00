"""Side by side with the official code: every backend and precision, and the CLI on whole photos.

The official networks run from local checkouts of swz30/MPRNet, swz30/MIRNet and
swz30/MIRNetv2 (``--official DIR``; fetch them to measure, never commit their code). Both
sides get the same key-seeded weights (:mod:`imgrestore.testing`; our state dict loads into
the official modules unchanged) and the same input, a crop of a real photo.

Sections (``--only`` picks some; all but ``profile`` by default):

* ``roofline``: a dense 64->64 3x3 convolution (channels-last, the fastest layout here):
  the GFLOP/s this CPU reaches in fp32 and in bf16, the ceiling for the rows below.
* ``forward``: per configuration, one forward at ``--size``² through the official code
  (eager fp32, ``torch.no_grad``, the system allocator: as its demos run) and through our
  engine (``Restorer.forward``) with each backend and precision, plus the official code
  with our allocator set-up. Two long-lived worker processes (the official one keeps the
  system allocator), requests interleaved over ``--repeat`` rounds; medians. Per row: time
  against the official forward, max abs difference and PSNR against its output, GFLOP/s
  and share of the roofline, the first call (conversion, compilation), system time and
  minor page faults.
* ``photo``: the CLI end to end on a ``--photo-mp`` megapixel photo: ``imgrestore denoise``
  (MIRNet-v2) and ``imgrestore deblur`` (MPRNet) with their default models, against the
  official demo's whole-image forward of the same photo (fresh processes; wall time, peak
  RSS, difference of the 8-bit outputs).
* ``big``: ``imgrestore denoise`` of a 6000x4000 photo with the real MIRNet-v2: wall time
  and peak RSS.
* ``profile``: op-by-op ``torch.profiler`` tables of the official and our forward of one
  configuration (``--profile-config``), with allocation counts.

    python benchmarks/official.py --official /work/official                  # ~50 min, 2 cores
    python benchmarks/official.py --official DIR --only forward --configs mprnet_deraining
    python benchmarks/official.py --official DIR --only profile --profile-config mprnet_deblurring

Pause other work while it runs (a quiet machine; the load is printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIGS = ["mirnetv2_real_denoising", "mirnet_denoising", "mprnet_deraining",
                   "mprnet_deblurring"]
#: Official network per configuration: file under --official, class, extra import root.
OFFICIAL = {
    "mirnetv2_real_denoising": ("MIRNetv2/basicsr/models/archs/mirnet_v2_arch.py", "MIRNet_v2"),
    "mirnet_denoising": ("MIRNet/networks/MIRNet_model.py", "MIRNet"),
    "mprnet_deraining": ("MPRNet/Deraining/MPRNet.py", "MPRNet"),
    "mprnet_deblurring": ("MPRNet/Deblurring/MPRNet.py", "MPRNet"),
    "mprnet_denoising": ("MPRNet/Denoising/MPRNet.py", "MPRNet"),
}
#: Our variants: label -> Restorer options (``official`` runs the official module).
VARIANTS = {
    "torch fp32": dict(backend="torch", precision="fp32"),
    "openvino fp32": dict(backend="openvino", precision="fp32"),
    "torch bf16": dict(backend="torch", precision="bf16"),
    "openvino bf16": dict(backend="openvino", precision="bf16"),
    "compile fp32": dict(backend="torch", precision="fp32", compile=True),
}
SECTIONS = ("roofline", "forward", "photo", "big", "profile")
GIB = 2**30


# ------------------------------------------------------------------------ both sides


def load_official(official_dir: Path, config: str):
    """The official network class of ``config``, imported from its file in the checkout."""
    relative, class_name = OFFICIAL[config]
    path = Path(official_dir) / relative
    if config.startswith("mirnet_"):  # MIRNet imports utils.antialias; skip utils/__init__
        stub = types.ModuleType("utils")
        stub.__path__ = [str(path.parent.parent / "utils")]
        sys.modules.setdefault("utils", stub)
    spec = importlib.util.spec_from_file_location(f"official_{config}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def build_pair(official_dir: Path, config: str):
    """(official network, our network) with the same key-seeded weights, in eval mode."""
    import torch

    from imgrestore import archs
    from imgrestore.testing import keyseed_

    ours = keyseed_(archs.create(config)).eval()
    official = load_official(official_dir, config)(**archs.spec(config).kwargs).eval()
    official.load_state_dict(ours.state_dict(), strict=True)
    for p in (*ours.parameters(), *official.parameters()):
        p.requires_grad_(False)
    torch.manual_seed(0)
    return official, ours


def final(out):
    return out[0] if isinstance(out, (list, tuple)) else out


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------ worker side


class Worker:
    """In a child process: answers timing requests for one configuration, one per line."""

    def __init__(self, setup: dict) -> None:
        import numpy as np
        import torch

        torch.set_num_threads(setup["threads"])
        self.setup = setup
        self.official, self.ours = build_pair(Path(setup["official"]), setup["config"])
        self.x = torch.from_numpy(np.load(setup["input"]))
        self.runners: dict = {}

    def runner(self, variant: str):
        if variant not in self.runners:
            self.runners[variant] = self._make(variant)
        return self.runners[variant]

    def _make(self, variant: str):
        import torch

        if variant == "official":
            def run(x):
                with torch.no_grad():
                    return final(self.official(x))
            return run
        if variant == "roofline fp32" or variant == "roofline bf16":
            return _roofline_runner(variant.endswith("bf16"))
        from imgrestore import archs
        from imgrestore.engine.restorer import Restorer

        options = {} if variant == "default" else VARIANTS[variant]
        restorer = Restorer(self.ours, archs.spec(self.setup["config"]), device="cpu", tile=0,
                            cache_dir=self.setup["cache"], **options)
        if variant == "default":
            self.resolved = f"{restorer.backend} {restorer.precision}"
        return restorer.forward

    def serve(self) -> None:
        import numpy as np

        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            run, first = self.runner(request["variant"]), None
            if request["variant"] not in getattr(self, "_warm", set()):
                start = time.perf_counter()
                run(self.x)
                first = time.perf_counter() - start
                self._warm = getattr(self, "_warm", set()) | {request["variant"]}
            before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            y = run(self.x)
            seconds = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_SELF)
            if request.get("save"):
                np.save(request["save"], y.float().numpy())
            print(json.dumps({
                "seconds": seconds, "first": first, "sys": after.ru_stime - before.ru_stime,
                "faults": after.ru_minflt - before.ru_minflt,
                "resolved": getattr(self, "resolved", None),
            }), flush=True)


def _roofline_runner(bf16: bool):
    import torch

    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).eval()
    conv = conv.to(memory_format=torch.channels_last)
    x = torch.rand(1, 64, 256, 256).contiguous(memory_format=torch.channels_last)

    def run(_ignored):
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            return conv(x)
    return run


class Child:
    """The parent's handle on a :class:`Worker` process."""

    def __init__(self, setup: dict, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(setup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})}, cwd=ROOT,
        )
        self._read()

    def _read(self) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"worker exited with {self.proc.wait()}")
            if line.startswith("{"):
                return json.loads(line)

    def request(self, variant: str, save: str | None = None) -> dict:
        self.proc.stdin.write(json.dumps({"variant": variant, "save": save}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


# ------------------------------------------------------------------------ parent side


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            name = next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return f"{name}, {os.cpu_count()} CPUs, {ram:.0f} GiB RAM"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("torch", "openvino", "numpy"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} -")
    return ", ".join(found)


def photo_array(photos: Path, height: int, width: int):
    """A ``height x width`` float32 RGB crop (resized first when needed) of a real photo."""
    import numpy as np
    from PIL import Image

    files = sorted(p for p in Path(photos).glob("*") if p.suffix.lower() in (".png", ".jpg"))
    if not files:
        raise SystemExit(f"no photos in {photos} (make them: python train/builtin/photos.py)")
    image = Image.open(max(files, key=lambda p: Image.open(p).size[0])).convert("RGB")
    scale = max(height / image.height, width / image.width)
    if scale > 1:
        image = image.resize((math.ceil(image.width * scale), math.ceil(image.height * scale)),
                             Image.BICUBIC)
    top, left = (image.height - height) // 2, (image.width - width) // 2
    crop = image.crop((left, top, left + width, top + height))
    return np.asarray(crop, dtype=np.float32) / 255.0


def psnr(a, b) -> float:
    import numpy as np

    a, b = np.clip(a, 0, 1).astype(np.float64), np.clip(b, 0, 1).astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def gmacs(config: str, size: int) -> float:
    """Multiply-accumulates of one forward at ``size``² (counted on the meta device)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from imgrestore import archs

    with torch.device("meta"):
        net = archs.create(config)
        x = torch.empty(1, archs.spec(config).in_channels, size, size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return counter.get_total_flops() / 2e9


def roofline(args, tmp: Path) -> dict[str, float]:
    import numpy as np

    np.save(tmp / "unused.npy", np.zeros((1, 3, 8, 8), np.float32))
    child = Child(dict(config="mprnet_deraining", official=str(args.official),
                       input=str(tmp / "unused.npy"), threads=args.threads,
                       cache=str(tmp / "cache")))
    flops = 2 * 64 * 64 * 9 * 256 * 256
    best = {"fp32": math.inf, "bf16": math.inf}
    for _ in range(max(3, args.repeat)):
        for precision in best:
            best[precision] = min(best[precision],
                                  child.request(f"roofline {precision}")["seconds"])
    child.close()
    rates = {p: flops / s / 1e9 for p, s in best.items()}
    print(f"\n== roofline: dense 64->64 3x3 conv, 256², channels-last, {args.threads} threads, "
          f"best of {max(3, args.repeat)} ==")
    for p, rate in rates.items():
        print(f"{p}: {rate:7.1f} GFLOP/s")
    return rates


def forward_section(args, tmp: Path, rates: dict[str, float]) -> None:
    import numpy as np

    size = args.size
    print(f"\n== forward: {size}x{size} crop of a real photo, {args.threads} threads, "
          f"{args.repeat} interleaved rounds, medians ==")
    for config in args.configs:
        x = photo_array(args.photos, size, size).transpose(2, 0, 1)[None].copy()
        np.save(tmp / "input.npy", x)
        setup = dict(config=config, official=str(args.official), input=str(tmp / "input.npy"),
                     threads=args.threads, cache=str(tmp / "cache"))
        print(f"\n{config} (load {load_avg()})", flush=True)
        official = Child(setup, env={"IMGRESTORE_MALLOC": "system"})
        ours = Child(setup)
        rows = [("official", official, "official"), ("official, our allocator", ours, "official")]
        rows += [(v, ours, v) for v in VARIANTS if args.compile or "compile" not in v]
        results: dict[str, list[dict]] = {label: [] for label, _, _ in rows}
        for round_ in range(args.repeat):
            for label, child, variant in rows:
                save = str(tmp / f"{label}.npy") if round_ == 0 else None
                results[label].append(child.request(variant, save))
        default = ours.request("default")["resolved"]
        official.close()
        ours.close()
        _print_forward(config, size, rows, results, tmp, rates, default)


def _print_forward(config, size, rows, results, tmp, rates, default) -> None:
    import numpy as np

    work = 2e9 * gmacs(config, size)
    base = statistics.median(r["seconds"] for r in results["official"])
    reference = np.load(tmp / "official.npy")
    header = (f"{'variant':26} {'s':>7} {'vs official':>11} {'max diff':>9} {'PSNR dB':>8} "
              f"{'GFLOP/s':>8} {'roof':>5} {'first s':>8} {'sys s':>6} {'faults':>9}")
    print(header)
    print("-" * len(header))
    for label, _, _ in rows:
        runs = results[label]
        seconds = statistics.median(r["seconds"] for r in runs)
        y = np.load(tmp / f"{label}.npy")
        diff = float(np.abs(y - reference).max())
        rate = work / seconds / 1e9
        roof = rates.get("bf16" if "bf16" in label else "fp32", math.nan)
        first = runs[0]["first"]
        print(f"{label:26} {seconds:7.2f} {seconds / base:11.2f} {diff:9.1e} "
              f"{psnr(y, reference):8.1f} {rate:8.0f} {rate / roof:5.0%} "
              f"{first if first is not None else math.nan:8.1f} "
              f"{statistics.median(r['sys'] for r in runs):6.2f} "
              f"{int(statistics.median(r['faults'] for r in runs)):9d}")
    print(f"default path (backend auto, precision auto) = {default}; "
          f"{work / 2e9:.0f} GMAC per forward; load {load_avg()}", flush=True)


# ------------------------------------------------------------------------ whole photos


def run_measured(command: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (GiB) of ``command`` in a fresh process; its stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({status}):\n{err}")
    return seconds, usage.ru_maxrss * 1024 / GIB, err


def make_home(home: Path, configs: list[str]) -> None:
    """An IMGRESTORE_HOME whose default models are key-seeded official-format checkpoints."""
    import torch

    from imgrestore import archs
    from imgrestore.testing import keyseed_

    for config in configs:
        if (home / "models" / config).is_dir():
            continue
        net = keyseed_(archs.create(config))
        path = home.parent / f"{config}.pth"
        key = "params" if config.startswith("mirnetv2") else "state_dict"
        torch.save({key: net.state_dict()}, path)
        subprocess.run([sys.executable, "-m", "imgrestore", "models", "import", str(path),
                        "--as", config], env=cli_env(home), check=True, capture_output=True)
        path.unlink()


def cli_env(home: Path, **extra: str) -> dict:
    env = {**os.environ, "IMGRESTORE_HOME": str(home), "IMGRESTORE_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    env.pop("IMGRESTORE_BACKEND", None)
    return {k: v for k, v in {**env, **extra}.items() if v != ""}


def save_photo(path: Path, height: int, width: int, photos: Path) -> None:
    import numpy as np
    from PIL import Image

    pixels = photo_array(photos, height, width)
    Image.fromarray((pixels * 255 + 0.5).astype(np.uint8)).save(path)


def photo_section(args, tmp: Path) -> None:
    import numpy as np
    from PIL import Image

    width = round(math.sqrt(args.photo_mp * 1e6 * 3 / 2) / 8) * 8
    height = round(width * 2 / 3 / 8) * 8
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    make_home(home, ["mirnetv2_real_denoising", "mprnet_deblurring"])
    photo = tmp / "photo.png"
    save_photo(photo, height, width, args.photos)
    print(f"\n== photo: {width}x{height} ({width * height / 1e6:.2f} MP) PNG, CLI end to end "
          f"(fresh processes: wall time includes start-up, loading, decode and encode) ==")
    for task, config in (("denoise", "mirnetv2_real_denoising"), ("deblur", "mprnet_deblurring")):
        print(f"\n{task} ({config}; load {load_avg()})", flush=True)
        official_out = tmp / f"{task}-official.png"
        runs = [("official demo, whole image, fp32",
                 [sys.executable, __file__, "--demo", config, str(args.official), str(photo),
                  str(official_out), str(args.threads)], {"IMGRESTORE_MALLOC": "system"})]
        cli = [sys.executable, "-m", "imgrestore", task, str(photo), "--overwrite", "-o"]
        runs += [
            ("imgrestore, first run (converts)", [*cli, "{out}"], {}),
            ("imgrestore (default)", [*cli, "{out}"], {}),
            ("imgrestore --precision bf16", [*cli, "{out}", "--precision", "bf16"], {}),
            ("imgrestore --backend torch", [*cli, "{out}", "--backend", "torch"], {}),
            ("  same, system allocator", [*cli, "{out}", "--backend", "torch"],
             {"IMGRESTORE_MALLOC": "system"}),
        ]
        base = None
        reference = None
        for i, (label, command, extra) in enumerate(runs):
            out = tmp / f"{task}-{i}.png"
            command = [str(out) if c == "{out}" else c for c in command]
            seconds, peak, _ = run_measured(command, cli_env(home, **extra))
            image = np.asarray(Image.open(official_out if i == 0 else out), dtype=np.float64)
            if i == 0:
                base, reference = seconds, image
            diff = np.abs(image - reference).max()
            quality = psnr(image / 255, reference / 255)
            print(f"{label:36} {seconds:8.1f} s {seconds / base:6.2f} x  peak {peak:5.2f} GiB"
                  f"  max diff {diff:3.0f}/255  PSNR {quality:5.1f} dB", flush=True)


def big_section(args, tmp: Path) -> None:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    make_home(home, ["mirnetv2_real_denoising"])
    photo = tmp / "big.png"
    save_photo(photo, 4000, 6000, args.photos)
    print(f"\n== big: 6000x4000 (24.0 MP) PNG, imgrestore denoise, the real MIRNet-v2, "
          f"default options (load {load_avg()}) ==", flush=True)
    command = [sys.executable, "-m", "imgrestore", "denoise", str(photo), "--overwrite",
               "-o", str(tmp / "big-out.png"), *args.big_options]
    seconds, peak, err = run_measured(command, cli_env(home))
    print(f"wall {seconds:.0f} s ({seconds / 60:.1f} min), {24e6 / seconds / 1e6:.3f} MP/s, "
          f"peak RSS {peak:.2f} GiB (goal: at most 3.73 GiB = 4 GB); load {load_avg()}")


def demo(config: str, official_dir: str, source: str, target: str, threads: str) -> None:
    """The official demo's way: whole image, reflect-pad to the multiple, forward, clamp."""
    import numpy as np
    import torch
    import torch.nn.functional as F  # noqa: N812
    from PIL import Image

    from imgrestore import archs

    torch.set_num_threads(int(threads))
    official, _ours = build_pair(Path(official_dir), config)
    del _ours
    x = torch.from_numpy(np.asarray(Image.open(source).convert("RGB"), np.float32) / 255)
    x = x.permute(2, 0, 1)[None]
    h, w = x.shape[-2:]
    m = archs.spec(config).multiple_of
    x = F.pad(x, (0, (-w) % m, 0, (-h) % m), "reflect")
    with torch.no_grad():
        y = final(official(x))[..., :h, :w].clamp(0, 1)
    pixels = (y[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(target)


def profile_section(args) -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from imgrestore.engine import allocator

    allocator.configure()
    torch.set_num_threads(args.threads)
    official, ours = build_pair(args.official, args.profile_config)
    x = torch.from_numpy(photo_array(args.photos, args.size, args.size)).permute(2, 0, 1)[None]
    x = x.contiguous()
    for label, net in (("official", official), ("ours (same layout, NCHW)", ours)):
        with torch.no_grad():
            net(x)
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                net(x)
        events = prof.key_averages()
        allocations = sum(e.count for e in events if e.key == "[memory]")
        print(f"\n== profile: {args.profile_config} {label}, {args.size}², "
              f"{allocations} allocation events ==")
        print(events.table(sort_by="self_cpu_time_total", row_limit=args.profile_rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", type=Path, default=Path("/work/official"),
                        help="folder with the MPRNet, MIRNet and MIRNetv2 checkouts")
    parser.add_argument("--photos", type=Path, default=ROOT / "data" / "photos" / "train")
    parser.add_argument("--only", nargs="+", choices=SECTIONS,
                        default=[s for s in SECTIONS if s != "profile"])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS, choices=list(OFFICIAL))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-compile", dest="compile", action="store_false",
                        help="skip torch.compile (minutes per configuration on 2 cores)")
    parser.add_argument("--photo-mp", type=float, default=1.0)
    parser.add_argument("--big-options", nargs="*", default=[],
                        help="extra CLI options for the 24 MP run, e.g. --precision bf16")
    parser.add_argument("--profile-config", default="mprnet_deblurring", choices=list(OFFICIAL))
    parser.add_argument("--profile-rows", type=int, default=25)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--demo", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.worker:
        Worker(json.loads(args.worker)).serve()
        return
    if args.demo:
        demo(*args.demo)
        return
    if not (args.official / "MPRNet").is_dir():
        raise SystemExit(f"{args.official}: no MPRNet checkout here (use --official DIR)")
    print(f"imgrestore vs the official code, {time.strftime('%Y-%m-%d %H:%M')}\n"
          f"{machine()}; {versions()}; load {load_avg()}")
    with tempfile.TemporaryDirectory(prefix="imgrestore-official-") as folder:
        tmp = Path(folder)
        rates: dict[str, float] = {}
        if "roofline" in args.only or "forward" in args.only:
            rates = roofline(args, tmp)
        if "forward" in args.only:
            forward_section(args, tmp, rates)
        if "photo" in args.only:
            photo_section(args, tmp)
        if "big" in args.only:
            big_section(args, tmp)
        if "profile" in args.only:
            profile_section(args)
    print(f"\ndone {time.strftime('%Y-%m-%d %H:%M')}; load {load_avg()}")


if __name__ == "__main__":
    main()
