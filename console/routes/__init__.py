"""The console's routes, one router per area: sign-in, the cycle, a submission and its review,
extensions, consolidation and publication, Data Docs pages, file downloads, the public board
as the public sees it."""
