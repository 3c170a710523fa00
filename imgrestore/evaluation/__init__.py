"""Measure restorations: PSNR/SSIM (:mod:`.metrics`), ``imgrestore eval`` (:mod:`.runner`),
before/after pictures and pages (:mod:`.compare`)."""
