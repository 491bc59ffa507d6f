"""BoundedLRU: a thread-safe least-recently-used map, capped by entries and by bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    """At most `entries` values whose sizes (size_of) add up to at most `max_bytes`; the least
    recently read or written go first. A value larger than max_bytes is not kept.

    On OrderedDict, whose reordering is C: a cold listing reads and writes a hundred entries
    of the wire memo, and cachetools' LRUCache (pure Python) cost several µs per operation."""

    def __init__(self, entries: int, max_bytes: int, size_of: Callable[[V], int]) -> None:
        if entries < 1 or max_bytes < 1:
            raise ValueError("a BoundedLRU holds at least one entry and one byte")
        self._entries, self._max_bytes, self._size_of = entries, max_bytes, size_of
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()  # oldest first
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept under key (now the most recently used), or None."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            self._data.move_to_end(key)
        return found[0]

    def get_many(self, keys: Iterable[K]) -> list[V | None]:
        """get() of each key, under one lock."""
        out: list[V | None] = []
        with self._lock:
            data = self._data
            for key in keys:
                found = data.get(key)
                if found is None:
                    out.append(None)
                else:
                    data.move_to_end(key)
                    out.append(found[0])
        return out

    def put(self, key: K, value: V) -> None:
        """Keep value under key, evicting the least recently used past either cap."""
        self.put_many(((key, value),))

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        """put() of each pair, in order, under one lock."""
        with self._lock:
            data = self._data
            for key, value in items:
                size = self._size_of(value)
                old = data.pop(key, None)
                if old is not None:
                    self._bytes -= old[1]
                if size > self._max_bytes:  # larger than the whole cache; the old one is stale
                    continue
                data[key] = (value, size)
                self._bytes += size
                # the new entry is the newest and fits alone: it is never the one evicted
                while self._bytes > self._max_bytes or len(data) > self._entries:
                    self._bytes -= data.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether key is kept (not a use: its place in the order stays)."""
        with self._lock:
            return key in self._data

    @property
    def nbytes(self) -> int:
        """The summed sizes of the values kept."""
        return self._bytes
