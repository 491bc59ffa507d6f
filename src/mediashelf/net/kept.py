"""Webhook connections kept alive between deliveries.

One httpcore pool per origin and set of checked addresses. Every delivery still parses its URL,
resolves its host and checks every address first (fetch.py): only a pool made for exactly the
addresses just checked is used, so a kept connection is never used past a DNS change that would
have refused it. What a connection saves a delivery: the TCP handshake and, for https, the TLS
one, on both sides.
"""

from __future__ import annotations

import ssl
import threading
from collections import OrderedDict

import httpcore

from mediashelf.net.pinned import PinnedBackend

# At most 64 x 4 idle sockets a worker process: well inside a default limit of 1,024 files.
_POOLS_MAX = 64  # origins kept at once; the least recently used goes first
_IDLE_S = 30.0  # an idle connection is closed after this long (receivers close theirs too)
_IDLE_PER_ORIGIN = 4  # the deliveries in flight to one endpoint, by default (concurrency // 2)


class KeptPools:
    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl = ssl_context
        self._pools: OrderedDict[tuple[bytes, str, int | None, tuple[str, ...]],
                                 httpcore.ConnectionPool] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()  # the deadline of this thread's exchange

    def pool(self, scheme: bytes, host: str, port: int | None, addresses: list[str],
             deadline: float) -> httpcore.ConnectionPool:
        """The pool for this origin and these checked addresses, with its socket waits cut
        to `deadline` for the calling thread's exchange."""
        self._local.deadline = deadline
        key = (scheme, host, port, tuple(addresses))
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._pools[key] = httpcore.ConnectionPool(
                ssl_context=self._ssl, retries=0, max_connections=None,
                max_keepalive_connections=_IDLE_PER_ORIGIN, keepalive_expiry=_IDLE_S,
                network_backend=PinnedBackend({host: list(addresses)}, self._deadline))
            evicted = [self._pools.popitem(last=False)[1]
                       for _ in range(len(self._pools) - _POOLS_MAX)]
        for old in evicted:
            old.close()
        return pool

    def _deadline(self) -> float:
        deadline: float = self._local.deadline
        return deadline

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
