"""What imgrestore knows about MIRNet besides the network (:mod:`.network`)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from imgrestore.archs import descriptor as desc
from imgrestore.archs.authors import academic_licence

#: Every released MIRNet uses the constructor's defaults (31.8 M parameters).
_KWARGS = MappingProxyType(dict(
    in_channels=3, out_channels=3, n_feat=64, kernel_size=3, stride=2,
    n_RRG=3, n_MSRB=2, height=3, width=2, bias=False,
))
_PARAMS = 31_787_419


def read_arguments(s: desc.Shapes) -> dict[str, Any]:
    """Constructor arguments of a MIRNet state dict, from its shapes."""
    n_feat, in_channels, kernel, _ = s["conv_in.weight"]
    height = len(desc.indices(s, "body.0.body.0.blocks."))
    stride = s["body.0.body.0.blocks.1.0.body.0.weight"][0] // n_feat if height > 1 else 2
    return dict(
        in_channels=in_channels,
        out_channels=s["conv_out.weight"][0],
        n_feat=n_feat,
        kernel_size=kernel,
        stride=stride,
        n_RRG=len(desc.indices(s, "body.")),
        n_MSRB=len(desc.indices(s, "body.0.body.", ".blocks.")),
        height=height,
        width=len(desc.indices(s, "body.0.body.0.blocks.0.")),
        bias=desc.has_bias(s),
    )


DESCRIPTOR = desc.FamilyDescriptor(
    name="mirnet",
    title="MIRNet (Zamir et al., ECCV 2020)",
    network="imgrestore.archs.mirnet.network:MIRNet",
    arguments=MappingProxyType(dict(
        in_channels=desc.integer(1, 8), out_channels=desc.integer(1, 8),
        n_feat=desc.integer(1, 256), kernel_size=desc.integer(1, 7), stride=desc.integer(1, 4),
        n_RRG=desc.integer(1, 16), n_MSRB=desc.integer(1, 16), height=desc.integer(1, 5),
        width=desc.integer(1, 8), bias=desc.FLAG,
    )),
    configurations=MappingProxyType({
        "mirnet_denoising": desc.Configuration(_KWARGS, params=_PARAMS),
        "mirnet_super_resolution": desc.Configuration(_KWARGS, scales=(3, 4), params=_PARAMS),
        "mirnet_enhancement_lol": desc.Configuration(_KWARGS, params=_PARAMS),
        "mirnet_enhancement_fivek": desc.Configuration(_KWARGS, params=_PARAMS),
    }),
    checkpoint=desc.CheckpointFormat(marker="body.0.body.0.blocks.0.0.body.0.weight",
                                     read_arguments=read_arguments),
    weights_licence=academic_licence("MIRNet", "master"),
    input_argument="in_channels",
    output_argument="out_channels",
    size_multiple=4,
    bytes_per_pixel=5000.0,
    devices=MappingProxyType({
        "cpu": desc.DeviceHints(layout="contiguous", backends=desc.CPU_BACKENDS),
        "cuda": desc.DeviceHints(safe_precisions=("fp16",)),
    }),
)
