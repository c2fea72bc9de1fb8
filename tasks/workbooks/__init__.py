"""The workbook contract, the request workbook, and reading what comes back."""
