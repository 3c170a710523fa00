"""Recognising state dicts by the registered families' checkpoint formats."""

from __future__ import annotations

import torch

from imgrestore import archs
from imgrestore.archs.detection import containers, detect, filter_keys, recognise


def _shapes(name: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        net = archs.create(name)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def test_detect_every_released_configuration() -> None:
    signatures = {}
    for name in archs.SPECS:
        shapes = _shapes(name)
        detected = detect(shapes)
        assert detected is not None and name in detected.configs, name
        assert dict(detected.kwargs).items() <= dict(archs.SPECS[name].kwargs).items()
        signatures.setdefault(tuple(shapes.items()), set()).update(detected.configs)
    # Configurations are told apart exactly as far as their tensors differ.
    assert sorted(map(sorted, signatures.values())) == sorted([
        ["mirnet_denoising", "mirnet_enhancement_fivek", "mirnet_enhancement_lol",
         "mirnet_super_resolution"],
        ["mirnetv2_defocus_deblurring_dualpixel"],
        ["mirnetv2_enhancement_fivek", "mirnetv2_enhancement_lol", "mirnetv2_real_denoising",
         "mirnetv2_super_resolution_x2", "mirnetv2_super_resolution_x3",
         "mirnetv2_super_resolution_x4"],
        ["mprnet_deblurring"], ["mprnet_denoising"], ["mprnet_deraining"],
    ])


def test_detect_other_widths() -> None:
    with torch.device("meta"):
        net = archs.build("mprnet", n_feat=16, scale_unetfeats=8, scale_orsnetfeats=4,
                          num_cab=2, reduction=4)
    detected = detect(net.state_dict())
    assert detected is not None and detected.configs == ()
    assert detected.kwargs["n_feat"] == 16 and detected.kwargs["num_cab"] == 2
    assert detect({"conv.weight": torch.zeros(1, 1)}) is None


def test_detected_arguments_are_within_the_family_schema() -> None:
    for name in (*archs.SPECS, *archs.COMPACT_SPECS):
        detected = detect(_shapes(name))
        assert detected is not None
        archs.family(detected.family).check_arguments(detected.kwargs)


def test_key_filter_and_recognition() -> None:
    shapes = _shapes("mprnet_deraining")
    prefixed = {f"module.{k}": v for k, v in shapes.items()}
    assert recognise(prefixed) is archs.family("mprnet")
    assert filter_keys(prefixed) == shapes
    assert detect(prefixed) == detect(shapes)
    # unknown state dicts lose a common module. prefix all the same
    assert filter_keys({"module.a": 1, "module.b": 2}) == {"a": 1, "b": 2}
    assert recognise({"a": 1}) is None


def test_containers_in_preference_order() -> None:
    # the official MIRNet-v2 demo loads params even when params_ema is present
    assert containers() == ("state_dict", "params", "params_ema")
