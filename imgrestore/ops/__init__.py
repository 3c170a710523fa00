"""Image operations shared by training, evaluation and the engine, one module each:

- :mod:`.degrade`: seeded synthetic degradations (training inputs, ``eval --synthesize``);
- :mod:`.metrics`: PSNR and SSIM as the papers define them;
- :mod:`.resize`: the bicubic resizes the networks' inputs and blends need.

Importing this package imports neither torch nor numpy.
"""
