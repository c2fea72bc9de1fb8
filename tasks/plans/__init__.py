"""The action plan: loading, checking, and the directorate's spreadsheet of it."""
