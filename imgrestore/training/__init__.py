"""Training and fine-tuning: ``imgrestore train RECIPE``.

One module per question:

- :mod:`.recipe`: the recipe (TOML) as typed dataclasses, with ``--set key=value`` overrides.
- :mod:`.data`: paired / clean folders, crops, dihedral augmentation, MixUp.
- :mod:`.losses`: Charbonnier, MPRNet's edge loss, the stage sum, L1.
- :mod:`.schedules`: closed-form learning-rate curves.
- :mod:`.progressive`: MIRNet-v2's progressive patch/batch regime.
- :mod:`.metrics`: validation PSNR/SSIM on clamped outputs with a fixed peak.
- :mod:`.checkpoint`: training state on disk, exact resume.
- :mod:`.setup`: what a run starts from: run folder, network, optimizer, data, length.
- :mod:`.validation`: PSNR/SSIM of the network on the validation set.
- :mod:`.loop`: the trainer (:func:`.loop.train`): steps, checkpoints, export.
- :mod:`.export`: the result as an imgrestore model folder.

Synthetic degradations and the metrics are shared with evaluation
(:mod:`imgrestore.ops`); torchrun's process group is :mod:`imgrestore.distributed`.

Importing this package does not import torch.
"""
