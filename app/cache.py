"""A small thread-safe LRU cache (cachetools) shared by the tile and summary caches."""

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class _CountBoundedLRU(LRUCache):
    """cachetools' LRUCache bounded by total size and, in addition, by number of entries."""

    def __init__(
        self, maxsize: float, max_items: int, getsizeof: Callable[[object], float] | None
    ) -> None:
        super().__init__(maxsize, getsizeof)
        self.max_items = max_items

    def __setitem__(self, key: Hashable, value: object) -> None:
        super().__setitem__(key, value)
        while len(self) > self.max_items:
            self.popitem()


class LockedLRU(Generic[V]):
    """LRU of at most `max_items` entries and, with `sizeof`, at most `max_size` in total.

    Values larger than `max_size` are not stored. All access goes through one lock.
    """

    def __init__(
        self,
        max_items: int,
        max_size: float | None = None,
        sizeof: Callable[[V], float] | None = None,
    ) -> None:
        self.max_size = max_size if max_size is not None else float(max_items)
        self._cache = _CountBoundedLRU(self.max_size, max_items, sizeof)
        self._sizeof = sizeof
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The cached value (now most recently used), or None."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, value: V) -> None:
        """Store a value, evicting least recently used entries past either bound."""
        if self._sizeof is not None and self._sizeof(value) > self.max_size:
            return
        with self._lock:
            self._cache[key] = value

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, or compute it (outside the lock) and store it."""
        found = self.get(key)
        if found is None:
            found = compute()
            self.put(key, found)
        return found

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def size(self) -> float:
        """Total size of the entries (their count without `sizeof`)."""
        return self._cache.currsize
