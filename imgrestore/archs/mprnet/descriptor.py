"""What imgrestore knows about MPRNet besides the network (:mod:`.network`)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from imgrestore.archs import descriptor as desc
from imgrestore.archs.authors import academic_licence


def _configuration(n_feat: int, unet: int, orsnet: int, params: int,
                   bytes_per_pixel: float) -> desc.Configuration:
    kwargs = dict(
        in_c=3, out_c=3, n_feat=n_feat, scale_unetfeats=unet, scale_orsnetfeats=orsnet,
        num_cab=8, kernel_size=3, reduction=4, bias=False,
    )
    return desc.Configuration(MappingProxyType(kwargs), params=params,
                         bytes_per_pixel=bytes_per_pixel)


def read_arguments(s: desc.Shapes) -> dict[str, Any]:
    """Constructor arguments of an MPRNet state dict, from its shapes."""
    n_feat, in_c, kernel, _ = s["shallow_feat1.0.weight"]
    tail = s["tail.weight"]
    return dict(
        in_c=in_c,
        out_c=tail[0],
        n_feat=n_feat,
        scale_unetfeats=s["stage1_encoder.encoder_level2.0.body.0.weight"][0] - n_feat,
        scale_orsnetfeats=tail[1] - n_feat,
        num_cab=len(desc.indices(s, "stage3_orsnet.orb1.body.", ".CA.")),
        kernel_size=kernel,
        reduction=n_feat // s["shallow_feat1.1.CA.conv_du.0.weight"][0],
        bias=desc.has_bias(s),
    )


DESCRIPTOR = desc.FamilyDescriptor(
    name="mprnet",
    title="MPRNet (Zamir et al., CVPR 2021)",
    network="imgrestore.archs.mprnet.network:MPRNet",
    arguments=MappingProxyType(dict(
        in_c=desc.integer(1, 8), out_c=desc.integer(1, 8), n_feat=desc.integer(1, 256),
        scale_unetfeats=desc.integer(0, 256), scale_orsnetfeats=desc.integer(0, 256),
        num_cab=desc.integer(1, 32), kernel_size=desc.integer(1, 7), reduction=desc.integer(1, 64),
        bias=desc.FLAG,
    )),
    # Peak fp32 forward memory measured on the CPU (peak RSS minus RSS before the forward,
    # 256² to 512² inputs, benchmarks/engine.py --only memory), rounded up.
    configurations=MappingProxyType({
        "mprnet_deblurring": _configuration(96, 48, 32, 20_127_073, 9600.0),
        "mprnet_deraining": _configuration(40, 20, 16, 3_637_249, 4800.0),
        "mprnet_denoising": _configuration(80, 48, 32, 15_741_025, 8400.0),
    }),
    checkpoint=desc.CheckpointFormat(marker="shallow_feat1.0.weight",
                                     read_arguments=read_arguments),
    weights_licence=academic_licence("MPRNet"),
    input_argument="in_c",
    output_argument="out_c",
    size_multiple=8,
    stage_outputs=3,
    bytes_per_pixel=9600.0,
    devices=MappingProxyType({
        # benchmarks/layout.py, 2 cores, 256 px: channels-last takes 0.85x the NCHW time.
        "cpu": desc.DeviceHints(layout="channels_last", backends=desc.CPU_BACKENDS,
                                fp32_additions=True),
        "cuda": desc.DeviceHints(safe_precisions=("fp16",)),
    }),
)
