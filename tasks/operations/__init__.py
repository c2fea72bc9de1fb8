"""What operators are told: failed runs, and the server's own upkeep."""
