"""Networks: MPRNet, MIRNet and MIRNet-v2, checkpoint-exact with the official code.

One family per folder (:mod:`.mprnet`, :mod:`.mirnet`, :mod:`.mirnetv2`): the network,
readable beside its paper (``network.py``, torch), and a
:class:`~.descriptor.FamilyDescriptor` holding everything else the project knows about
the family (``descriptor.py``, torch-free). :mod:`.registry` lists the families and
looks configurations up by name; :mod:`.detection` recognises state dicts. Nothing
outside this package asks which family it holds: it reads the descriptor.

This package is torch-free; networks are imported only by :func:`create` / :func:`build`.
It imports nothing else of imgrestore.

>>> from imgrestore import archs
>>> net = archs.create("mirnetv2_real_denoising")     # official forward
>>> image = archs.restore(net, archs.spec("mirnetv2_real_denoising"), x)  # any H x W
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgrestore.archs.descriptor import FamilyDescriptor
from imgrestore.archs.registry import (
    COMPACT_SPECS,
    DEFAULT_FAMILY,
    FAMILIES,
    SPECS,
    ArchSpec,
    FamilyName,
    build,
    create,
    family,
    register,
    spec,
    unregister,
)

if TYPE_CHECKING:
    import torch
    from torch import nn


def restore(net: nn.Module, arch: ArchSpec | FamilyDescriptor, x: torch.Tensor) -> torch.Tensor:
    """Run ``net`` on an image batch of any height and width; return the final image.

    ``x`` is ``(N, C, H, W)`` float in [0, 1]. It is reflect-padded bottom/right to the
    family's multiple (as the official demos do), run, and cropped back to ``H x W``.
    The output is not clamped. Super-resolution inputs must already be upsampled.
    """
    from imgrestore.archs.sizing import forward_padded

    descriptor = arch.descriptor if isinstance(arch, ArchSpec) else arch
    return forward_padded(net, x, descriptor.size_multiple,
                          final_of_stages=descriptor.returns_stages)


__all__ = [
    "COMPACT_SPECS",
    "DEFAULT_FAMILY",
    "FAMILIES",
    "SPECS",
    "ArchSpec",
    "FamilyDescriptor",
    "FamilyName",
    "build",
    "create",
    "family",
    "register",
    "restore",
    "spec",
    "unregister",
]
