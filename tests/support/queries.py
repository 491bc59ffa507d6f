"""Spellings of one listing: the ways GET /v1/assets' query string can say the same thing."""

from __future__ import annotations

import random
from urllib.parse import urlencode

from hypothesis import strategies as st

from mediashelf.domain import AssetStatus, AssetType

Selection = tuple[set[str], set[str], str | None, int, int, random.Random]


def spell(names: list[str], every: list[str], rnd: random.Random) -> list[str]:
    """One random spelling of a set of values: any order, repeated or comma-joined, with
    repeats; the full set (which means the same as none) sometimes left out."""
    if set(names) == set(every) and rnd.random() < 0.3:
        return []
    chosen = names + rnd.sample(names, k=rnd.randint(0, len(names)))
    rnd.shuffle(chosen)
    out: list[str] = []
    while chosen:
        k = rnd.randint(1, len(chosen))
        out.append(",".join(f" {v}" if rnd.random() < 0.2 else v for v in chosen[:k]))
        chosen = chosen[k:]
    return out


selections = st.tuples(
    st.sets(st.sampled_from([t.value for t in AssetType])),
    st.sets(st.sampled_from([s.value for s in AssetStatus])),
    st.sampled_from([None, "mine", "system"]), st.integers(1, 50), st.integers(1, 100),
    st.randoms(use_true_random=False))


def spellings(selection: Selection) -> list[str]:
    """Three random spellings of the selection (types, statuses, scope, page, pageSize)."""
    types, statuses, scope, page, size, rnd = selection
    out = []
    for _ in range(3):
        pairs = [("type", v) for v in spell(sorted(types), [t.value for t in AssetType], rnd)]
        pairs += [("status", v) for v in spell(sorted(statuses) or ["READY"], ["READY"], rnd)]
        if scope or rnd.random() < 0.3:
            pairs.append(("scope", scope or ""))
        if page != 1 or rnd.random() < 0.5:
            pairs.append(("page", f"{'0' * rnd.randint(0, 2)}{page}"))
        if size != 20 or rnd.random() < 0.5:
            pairs.append(("pageSize", f"{size}"))
        if rnd.random() < 0.3:
            pairs.append(("unknown", "ignored"))
        rnd.shuffle(pairs)
        out.append(urlencode(pairs))
    return out
