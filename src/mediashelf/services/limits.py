"""Limits: which budgets a request spends, and wrong keys counted per client address.

Reads (GET, HEAD) and writes (everything else) have budgets of their own, per API key and per
tenant (all its keys together); each is off until configured. Wrong keys are counted per client
address (an IPv6 address by its /64, which one host usually holds whole): each failure waits a
little longer than the last, and past the budget every request from that address is refused,
whatever key it carries, until the window ends, so a guess that happens to be right cannot be
told from a wrong one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from mediashelf.domain import ApiKey
from mediashelf.services.quotas import Left, Quotas
from mediashelf.settings import Rate, Settings

_DELAY_STEPS = 40  # the delay grows with each failure up to this many steps (2 s at 50 ms)
_BLOCKED_MAX = 10_000  # refused addresses kept before the ended ones are swept
_NAMES_MAX = 100_000  # keys whose bucket names are kept


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: cheaply
class Policy:
    """A named budget, as RateLimit-Policy shows it; `per` is "key", "tenant" or "address"."""

    name: str
    rate: Rate
    per: str


class Usage(NamedTuple):  # made on every request: a tuple is cheaper to make than a dataclass
    """What a request spent of each budget that applies to it: for each policy in turn, what
    the budget has left and the seconds until its window ends, in one flat tuple (the RateLimit
    field's numbers, as they are written); `retry_after` when refused."""

    policies: tuple[Policy, ...]
    numbers: tuple[int, ...]
    retry_after: int | None = None
    message: str = ""


NOTHING = Usage((), ())  # no budget applies


class Limits:
    """One per API process, on the shared Quotas."""

    def __init__(self, settings: Settings, quotas: Quotas) -> None:
        self._quotas = quotas
        self.reads = _policies(("reads", settings.rate_limit_reads, "key"),
                               ("tenant-reads", settings.tenant_rate_limit_reads, "tenant"))
        self.writes = _policies(("writes", settings.rate_limit_writes, "key"),
                                ("tenant-writes", settings.tenant_rate_limit_writes, "tenant"))
        self.budgets = bool(self.reads or self.writes)
        self._rates = (tuple(p.rate for p in self.reads), tuple(p.rate for p in self.writes))
        auth = settings.auth_failure_limit
        self.auth = Policy("auth-failures", auth, "address") if auth else None
        self._auth: tuple[Policy, ...] = (self.auth,) if self.auth else ()
        self._delay = settings.auth_failure_delay
        self.enabled = self.budgets or self.auth is not None
        # addresses over their wrong-key budget, as this process knows: when its window ends
        self.refused: dict[str, float] = {}
        self._names: tuple[dict[int, tuple[str, ...]], ...] = ({}, {})  # reads, writes by key

    def spend_now(self, key: ApiKey, write: bool) -> Usage | None:
        """As spend(), when this process holds a unit of every budget that applies (the common
        case: no await, no database); None when spend() must be awaited instead."""
        policies = self.writes if write else self.reads
        if not policies:
            return NOTHING
        names = self._names[write].get(key.id.int) or self._bucket_names(key, write)
        numbers = self._quotas.take_now(names, self._rates[write])
        return None if numbers is None else Usage(policies, numbers)

    async def spend(self, key: ApiKey, write: bool) -> Usage:
        """Take one unit of each budget of the key's kind of request, or none if one is spent
        (NOTHING when no budget applies)."""
        policies = self.writes if write else self.reads
        if not policies:
            return NOTHING
        names = self._names[write].get(key.id.int) or self._bucket_names(key, write)
        taken: list[Left] = []
        for name, policy in zip(names, policies, strict=True):
            left = await self._quotas.take(name, policy.rate)
            taken.append(left)
            if not left.admitted:
                for earlier in names[:len(taken) - 1]:  # a refused request spends nothing
                    self._quotas.give_back(earlier)
                given_back = [Left(True, t.remaining + 1, t.reset) for t in taken[:-1]]
                untouched = [Left(True, p.rate.count, p.rate.window)
                             for p in policies[len(taken):]]
                return Usage(policies, _flat((*given_back, left, *untouched)), left.reset,
                             f"the {policy.name} budget of this "
                             f"{'key' if policy.per == 'key' else 'tenant'} is spent "
                             f"({policy.rate.count} requests per {_period(policy.rate)}); "
                             f"try again in {left.reset} s")
        return Usage(policies, _flat(taken))

    def _bucket_names(self, key: ApiKey, write: bool) -> tuple[str, ...]:
        """The buckets a key's reads or writes spend from, made once per key."""
        known = self._names[write]
        if len(known) >= _NAMES_MAX:
            known.clear()
        names = known[key.id.int] = tuple(
            f"{p.per}:{(key.id if p.per == 'key' else key.tenant_id).hex}:{p.name}:"
            f"{p.rate.window}" for p in (self.writes if write else self.reads))
        return names

    def blocked(self, address: str | None) -> Usage | None:
        """The refusal for an address over its wrong-key budget, if it is (no waiting)."""
        if self.auth is None:
            return None
        until = self.refused.get(_partition(address))
        if until is None:
            return None
        now = time.time()
        if now >= until:
            del self.refused[_partition(address)]
            return None
        reset = max(1, int(-(-(until - now) // 1)))
        return self._refusal(Left(False, 0, reset))

    async def failed(self, address: str | None) -> Usage | None:
        """Count a wrong key from the address and wait out its delay; a refusal past the
        budget (None when failures are not limited)."""
        if self.auth is None:
            return None
        where = _partition(address)
        left = await self._quotas.take(f"address:{where}:{self.auth.rate.window}",
                                       self.auth.rate)
        if not left.admitted:
            now = time.time()
            if len(self.refused) >= _BLOCKED_MAX:  # many addresses at once: forget the ended
                self.refused = {a: t for a, t in self.refused.items() if t > now}
            self.refused[where] = now + left.reset
            return self._refusal(left)
        failures = self.auth.rate.count - left.remaining
        if self._delay > 0:
            await asyncio.sleep(self._delay * min(failures, _DELAY_STEPS))
        return Usage(self._auth, (left.remaining, left.reset))

    def _refusal(self, left: Left) -> Usage:
        rate = self._auth[0].rate
        return Usage(self._auth, (left.remaining, left.reset), left.reset,
                     f"too many wrong API keys from this address ({rate.count} per "
                     f"{_period(rate)}); try again in {left.reset} s")


def _flat(taken: Sequence[Left]) -> tuple[int, ...]:
    return tuple(n for left in taken for n in (left.remaining, left.reset))


def _policies(*given: tuple[str, Rate | None, str]) -> tuple[Policy, ...]:
    return tuple(Policy(name, rate, per) for name, rate, per in given if rate is not None)


def _partition(address: str | None) -> str:
    """The client address a wrong key is counted against: IPv4 whole, IPv6 by its /64."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address) + "/64"
    return str(ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip)


def _period(rate: Rate) -> str:
    for seconds, word in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if rate.window == seconds:
            return word
    return f"{rate.window} s"
