"""What imgrestore knows about the toy family."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from imgrestore.archs.descriptor import (
    CheckpointFormat,
    Configuration,
    FamilyDescriptor,
    Licence,
    Shapes,
    integer,
)


def read_arguments(s: Shapes) -> dict[str, Any]:
    width, channels, _, _ = s["toy_in.weight"]
    return dict(channels=channels, width=width)


DESCRIPTOR = FamilyDescriptor(
    name="toy",
    title="ToyNet (tests)",
    network="tests.archs.toy.network:ToyNet",
    arguments=MappingProxyType(dict(channels=integer(1, 8), width=integer(1, 16))),
    configurations=MappingProxyType({
        "toy_small": Configuration(MappingProxyType(dict(channels=3, width=4)), released=False,
                                   params=3 * 4 * 9 + 4 + 4 * 3 * 9 + 3),
    }),
    checkpoint=CheckpointFormat(marker="toy_in.weight", read_arguments=read_arguments),
    weights_licence=Licence("MIT", "https://opensource.org/license/mit"),
    input_argument="channels",
    output_argument="channels",
    size_multiple=2,
    bytes_per_pixel=200.0,
)
