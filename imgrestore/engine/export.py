"""Export a network to ONNX for other runtimes (onnxruntime, OpenVINO, TensorRT, ncnn...).

:func:`export_onnx` is the one reusable step: a network and its configuration in, an
``.onnx`` file out, with a fixed or dynamic height and width. The graph takes what
imgrestore's engine gives a network and returns what it keeps:

- input ``input``: float32 ``N x C x H x W``, RGB in [0, 1] (sRGB-encoded, as every
  shipped model was trained), H and W multiples of the family's size multiple
  (pad the bottom and right edges by reflection, as imgrestore does, and crop after;
  imgrestore's engine first reflects :data:`~imgrestore.engine.restorer.BORDER_MARGIN`
  pixels on every side, the sidecar's ``margin``);
- super-resolution networks take the small image: the bicubic up-sampling the
  authors apply first is inside the graph;
- output ``output``: float32 ``N x 3 x H*scale x W*scale``, clamped to [0, 1].

:func:`sidecar` describes this in JSON (scale, multiple, input range...), written
beside the graph by ``imgrestore models export``. We use PyTorch's TorchScript-based
exporter (seconds for our networks, where the ``torch.export`` one takes minutes on a
CPU) and fall back to the ``torch.export`` one where PyTorch no longer has it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from imgrestore import __version__
from imgrestore.engine.restorer import BORDER_MARGIN
from imgrestore.errors import UsageError

if TYPE_CHECKING:
    from imgrestore.archs import ArchSpec

DEFAULT_OPSET = 17
#: Oldest opset with everything our graphs use (bicubic Resize with cubic_coeff_a).
MIN_OPSET = 11
INPUT_NAME, OUTPUT_NAME = "input", "output"


class ExportGraph(nn.Module):
    """The network as the engine runs it: up-sampling first (SR), final image, clamped."""

    def __init__(self, net: nn.Module, scale: int, pre_upsample: bool, returns_stages: bool):
        super().__init__()
        self.net = net
        self.scale = scale
        self.pre_upsample = pre_upsample
        self.returns_stages = returns_stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_upsample:
            x = F.interpolate(x, scale_factor=float(self.scale), mode="bicubic",
                              align_corners=False).clamp(0, 1)  # fmt: skip
        out = self.net(x)
        if self.returns_stages:
            out = out[0]
        return out.clamp(0, 1)


def graph_for(net: nn.Module, arch: ArchSpec, scale: int = 1) -> ExportGraph:
    """The module :func:`export_onnx` exports (also what its outputs are compared with)."""
    if scale not in arch.scales:
        raise UsageError(f"{arch.name}: scale {scale} is not available")
    return ExportGraph(net, scale, arch.pre_upsample, arch.descriptor.returns_stages).eval()


def check_size(arch: ArchSpec, height: int, width: int) -> None:
    """UsageError unless ``height`` x ``width`` suits the network (multiples of its rule)."""
    multiple = arch.multiple_of
    if height <= 0 or width <= 0 or height % multiple or width % multiple:
        raise UsageError(f"{arch.name}: height and width must be positive multiples of "
                         f"{multiple} (got {height}x{width})")  # fmt: skip


def export_onnx(
    net: nn.Module,
    arch: ArchSpec,
    path: str | Path,
    *,
    scale: int = 1,
    height: int = 256,
    width: int = 256,
    dynamic: bool = False,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write ``net`` (configuration ``arch``) as an ONNX graph at ``path``.

    ``height`` x ``width`` is the input size of a fixed-size graph (and the example size
    of a dynamic one); with ``dynamic`` the batch, height and width are free (height and
    width still multiples of ``arch.multiple_of``). Needs the ``onnx`` package.
    """
    if opset < MIN_OPSET:
        raise UsageError(f"--opset {opset}: imgrestore's graphs need opset {MIN_OPSET} or later")
    check_size(arch, height, width)
    graph = graph_for(net.float().eval(), arch, scale)
    example = torch.rand(1, arch.in_channels, height, width,
                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _require_onnx()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings: nothing to act on
        try:
            _export_torchscript(graph, example, path, dynamic, opset)
        except (AttributeError, TypeError, NotImplementedError):  # exporter removed
            _export_dynamo(graph, example, path, dynamic, opset, arch.multiple_of)
    return path


def _require_onnx() -> None:
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        raise UsageError("ONNX export needs the 'onnx' package: pip install 'imgrestore[onnx]'")


def _export_torchscript(graph, example, path: Path, dynamic: bool, opset: int) -> None:
    axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
            OUTPUT_NAME: {0: "batch", 2: "out_height", 3: "out_width"}}  # fmt: skip
    torch.onnx.export(
        graph, (example,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        opset_version=opset, dynamic_axes=axes if dynamic else None, dynamo=False,
    )  # fmt: skip


def _export_dynamo(graph, example, path: Path, dynamic: bool, opset: int, multiple: int) -> None:
    shapes = None
    if dynamic:
        dim = torch.export.Dim
        shapes = {"x": {0: dim("batch", max=64), 2: multiple * dim("h", max=8192),
                        3: multiple * dim("w", max=8192)}}  # fmt: skip
    torch.onnx.export(graph, (example,), str(path), input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], opset_version=opset,
                      dynamic_shapes=shapes, dynamo=True)  # fmt: skip


def sidecar(
    arch: ArchSpec,
    *,
    model: str,
    scale: int,
    height: int,
    width: int,
    dynamic: bool,
    opset: int,
    task: str | None = None,
    licence: str | None = None,
) -> dict[str, Any]:
    """The JSON record written beside an exported graph: how to feed it and read it."""
    channels = arch.in_channels
    in_shape: list[Any] = ["batch", channels, "height", "width"] if dynamic else [
        1, channels, height, width]  # fmt: skip
    out_shape: list[Any] = (["batch", arch.out_channels, f"height*{scale}", f"width*{scale}"]
                            if dynamic else [1, arch.out_channels, height * scale,
                                             width * scale])  # fmt: skip
    return {
        "format": "onnx",
        "opset": opset,
        "exported_by": f"imgrestore {__version__}",
        "model": model,
        "task": task,
        "family": arch.family,
        "configuration": arch.name,
        "licence": licence,
        "scale": scale,
        "multiple": arch.multiple_of,
        "dynamic": dynamic,
        "input": {
            "name": INPUT_NAME, "shape": in_shape, "layout": "NCHW", "dtype": "float32",
            "range": [0.0, 1.0],
            "colour": "RGB, sRGB-encoded" + (" (left view, then right view)"
                                             if channels == 6 else ""),
            "padding": f"height and width must be multiples of {arch.multiple_of}: pad the "
                       "bottom and right edges by reflection, crop the output back",
            "margin": BORDER_MARGIN,
            "margin_use": f"imgrestore first reflects {BORDER_MARGIN} pixels on every side "
                          "(then pads to the multiple, and crops them off after) so that the "
                          "network's zero padding never touches the photo; for "
                          "super-resolution it does so after its bicubic up-sampling",
        },  # fmt: skip
        "output": {"name": OUTPUT_NAME, "shape": out_shape, "layout": "NCHW",
                   "dtype": "float32", "range": [0.0, 1.0]},  # fmt: skip
        "pre_upsample": "bicubic, inside the graph" if arch.pre_upsample else None,
    }
