"""Every low precision a family declares safe keeps its output within HALF_MIN_PSNR of fp32.

Measured on the CPU under ``torch.autocast`` (the engine's own mechanism) on a real photo
crop: with key-seeded weights in narrow copies of each family (every block of the released
networks, fewer channels; at full released width, measured once on 64 px: fp16 68.0 dB
MPRNet-deraining, 74.4 MIRNet, 73.5 MIRNet-v2), and with the trained weights of the
built-in models. A GPU rounds fp16 the same way; range overflow (inf/NaN) is caught by the
engine, which recomputes such tiles in fp32.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from imgrestore import archs
from imgrestore.archs.descriptor import HALF_MIN_PSNR
from imgrestore.imaging import read_image
from imgrestore.testing import keyseed_

PHOTOS = sorted((Path(__file__).parents[1] / "data" / "photos").glob("*.jpg"))
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _crop(size: int = 32, channels: int = 3) -> torch.Tensor:
    x = torch.from_numpy(read_image(PHOTOS[0]).pixels[:size, :size]).permute(2, 0, 1)[None]
    return x.repeat(1, channels // 3, 1, 1)


def _psnr_vs_fp32(net: torch.nn.Module, spec: archs.ArchSpec, x: torch.Tensor,
                  precision: str) -> float:
    with torch.inference_mode():
        reference = archs.restore(net, spec, x).clamp(0, 1)
        with torch.autocast("cpu", dtype=DTYPES[precision]):
            low = archs.restore(net, spec, x).float().clamp(0, 1)
    assert torch.isfinite(low).all()
    mse = float(((low - reference) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def _declared() -> list[tuple[str, str]]:
    return sorted({(name, p) for name, family in archs.FAMILIES.items()
                   for hints in family.devices.values() for p in hints.safe_precisions})


#: Narrow copies of the released networks (same blocks and depth, fewer channels).
NARROW = {
    "mprnet": dict(n_feat=16, scale_unetfeats=8, scale_orsnetfeats=8, num_cab=8),
    "mirnet": dict(n_feat=16),
    "mirnetv2": dict(n_feat=16, chan_factor=1.5),
}


def test_every_family_declares_a_half_precision_for_cuda() -> None:
    assert {name for name, p in _declared() if p == "fp16"} == set(archs.FAMILIES)


@pytest.mark.parametrize(("family", "precision"), _declared())
def test_declared_precisions_are_close_to_fp32(family: str, precision: str) -> None:
    spec = archs.ArchSpec(f"narrow_{family}", family, NARROW[family])
    net = keyseed_(archs.build(family, **NARROW[family])).eval()
    assert _psnr_vs_fp32(net, spec, _crop(), precision) >= HALF_MIN_PSNR


@pytest.mark.parametrize("name", sorted(archs.COMPACT_SPECS))
def test_built_in_trained_weights_are_close_to_fp32_in_fp16(name: str) -> None:
    from imgrestore.zoo.cards import CARDS
    from imgrestore.zoo.loading import builtin_dir, load_model_dir

    card = next(c for c in CARDS.values() if c.builtin and c.config == name)
    loaded = load_model_dir(builtin_dir(card))
    assert _psnr_vs_fp32(loaded.net, loaded.spec, _crop(48), "fp16") >= HALF_MIN_PSNR
