"""The configuration table: complete, torch-free, consistent with the official manifests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imgrestore import archs

MANIFESTS = Path(__file__).parent.parent / "data" / "manifests"
OFFICIAL = sorted(p.stem for p in MANIFESTS.glob("*.json"))


def test_fourteen_released_configurations():
    assert sorted(archs.SPECS) == OFFICIAL
    assert len(OFFICIAL) == 14


@pytest.mark.parametrize("name", OFFICIAL)
def test_spec_matches_manifest(name, data_dir):
    manifest = json.loads((data_dir / "manifests" / f"{name}.json").read_text())
    spec = archs.spec(name)
    for key, value in manifest["constructor_args"].items():
        assert spec.kwargs[key] == value, key
    assert spec.in_channels == manifest["input_channels"]
    assert spec.out_channels == manifest["output_channels"]
    assert spec.family == {"MPRNet": "mprnet", "MIRNet": "mirnet", "MIRNet_v2": "mirnetv2"}[
        manifest["class"]
    ]


def test_descriptors():
    assert archs.spec("mprnet_deblurring").multiple_of == 8
    assert archs.spec("mirnet_denoising").multiple_of == 4
    assert archs.spec("mirnetv2_enhancement_lol").multiple_of == 4
    assert archs.spec("mirnetv2_super_resolution_x3").pre_upsample
    assert archs.spec("mirnetv2_super_resolution_x3").scales == (3,)
    assert archs.spec("mirnet_super_resolution").scales == (3, 4)
    assert not archs.spec("mprnet_denoising").pre_upsample
    assert archs.spec("mirnetv2_defocus_deblurring_dualpixel").in_channels == 6
    assert archs.spec("mprnet_deraining").descriptor.returns_stages
    assert archs.spec("mirnetv2_real_denoising").descriptor.checkpoint.containers[0] == "params"


def test_unknown_name_lists_known_ones():
    with pytest.raises(KeyError, match="mprnet_deblurring"):
        archs.spec("mprnet_deblur")


def test_spec_table_does_not_import_torch():
    code = (
        "import sys, imgrestore.archs as a; a.spec('mprnet_deblurring');"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
