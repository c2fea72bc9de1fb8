"""Intake: every file received is stored, identified, read and validated, recorded and answered.

One module per seam, in the order a file meets them: ``arrivals`` (what a message is: automatic
mail, workbooks and evidence, no workbook), ``store`` (bytes and rows before anything is
parsed), ``lookups`` and ``identify`` (plan, institution and cycle of a file), ``senders`` (who
may send for an institution), ``process`` (read and validate in batches, failures kept to one
file), ``record`` (outcomes, findings, versions, values), ``results`` (what callers are told),
``replies``, ``strangers`` and ``malformed`` (who is answered, and how), ``assign`` (an
operator's decision about a quarantined file). Moving and reading mail is ``tasks.mail``'s.
"""
