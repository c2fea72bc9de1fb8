"""A reporting cycle's steps: opening, reminders, extensions, closing, status."""
