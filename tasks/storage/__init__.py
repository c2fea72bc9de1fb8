"""Where Hitos keeps what it knows: the ledger, the file store and the claims on work."""
