"""The ground floor: the states, ids and rules every other room of Hitos stands on.

Nothing here reads the ledger, sends mail or renders a page: these modules decide (which file
speaks for an institution, whether it delivered on time, what its deadline is) from plain facts,
and every view asks them. ``tasks.storage.queries`` reads the facts from the ledger for them.
"""
