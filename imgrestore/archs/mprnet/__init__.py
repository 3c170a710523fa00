"""MPRNet (Zamir et al., CVPR 2021): the network in :mod:`.network`, the rest in
:mod:`.descriptor`. Importing this package does not import torch."""

from imgrestore.archs.mprnet.descriptor import DESCRIPTOR

__all__ = ["DESCRIPTOR"]
