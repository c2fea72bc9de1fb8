"""The liaison's own page: what their personal link opens (``overview``), the upload door that
checks a file and sends it through intake (``upload``), and what the liaison is told when
something changes (``notices``: an extension, an approval, a handover to a new liaison).
"""
