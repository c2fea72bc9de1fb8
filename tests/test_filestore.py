"""The file store: bytes by sha256 in the ledger, reached from any worker."""

from __future__ import annotations

import pytest

from tasks.storage import filestore
from tasks.storage.ledger import session


def test_a_file_stored_twice_is_kept_once_and_read_back(settings):
    with session(settings.database) as db:
        first = filestore.put(db, b"avances")
        second = filestore.put(db, b"avances")
    with session(settings.database) as db:
        assert first == second == filestore.digest(b"avances")
        assert filestore.get(db, first) == b"avances"
        assert filestore.exists(db, first)


def test_an_unknown_key_is_a_key_error(settings):
    with session(settings.database) as db, pytest.raises(KeyError):
        filestore.get(db, "0" * 64)


def test_local_copy_lands_in_the_workspace_and_is_rewritten_when_it_changed(settings):
    path = filestore.local_copy(settings, b"v1", "reports", "2023-03", "a.csv")
    assert path == settings.home / "reports" / "2023-03" / "a.csv"
    assert path.read_bytes() == b"v1"
    filestore.local_copy(settings, b"v2", "reports", "2023-03", "a.csv")
    assert path.read_bytes() == b"v2"
    assert not list(path.parent.glob(".*partial"))


def test_two_writers_copying_the_same_file_at_once_both_succeed(settings):
    from concurrent.futures import ThreadPoolExecutor

    def copy(n: int):
        return filestore.local_copy(settings, b"same bytes" * 1000, "requests", "x.xlsx")

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(copy, range(40)))

    assert {p.read_bytes() for p in paths} == {b"same bytes" * 1000}
    assert not list(paths[0].parent.glob(".*partial"))
