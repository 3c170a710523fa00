"""Validation during training: mean PSNR and SSIM of a network on the validation set.

The images are whole (cropped by the set, padded to the family's multiple by
:func:`imgrestore.archs.restore`), run on the training device under the run's mixed
precision, and measured with :mod:`imgrestore.training.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore import archs
from imgrestore.training import metrics
from imgrestore.training.data import ValSet
from imgrestore.training.recipe import ValSection


@torch.no_grad()
def measure(net: nn.Module, family: archs.FamilyDescriptor, valset: ValSet, val: ValSection,
            device: torch.device,
            autocast: Callable[[], AbstractContextManager[Any]] = nullcontext,
            ) -> dict[str, float]:
    """``{"psnr": ..., "ssim": ...}``, means over ``valset`` (``net`` in eval mode);
    ``autocast`` makes the mixed-precision context of each forward."""
    psnrs, ssims = [], []
    for i in range(len(valset)):
        sample = valset[i]
        inp = sample["input"][None].to(device)
        with autocast():
            out = archs.restore(net, family, inp)
        out = metrics.prepare(out.float(), y_channel=val.y_channel,
                              crop_border=val.crop_border, quantize=val.quantize)
        ref = metrics.prepare(sample["target"][None].to(device), y_channel=val.y_channel,
                              crop_border=val.crop_border, quantize=val.quantize)
        psnrs.append(metrics.psnr(out, ref))
        ssims.append(metrics.ssim(out, ref))
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}


__all__ = ["measure"]
