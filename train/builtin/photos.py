"""Fetch and prepare the photographs the built-in models are trained and measured on.

The photos are the photographs (not the illustrations or renders) of four Debian
wallpaper packages. They are downloaded with ``apt-get download`` (no root needed),
unpacked with ``dpkg -x``, downscaled with Lanczos (a downscaled wallpaper has the
detail density of a typical training photo; at full size most 64-px patches are smooth)
and written as 8-bit PNG::

    python train/builtin/photos.py data/photos   # data/photos/{train,heldout,tuning}

``train/`` (19 photos, long side 1600 px) is all the built-in models ever see;
``heldout/`` (6 photos, long side 768 px, sizes multiples of 8) is what
``benchmarks/builtin.py`` scores them on. ``tuning/train`` and ``tuning/val`` split
``train/`` (links, 16 + 3 photos) for the fine-tuning phases that pick their best
checkpoint on a validation set: the held-out photos never choose a checkpoint. Nothing
here is committed: the packages are GPL/LGPL/CC-BY-SA artwork; only small crops are
(``tests/data/photos``, documented there).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

PLASMA = "plasma-workspace-wallpapers"
MATE = "mate-backgrounds"
LOMIRI = "lomiri-wallpapers-20.04"


def _plasma(name: str) -> tuple[str, str]:
    return PLASMA, f"usr/share/wallpapers/{name}/contents/images"


def _mate(name: str) -> tuple[str, str]:
    return MATE, f"usr/share/backgrounds/mate/nature/{name}.jpg"


def _lomiri(name: str) -> tuple[str, str]:
    return LOMIRI, f"usr/share/backgrounds/{name}.jpg"


#: name -> (package, path in the package; a plasma folder holds several sizes: the
#: largest is taken).
TRAIN = {
    "bythewater": _plasma("BytheWater"), "colorfulcups": _plasma("ColorfulCups"),
    "darkesthour": _plasma("DarkestHour"), "fallenleaf": _plasma("FallenLeaf"),
    "grey": _plasma("Grey"), "onestandsout": _plasma("OneStandsOut"),
    "path": _plasma("Path"), "summer1am": _plasma("summer_1am"),
    "kleiber": _lomiri("Kleiber_by_Lukas_Baubkus"),
    "infinitesea": _lomiri("Infinite-Sea_by_Aury88"),
    "dune": _mate("Dune"), "wood": _mate("Wood"), "aqua": _mate("Aqua"),
    "twowings": _mate("TwoWings"), "storm": _mate("Storm"), "greenmeadow": _mate("GreenMeadow"),
    "raindrops": _mate("RainDrops"), "blinds": _mate("Blinds"), "freshflower": _mate("FreshFlower"),
}
#: Never trained on.
HELDOUT = {
    "kite": _plasma("Kite"), "eveningglow": _plasma("EveningGlow"),
    "coldripple": _plasma("ColdRipple"), "garden": _mate("Garden"),
    "ladybird": _mate("LadyBird"), "yellowflower": _mate("YellowFlower"),
}
TRAIN_SIZE, HELDOUT_SIZE = 1600, 768
#: Training photos the fine-tuning phases validate on instead of training on.
TUNING_VAL = ("bythewater", "colorfulcups", "greenmeadow")


def unpack(packages: set[str], work: Path) -> Path:
    """Download and unpack ``packages`` under ``work``; the unpacked root."""
    root = work / "root"
    root.mkdir(parents=True, exist_ok=True)
    for package in sorted(packages):
        if not list(work.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", package], cwd=work, check=True)
        deb = next(iter(sorted(work.glob(f"{package}_*.deb"))))
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def source_file(root: Path, path: str) -> Path:
    where = root / path
    if where.is_file():
        return where

    def pixels(p: Path) -> int:
        w, _, h = p.stem.partition("x")
        return int(w) * int(h) if w.isdigit() and h.isdigit() else 0

    return max(where.iterdir(), key=pixels)


def prepare(src: Path, dest: Path, long_side: int, multiple: int = 1) -> None:
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        ratio = long_side / max(im.size)
        size = (round(im.width * ratio), round(im.height * ratio))
        im = im.resize(size, Image.Resampling.LANCZOS)
        w, h = (im.width // multiple) * multiple, (im.height // multiple) * multiple
        im.crop((0, 0, w, h)).save(dest, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--debs", type=Path, help="folder for the .deb files (kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.debs or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        root = unpack({p for p, _ in (*TRAIN.values(), *HELDOUT.values())}, work.resolve())
        for group, photos, side, multiple in (("train", TRAIN, TRAIN_SIZE, 1),
                                              ("heldout", HELDOUT, HELDOUT_SIZE, 8)):
            folder = args.dest / group
            folder.mkdir(parents=True, exist_ok=True)
            for name, (_, path) in photos.items():
                prepare(source_file(root, path), folder / f"{name}.png", side, multiple)
                print(f"{group}/{name}.png")
    link_tuning_split(args.dest)


def link_tuning_split(dest: Path) -> None:
    """``dest/tuning/{train,val}``: links into ``dest/train`` (see the module docstring)."""
    for name in TRAIN:
        group = "val" if name in TUNING_VAL else "train"
        link = dest / "tuning" / group / f"{name}.png"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(Path("..", "..", "train", f"{name}.png"))


if __name__ == "__main__":
    main()
