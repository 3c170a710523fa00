"""Measure restorations: ``imgrestore eval`` (:mod:`.runner`, with :mod:`.pairs`,
:mod:`.synth`, :mod:`.scoring`, :mod:`.report`, and :mod:`.cluster` for ``--ray``) on the
metrics of :mod:`imgrestore.ops.metrics`, and before/after pictures and pages
(:mod:`.compare`)."""
