"""The directorate's web console (``hitos serve``): reviews, extensions, publication."""
