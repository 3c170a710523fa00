"""ONNX export: onnxruntime gives what imgrestore's own engine gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from imgrestore import archs
from imgrestore.archs.sizing import pad_to_multiple
from imgrestore.engine.export import DEFAULT_OPSET, export_onnx, graph_for, sidecar
from imgrestore.engine.restorer import Restorer
from imgrestore.errors import UsageError
from imgrestore.zoo.loading import load_model

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _rand(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (height, width, 3)).astype(np.float32)


def _nchw(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None])


def test_dynamic_upscale_matches_the_engine_on_two_sizes(tmp_path) -> None:
    loaded = load_model("builtin", task="upscale", scale=2)  # compact, ships with imgrestore
    path = export_onnx(loaded.net, loaded.spec, tmp_path / "x2.onnx", scale=2, height=32,
                       width=32, dynamic=True)  # fmt: skip
    session = _session(path)
    # the graph is the network: the engine without its reflected border margin
    network = Restorer(loaded.net, loaded.spec, scale=2, device="cpu", tile=0, margin=0)
    for height, width in ((32, 48), (44, 28)):  # multiples of 4, neither the example size
        image = _rand(height, width, height)
        (out,) = session.run(None, {"input": _nchw(image)})
        assert out.shape == (1, 3, 2 * height, 2 * width)
        expected = network(image).transpose(2, 0, 1)[None]
        assert np.abs(out - expected).max() <= 1e-4


def test_the_sidecars_margin_recipe_gives_the_engines_output(tmp_path) -> None:
    loaded = load_model("builtin", task="denoise")
    path = export_onnx(loaded.net, loaded.spec, tmp_path / "d.onnx", height=32, width=32,
                       dynamic=True)  # fmt: skip
    engine = Restorer(loaded.net, loaded.spec, device="cpu", tile=0)  # its border margin
    margin = sidecar(loaded.spec, model="d", scale=1, height=32, width=32, dynamic=True,
                     opset=DEFAULT_OPSET)["input"]["margin"]  # fmt: skip
    assert margin == engine.margin > 0
    image = _rand(30, 37, 5)  # reflect the margin on every side, then to the multiple
    padded = pad_to_multiple(torch.from_numpy(_nchw(image)), loaded.spec.multiple_of, margin)
    (out,) = _session(path).run(None, {"input": padded.numpy()})
    cropped = out[0, :, margin : margin + 30, margin : margin + 37].transpose(1, 2, 0)
    assert np.abs(cropped - engine(image)).max() <= 1e-4


def test_fixed_size_graph_and_its_opset(tmp_path) -> None:
    loaded = load_model("builtin", task="denoise")
    path = export_onnx(loaded.net, loaded.spec, tmp_path / "d.onnx", height=24, width=40,
                       opset=16)  # fmt: skip
    model = onnx.load(str(path))
    assert {o.domain: o.version for o in model.opset_import}[""] == 16
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 24, 40]
    image = _rand(24, 40, 0)
    (out,) = _session(path).run(None, {"input": _nchw(image)})
    expected = Restorer(loaded.net, loaded.spec, device="cpu", tile=0, margin=0)(image)
    assert np.abs(out[0].transpose(1, 2, 0) - expected).max() <= 1e-4
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime's own error for a wrong shape
        _session(path).run(None, {"input": _nchw(_rand(32, 32, 1))})


@pytest.mark.slow
def test_mprnet_patch_split_exports_dynamically(tmp_path) -> None:
    spec = archs.ArchSpec("tiny_mprnet", "mprnet", dict(
        in_c=3, out_c=3, n_feat=8, scale_unetfeats=4, scale_orsnetfeats=4, num_cab=1,
        kernel_size=3, reduction=4, bias=False))  # fmt: skip
    net = archs.build("mprnet", **spec.kwargs).eval()
    path = export_onnx(net, spec, tmp_path / "m.onnx", height=32, width=32, dynamic=True)
    session = _session(path)
    for height, width in ((32, 32), (48, 64)):  # MPRNet cuts the image into 2 and 4 patches
        image = _rand(height, width, width)
        with torch.no_grad():
            expected = graph_for(net, spec)(torch.from_numpy(_nchw(image))).numpy()
        (out,) = session.run(None, {"input": _nchw(image)})
        assert np.abs(out - expected).max() <= 1e-4


def test_sidecar_takes_scale_and_multiple_from_the_configuration() -> None:
    spec = archs.spec("mirnetv2_compact_x4")
    record = sidecar(spec, model="builtin_upscale_x4", scale=4, height=64, width=64,
                     dynamic=False, opset=DEFAULT_OPSET, task="upscale")  # fmt: skip
    assert record["scale"] == 4 and record["multiple"] == spec.multiple_of == 4
    assert record["input"]["range"] == [0.0, 1.0] and record["input"]["shape"] == [1, 3, 64, 64]
    assert record["output"]["shape"] == [1, 3, 256, 256]
    assert record["pre_upsample"].startswith("bicubic")
    mprnet = sidecar(archs.spec("mprnet_deblurring"), model="m", scale=1, height=64, width=64,
                     dynamic=True, opset=17)  # fmt: skip
    assert mprnet["multiple"] == 8 and mprnet["input"]["shape"][2] == "height"


def test_sizes_and_opsets_are_checked(tmp_path) -> None:
    loaded = load_model("builtin", task="denoise")
    with pytest.raises(UsageError, match="multiples of 4"):
        export_onnx(loaded.net, loaded.spec, tmp_path / "bad.onnx", height=30, width=32)
    with pytest.raises(UsageError, match="opset"):
        export_onnx(loaded.net, loaded.spec, tmp_path / "bad.onnx", opset=9)
    assert not (tmp_path / "bad.onnx").exists()
