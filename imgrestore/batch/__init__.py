"""Batches: plan the jobs, run them through the read -> restore -> write pipeline, report.

The CLI builds a :class:`~imgrestore.batch.run.Request` from its options and calls
:func:`~imgrestore.batch.run.run`; everything between parsing and display lives here.
"""
