"""What MPRNet, MIRNet and MIRNet-v2 share as the work of one group (Zamir et al.,
github.com/swz30): the licence of their code and released weights. Torch-free."""

from __future__ import annotations

from imgrestore.archs.descriptor import Licence


def academic_licence(repository: str, branch: str = "main") -> Licence:
    """The authors' Academic Public License, as published in ``repository``."""
    return Licence("Academic Public License (non-commercial use only)",
                   f"https://github.com/swz30/{repository}/blob/{branch}/LICENSE.md")


__all__ = ["academic_licence"]
