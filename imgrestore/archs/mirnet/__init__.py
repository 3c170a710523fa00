"""MIRNet (Zamir et al., ECCV 2020): the network in :mod:`.network`, the rest in
:mod:`.descriptor`. Importing this package does not import torch."""

from imgrestore.archs.mirnet.descriptor import DESCRIPTOR

__all__ = ["DESCRIPTOR"]
