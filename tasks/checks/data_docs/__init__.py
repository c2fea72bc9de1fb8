"""Great Expectations Data Docs for reviewers: one run page per submission, in the shared store.

Intake validates a batch of files in one suite run; ``results`` cuts the run's result into one
result per submission and keeps each in the file store, with a ``ValidationRun`` row. ``store``
serves a cycle's site from the ledger to whoever asks (the console on any machine, or
``local_site`` for a folder to open): a page nobody asked for yet is rendered then, by
``pages`` (Great Expectations' own renderers and views), from the result as ``shown`` makes it
readable and inert, made to open ``offline`` and put in the site's ``language``, and kept.

``site`` is what intake hands its validation (``tasks.checks.validation.validate``).
"""

from tasks.checks.data_docs.results import site

__all__ = ["site"]
