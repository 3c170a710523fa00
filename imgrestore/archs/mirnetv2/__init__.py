"""MIRNet-v2 (Zamir et al., TPAMI 2022): the network in :mod:`.network`, the rest in
:mod:`.descriptor`. Importing this package does not import torch."""

from imgrestore.archs.mirnetv2.descriptor import DESCRIPTOR

__all__ = ["DESCRIPTOR"]
