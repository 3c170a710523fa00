"""Measure restorations: ``imgrestore eval`` (:mod:`.runner`, with :mod:`.pairs`,
:mod:`.synth` and :mod:`.report`) on the metrics of :mod:`imgrestore.ops.metrics`, and
before/after pictures and pages (:mod:`.compare`)."""
