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
from dataclasses import dataclass

from mediashelf.domain import ApiKey
from mediashelf.services.quotas import Left, Quotas
from mediashelf.settings import Rate, Settings

_DELAY_STEPS = 40  # the delay grows with each failure up to this many steps (2 s at 50 ms)
_BLOCKED_MAX = 10_000  # refused addresses kept before the ended ones are swept


@dataclass(frozen=True, slots=True)
class Policy:
    """A named budget, as RateLimit-Policy shows it; `per` is "key", "tenant" or "address"."""

    name: str
    rate: Rate
    per: str


@dataclass(frozen=True, slots=True)
class Usage:
    """What a request spent of each budget that applies to it; `retry_after` when refused."""

    policies: tuple[Policy, ...]
    left: tuple[Left, ...]
    retry_after: int | None = None
    message: str = ""


class Limits:
    """One per API process, on the shared Quotas."""

    def __init__(self, settings: Settings, quotas: Quotas) -> None:
        self._quotas = quotas
        self.reads = _policies(("reads", settings.rate_limit_reads, "key"),
                               ("tenant-reads", settings.tenant_rate_limit_reads, "tenant"))
        self.writes = _policies(("writes", settings.rate_limit_writes, "key"),
                                ("tenant-writes", settings.tenant_rate_limit_writes, "tenant"))
        self.budgets = bool(self.reads or self.writes)
        auth = settings.auth_failure_limit
        self.auth = Policy("auth-failures", auth, "address") if auth else None
        self._delay = settings.auth_failure_delay
        self._blocked: dict[str, float] = {}  # address -> when its window ends

    @property
    def enabled(self) -> bool:
        return self.budgets or self.auth is not None

    @property
    def refusing(self) -> bool:
        """Whether some address is over its wrong-key budget (in this process's knowledge)."""
        return bool(self._blocked)

    async def spend(self, key: ApiKey, write: bool) -> Usage | None:
        """Take one unit of each budget of the key's kind of request (None: it has none)."""
        policies = self.writes if write else self.reads
        if not policies:
            return None
        taken: list[tuple[str, Left]] = []
        for policy in policies:
            owner = key.id if policy.per == "key" else key.tenant_id
            name = f"{policy.per}:{owner.hex}:{policy.name}:{policy.rate.window}"
            left = await self._quotas.take(name, policy.rate)
            taken.append((name, left))
            if not left.admitted:
                for earlier, _ in taken[:-1]:  # a refused request spends nothing
                    self._quotas.give_back(earlier)
                given_back = [Left(True, t.remaining + 1, t.reset) for _, t in taken[:-1]]
                untouched = [Left(True, p.rate.count, p.rate.window)
                             for p in policies[len(taken):]]
                lefts = (*given_back, left, *untouched)
                return Usage(policies, lefts, left.reset,
                             f"the {policy.name} budget of this "
                             f"{'key' if policy.per == 'key' else 'tenant'} is spent "
                             f"({policy.rate.count} requests per {_period(policy.rate)}); "
                             f"try again in {left.reset} s")
        return Usage(policies, tuple(t[1] for t in taken))

    def blocked(self, address: str | None) -> Usage | None:
        """The refusal for an address over its wrong-key budget, if it is (no waiting)."""
        if self.auth is None:
            return None
        until = self._blocked.get(_partition(address))
        if until is None:
            return None
        now = time.time()
        if now >= until:
            del self._blocked[_partition(address)]
            return None
        reset = max(1, int(-(-(until - now) // 1)))
        return self._refusal(self.auth, Left(False, 0, reset))

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
            if len(self._blocked) >= _BLOCKED_MAX:  # many addresses at once: forget the ended
                self._blocked = {a: t for a, t in self._blocked.items() if t > now}
            self._blocked[where] = now + left.reset
            return self._refusal(self.auth, left)
        failures = self.auth.rate.count - left.remaining
        if self._delay > 0:
            await asyncio.sleep(self._delay * min(failures, _DELAY_STEPS))
        return Usage((self.auth,), (left,))

    def _refusal(self, policy: Policy, left: Left) -> Usage:
        return Usage((policy,), (left,), left.reset,
                     f"too many wrong API keys from this address ({policy.rate.count} per "
                     f"{_period(policy.rate)}); try again in {left.reset} s")


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
