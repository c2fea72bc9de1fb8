"""The Mesa Técnica: its members, sessions, agreements, civil society's voice and communiqué."""
