"""Training and fine-tuning: ``imgrestore train RECIPE``.

One module per question:

- :mod:`.recipe`: the recipe (TOML) as typed dataclasses, with ``--set key=value`` overrides.
- :mod:`.bounds`: the allowed range of each recipe value.
- :mod:`.runs`: a run folder's own recipe, for ``--resume`` (what may change).
- :mod:`.layout`: paired / dual-pixel / clean folders; every image checked up front, the
  cache budget.
- :mod:`.data`: crops, dihedral augmentation, epoch order (repeats, shards), MixUp.
- :mod:`.losses`: Charbonnier, MPRNet's edge loss, the stage sum, L1.
- :mod:`.schedules`: closed-form learning-rate curves.
- :mod:`.progressive`: MIRNet-v2's progressive patch/batch regime.
- :mod:`.metrics`: validation PSNR/SSIM on clamped outputs with a fixed peak.
- :mod:`.checkpoint`: training state on disk, exact resume.
- :mod:`.setup`: what a run starts from: run folder, network, optimizer, data (checked,
  cached or not), length.
- :mod:`.validation`: PSNR/SSIM of the network and of its input on the validation set
  (every rank its share), and a before/after strip.
- :mod:`.report`: the JSONL log, notices and the ``on_event`` callback of a display.
- :mod:`.loop`: the trainer (:func:`.loop.train`): steps, checkpoints, export.
- :mod:`.export`: the result as an imgrestore model folder.

Synthetic degradations and the metrics are shared with evaluation
(:mod:`imgrestore.ops`); torchrun's process group is :mod:`imgrestore.distributed`.

Importing this package does not import torch.
"""
