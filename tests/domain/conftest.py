"""The domain's tests drive the storage contract suite's fixture too: an empty `Storage` per backend."""

from tests.storage.conftest import storage

__all__ = ["storage"]
