"""Training and fine-tuning: ``imgrestore train RECIPE``.

One module per question:

- :mod:`.recipe`: the recipe (TOML) as typed dataclasses, with ``--set key=value`` overrides.
- :mod:`.degrade`: seeded synthetic degradations (``degrade(spec, clean, rng)``).
- :mod:`.data`: paired / clean folders, crops, dihedral augmentation, MixUp.
- :mod:`.losses`: Charbonnier, MPRNet's edge loss, the stage sum, L1.
- :mod:`.schedules`: closed-form learning-rate curves.
- :mod:`.progressive`: MIRNet-v2's progressive patch/batch regime.
- :mod:`.metrics`: validation PSNR/SSIM on clamped outputs with a fixed peak.
- :mod:`.checkpoint`: training state on disk, exact resume.
- :mod:`.loop`: the trainer (:func:`.loop.train`).
- :mod:`.export`: the result as an imgrestore model folder.

Importing this package does not import torch.
"""
