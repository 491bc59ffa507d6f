"""BoundedLRU: a thread-safe least-recently-used map, capped by entries and by bytes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    """At most `entries` values whose sizes (size_of) add up to at most `max_bytes`; the least
    recently read or written go first. A value larger than max_bytes is not kept."""

    def __init__(self, entries: int, max_bytes: int, size_of: Callable[[V], int]) -> None:
        if entries < 1 or max_bytes < 1:
            raise ValueError("a BoundedLRU holds at least one entry and one byte")
        self._entries = entries
        # cachetools evicts by the summed sizes; the entry cap is checked after each write
        self._lru: cachetools.LRUCache[K, V] = cachetools.LRUCache(max_bytes, getsizeof=size_of)
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept under key (now the most recently used), or None."""
        with self._lock:
            try:
                value: V = self._lru[key]  # one lookup; .get() would look twice
            except KeyError:
                return None
        return value

    def get_many(self, keys: Iterable[K]) -> list[V | None]:
        """get() of each key."""
        return [self.get(key) for key in keys]

    def put(self, key: K, value: V) -> None:
        """Keep value under key, evicting the least recently used past either cap."""
        self.put_many(((key, value),))

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        """put() of each pair, in order, under one lock."""
        with self._lock:
            for key, value in items:
                try:
                    self._lru[key] = value
                except ValueError:  # larger than the whole cache; an older value is stale
                    self._lru.pop(key, None)
                    continue
                while len(self._lru) > self._entries:
                    self._lru.popitem()

    def __len__(self) -> int:
        return len(self._lru)

    @property
    def nbytes(self) -> int:
        """The summed sizes of the values kept."""
        return int(self._lru.currsize)
