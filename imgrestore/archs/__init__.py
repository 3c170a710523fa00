"""Networks: MPRNet, MIRNet and MIRNet-v2, checkpoint-exact with the official code.

This module is torch-free. It holds the table of released configurations
(:data:`SPECS`) and the facts every other part of imgrestore needs about a
network (size multiple, channels, scale). The networks themselves live one
family per file (:mod:`.mprnet`, :mod:`.mirnet`, :mod:`.mirnetv2`) and are
imported only by :func:`create` / :func:`build`.

>>> from imgrestore import archs
>>> net = archs.create("mirnetv2_real_denoising")     # official forward
>>> image = archs.restore(net, archs.spec("mirnetv2_real_denoising"), x)  # any H x W
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from torch import nn

Family = Literal["mprnet", "mirnet", "mirnetv2"]


@dataclass(frozen=True)
class FamilyInfo:
    """Facts shared by every configuration of one network family."""

    name: Family
    #: ``module:Class`` of our implementation.
    constructor: str
    #: Height and width must be multiples of this (the official demos reflect-pad to it).
    multiple_of: int
    #: The forward returns a list of images whose element 0 is the final one (MPRNet).
    returns_stages: bool
    #: Key under which the official checkpoints keep their weights.
    checkpoint_key: str
    #: Human-readable name and paper.
    title: str


FAMILIES: Mapping[Family, FamilyInfo] = MappingProxyType(
    {
        "mprnet": FamilyInfo(
            "mprnet", "imgrestore.archs.mprnet:MPRNet", 8, True, "state_dict",
            "MPRNet (Zamir et al., CVPR 2021)",
        ),
        "mirnet": FamilyInfo(
            "mirnet", "imgrestore.archs.mirnet:MIRNet", 4, False, "state_dict",
            "MIRNet (Zamir et al., ECCV 2020)",
        ),
        "mirnetv2": FamilyInfo(
            "mirnetv2", "imgrestore.archs.mirnetv2:MIRNetV2", 4, False, "params",
            "MIRNet-v2 (Zamir et al., TPAMI 2022)",
        ),
    }
)


@dataclass(frozen=True)
class ArchSpec:
    """One network configuration: a family plus its constructor arguments."""

    name: str
    family: Family
    #: Constructor arguments, named exactly as in the official code.
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    in_channels: int = 3
    out_channels: int = 3
    #: Scale factors the released weights of this configuration cover. ``(1,)`` for
    #: restoration; super-resolution networks have no upsampler and take the low-resolution
    #: image already resized (bicubic) to the output size.
    scales: tuple[int, ...] = (1,)

    @property
    def info(self) -> FamilyInfo:
        return FAMILIES[self.family]

    @property
    def multiple_of(self) -> int:
        return self.info.multiple_of

    @property
    def pre_upsample(self) -> bool:
        """Whether the input must be bicubic-upsampled to the output size first."""
        return self.scales != (1,)


def _mprnet(name: str, n_feat: int, unet: int, orsnet: int) -> ArchSpec:
    kwargs = dict(
        in_c=3, out_c=3, n_feat=n_feat, scale_unetfeats=unet, scale_orsnetfeats=orsnet,
        num_cab=8, kernel_size=3, reduction=4, bias=False,
    )
    return ArchSpec(name, "mprnet", MappingProxyType(kwargs))


_MIRNET_KWARGS = MappingProxyType(
    dict(
        in_channels=3, out_channels=3, n_feat=64, kernel_size=3, stride=2,
        n_RRG=3, n_MSRB=2, height=3, width=2, bias=False,
    )
)


def _mirnetv2(name: str, scale: int = 1, **extra: Any) -> ArchSpec:
    kwargs = dict(
        inp_channels=3, out_channels=3, n_feat=80, chan_factor=1.5, n_RRG=4, n_MRB=2,
        height=3, width=2, scale=scale, bias=False, task=None,
    )
    kwargs.update(extra)
    return ArchSpec(
        name, "mirnetv2", MappingProxyType(kwargs),
        in_channels=kwargs["inp_channels"], scales=(scale,),
    )


#: Every configuration with official released weights, by its canonical name.
SPECS: Mapping[str, ArchSpec] = MappingProxyType(
    {
        s.name: s
        for s in (
            _mprnet("mprnet_deblurring", 96, 48, 32),
            _mprnet("mprnet_deraining", 40, 20, 16),
            _mprnet("mprnet_denoising", 80, 48, 32),
            ArchSpec("mirnet_denoising", "mirnet", _MIRNET_KWARGS),
            ArchSpec("mirnet_super_resolution", "mirnet", _MIRNET_KWARGS, scales=(3, 4)),
            ArchSpec("mirnet_enhancement_lol", "mirnet", _MIRNET_KWARGS),
            ArchSpec("mirnet_enhancement_fivek", "mirnet", _MIRNET_KWARGS),
            _mirnetv2("mirnetv2_real_denoising"),
            _mirnetv2("mirnetv2_super_resolution_x2", scale=2),
            _mirnetv2("mirnetv2_super_resolution_x3", scale=3),
            _mirnetv2("mirnetv2_super_resolution_x4", scale=4),
            _mirnetv2("mirnetv2_enhancement_lol"),
            _mirnetv2("mirnetv2_enhancement_fivek"),
            _mirnetv2(
                "mirnetv2_defocus_deblurring_dualpixel",
                inp_channels=6, task="defocus_deblurring",
            ),
        )
    }
)


def _compact(name: str, scale: int = 1) -> ArchSpec:
    return _mirnetv2(name, scale, n_feat=12, chan_factor=2.0, n_MRB=1)


#: Our own configurations: the compact MIRNet-v2 of the built-in models (12 -> 24 -> 48
#: channels over the three scales, one MRB per RRG; 160 k parameters, about 3.4 s per
#: megapixel on 2 CPU cores). Trained by ``train/builtin/*.toml``.
COMPACT_SPECS: Mapping[str, ArchSpec] = MappingProxyType(
    {s.name: s for s in (_compact("mirnetv2_compact"), _compact("mirnetv2_compact_x2", 2),
                         _compact("mirnetv2_compact_x4", 4))}
)


def spec(name: str) -> ArchSpec:
    """The configuration called ``name`` (see :data:`SPECS` and :data:`COMPACT_SPECS`)."""
    found = SPECS.get(name) or COMPACT_SPECS.get(name)
    if found is None:
        known = ", ".join(sorted({**SPECS, **COMPACT_SPECS}))
        raise KeyError(f"unknown network configuration {name!r}; known: {known}")
    return found


def family_class(family: Family) -> type[nn.Module]:
    """The ``nn.Module`` class implementing ``family`` (imports torch)."""
    module_name, class_name = FAMILIES[family].constructor.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def build(family: Family, **kwargs: Any) -> nn.Module:
    """Build a network of ``family`` with any constructor arguments (e.g. other widths)."""
    return family_class(family)(**kwargs)


def create(name: str) -> nn.Module:
    """Build the released configuration ``name`` with untrained weights.

    Its ``state_dict()`` has the official keys, shapes and order, so an official
    checkpoint loads with ``strict=True``; its ``forward`` returns what the official
    forward returns (MPRNet: ``[final, stage2, stage1]``).
    """
    s = spec(name)
    return build(s.family, **s.kwargs)


def restore(net: nn.Module, arch: ArchSpec | FamilyInfo, x: torch.Tensor) -> torch.Tensor:
    """Run ``net`` on an image batch of any height and width; return the final image.

    ``x`` is ``(N, C, H, W)`` float in [0, 1]. It is reflect-padded bottom/right to the
    family's multiple (as the official demos do), run, and cropped back to ``H x W``.
    The output is not clamped. Super-resolution inputs must already be upsampled.
    """
    from imgrestore.archs.sizing import forward_padded

    info = arch.info if isinstance(arch, ArchSpec) else arch
    return forward_padded(net, x, info.multiple_of, final_of_stages=info.returns_stages)


__all__ = [
    "COMPACT_SPECS",
    "FAMILIES",
    "SPECS",
    "ArchSpec",
    "Family",
    "FamilyInfo",
    "build",
    "create",
    "family_class",
    "restore",
    "spec",
]
