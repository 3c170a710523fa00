"""imgrestore: photo restoration with MPRNet, MIRNet and MIRNet-v2.

Importing the package is cheap: torch and the networks load only when used.
"""

__version__ = "0.1.0.dev0"
