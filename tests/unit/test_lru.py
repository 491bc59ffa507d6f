"""BoundedLRU: both caps hold after every operation, the least recently used goes first, and
threads writing and reading at once leave it consistent."""

from __future__ import annotations

import threading
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.lru import BoundedLRU


def sized(entries: int, max_bytes: int) -> BoundedLRU[int, bytes]:
    return BoundedLRU(entries, max_bytes, len)


def test_the_entry_cap_evicts_the_least_recently_used() -> None:
    lru = sized(3, 1000)
    for k in (1, 2, 3):
        lru.put(k, b"x")
    assert lru.get(1) == b"x"  # 1 is now the most recent: 2 goes next
    lru.put(4, b"x")
    assert lru.get(2) is None
    assert [lru.get(k) for k in (1, 3, 4)] == [b"x"] * 3
    assert len(lru) == 3


def test_the_byte_cap_evicts_until_the_new_value_fits() -> None:
    lru = sized(100, 10)
    lru.put(1, b"aaaa")
    lru.put(2, b"bbbb")
    lru.put(3, b"cccccc")  # 14 bytes: 1 goes, 2 stays
    assert lru.get(1) is None and lru.get(2) == b"bbbb" and lru.get(3) == b"cccccc"
    assert lru.nbytes == 10


def test_a_value_larger_than_the_cache_is_not_kept_and_drops_the_stale_one() -> None:
    lru = sized(10, 8)
    lru.put(1, b"small")
    lru.put(1, b"far too large")
    assert lru.get(1) is None and lru.nbytes == 0
    lru.put(2, b"ok")
    assert lru.get(2) == b"ok"


def test_replacing_a_value_counts_its_new_size() -> None:
    lru = sized(10, 10)
    lru.put(1, b"12345")
    lru.put(1, b"1")
    lru.put(2, b"123456789")
    assert lru.get(1) == b"1" and lru.nbytes == 10


def test_get_many_and_put_many_act_as_one_by_one() -> None:
    lru = sized(2, 100)
    lru.put_many([(1, b"a"), (2, b"b"), (3, b"c")])
    assert lru.get_many([1, 2, 3]) == [None, b"b", b"c"]


def test_caps_must_leave_room_for_something() -> None:
    with pytest.raises(ValueError):
        sized(0, 10)
    with pytest.raises(ValueError):
        sized(10, 0)


ops = st.lists(st.tuples(st.sampled_from(["get", "put"]), st.integers(0, 9),
                         st.integers(0, 12)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(entries=st.integers(1, 5), max_bytes=st.integers(1, 20), script=ops)
def test_matches_a_model_of_least_recently_used(entries: int, max_bytes: int,
                                                 script: list[tuple[str, int, int]]) -> None:
    lru = sized(entries, max_bytes)
    model: OrderedDict[int, bytes] = OrderedDict()
    for op, key, size in script:
        if op == "get":
            assert lru.get(key) == model.get(key)
            if key in model:
                model.move_to_end(key)
            continue
        value = bytes([key]) * size
        lru.put(key, value)
        model.pop(key, None)
        if size <= max_bytes:
            model[key] = value
            while len(model) > entries or sum(map(len, model.values())) > max_bytes:
                model.popitem(last=False)
        assert len(lru) <= entries and lru.nbytes <= max_bytes
    assert lru.get_many(list(range(10))) == [model.get(k) for k in range(10)]
    assert lru.nbytes == sum(map(len, model.values()))


def test_threads_at_once_leave_it_consistent() -> None:
    lru = sized(50, 2000)
    gate = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            gate.wait()
            for i in range(3000):
                key = (i * 7 + seed * 13) % 120
                value = bytes([key % 256]) * (key % 60)
                if i % 3:
                    lru.put(key, value)
                else:
                    got = lru.get(key)
                    assert got is None or got == value  # a key's value is always its own
        except BaseException as exc:  # reported below: a thread's failure is not pytest's
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(lru) <= 50 and lru.nbytes <= 2000
    kept = [v for v in lru.get_many(range(120)) if v is not None]
    assert len(kept) == len(lru) and sum(map(len, kept)) == lru.nbytes
