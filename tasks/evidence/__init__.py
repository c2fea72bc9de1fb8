"""Evidence links: each accepted file's ``evidencia_url`` fetched within bounds, never at an
address inside the directorate's network, and recorded with an archived copy.

``addresses`` decides where a link may lead, ``fetching`` fetches one link (and a batch of them,
a few at a time), ``checking`` records what came back in the ledger and the file store, after
intake and before a publication, and ``listing`` says where each link stands.
"""
