"""Checks: the Great Expectations suite, its findings, Data Docs and operator input."""
