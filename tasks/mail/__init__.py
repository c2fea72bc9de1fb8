"""Mail in and out: sending, the inbox, what arrives, and what Hitos answers."""
