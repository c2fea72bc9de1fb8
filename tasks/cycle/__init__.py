"""A reporting cycle's steps: opening, intake, reminders, deadlines, closing, status."""
