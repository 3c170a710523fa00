"""What imgrestore knows about MIRNet-v2 besides the network (:mod:`.network`)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from imgrestore.archs import descriptor as desc
from imgrestore.archs.authors import academic_licence

_PARAMS = 5_858_560


def _released(scale: int = 1, params: int = _PARAMS, **extra: Any) -> desc.Configuration:
    kwargs = dict(
        inp_channels=3, out_channels=3, n_feat=80, chan_factor=1.5, n_RRG=4, n_MRB=2,
        height=3, width=2, scale=scale, bias=False, task=None,
    )
    kwargs.update(extra)
    return desc.Configuration(MappingProxyType(kwargs), scales=(scale,), params=params)


def _compact(scale: int = 1) -> desc.Configuration:
    """The compact MIRNet-v2 of the built-in models: 12 -> 24 -> 48 channels over the three
    scales, one MRB per RRG; 160 k parameters, about 3.4 s per megapixel on 2 CPU cores.
    Trained by ``train/builtin/*.toml``."""
    released = _released(scale, n_feat=12, chan_factor=2.0, n_MRB=1)
    return desc.Configuration(released.kwargs, released.scales, released=False, params=159_960)


def read_arguments(s: desc.Shapes) -> dict[str, Any]:
    """Constructor arguments of a MIRNet-v2 state dict, from its shapes."""
    n_feat, inp_channels, _, _ = s["conv_in.weight"]
    out_channels = s["conv_out.weight"][0]
    mid = s["body.0.body.0.dau_mid.body.0.weight"][0]
    return dict(
        inp_channels=inp_channels,
        out_channels=out_channels,
        n_feat=n_feat,
        chan_factor=mid / n_feat,
        n_RRG=len(desc.indices(s, "body.")),
        n_MRB=len(desc.indices(s, "body.0.body.", ".dau_top.")),
        bias=desc.has_bias(s),
        # The task changes only the forward: without the image residual ('defocus
        # deblurring') the input may have more channels than the output, and only then.
        task="defocus_deblurring" if inp_channels != out_channels else None,
    )


DESCRIPTOR = desc.FamilyDescriptor(
    name="mirnetv2",
    title="MIRNet-v2 (Zamir et al., TPAMI 2022)",
    network="imgrestore.archs.mirnetv2.network:MIRNetV2",
    arguments=MappingProxyType(dict(
        inp_channels=desc.integer(1, 8), out_channels=desc.integer(1, 8),
        n_feat=desc.integer(1, 256), chan_factor=desc.number(1.0, 4.0),
        n_RRG=desc.integer(1, 16), n_MRB=desc.integer(1, 16), height=desc.integer(1, 5),
        width=desc.integer(1, 8), scale=desc.integer(1, 8), bias=desc.FLAG,
        task=desc.Argument(str, choices=(None, "defocus_deblurring")),
    )),
    configurations=MappingProxyType({
        "mirnetv2_real_denoising": _released(),
        "mirnetv2_super_resolution_x2": _released(scale=2),
        "mirnetv2_super_resolution_x3": _released(scale=3),
        "mirnetv2_super_resolution_x4": _released(scale=4),
        "mirnetv2_enhancement_lol": _released(),
        "mirnetv2_enhancement_fivek": _released(),
        "mirnetv2_defocus_deblurring_dualpixel": _released(
            params=5_860_720, inp_channels=6, task="defocus_deblurring"),
        "mirnetv2_compact": _compact(),
        "mirnetv2_compact_x2": _compact(2),
        "mirnetv2_compact_x4": _compact(4),
    }),
    checkpoint=desc.CheckpointFormat(marker="body.0.body.0.dau_top.body.0.weight",
                                     read_arguments=read_arguments,
                                     # the official demo loads params even when
                                     # params_ema is there
                                     containers=("params", "params_ema")),
    weights_licence=academic_licence("MIRNetv2"),
    input_argument="inp_channels",
    output_argument="out_channels",
    size_multiple=4,
    bytes_per_pixel=5000.0,
    devices=MappingProxyType({
        # benchmarks/layout.py, 2 cores, 256 px: channels-last takes 1.07x the NCHW time
        # (the compact built-ins 1.36x), so MIRNet-v2 stays NCHW on the CPU.
        "cpu": desc.DeviceHints(layout="contiguous", backends=desc.CPU_BACKENDS),
        "cuda": desc.DeviceHints(safe_precisions=("fp16",)),
    }),
)
