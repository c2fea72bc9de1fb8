"""Hitos command line."""
