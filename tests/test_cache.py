"""The LRU cache utility behind the tile and summary caches (pure, no database)."""

from app.cache import LockedLRU


def test_count_bound_evicts_the_least_recently_used():
    cache: LockedLRU[dict] = LockedLRU(max_items=2)
    cache.put("a", {"n": 1})
    cache.put("b", {"n": 2})
    assert cache.get("a") == {"n": 1}  # "b" is now the least recently used
    cache.put("c", {"n": 3})
    assert len(cache) == 2 and cache.get("b") is None and cache.get("a") == {"n": 1}


def test_size_bound_skips_values_larger_than_the_budget():
    cache: LockedLRU[bytes] = LockedLRU(max_items=10, max_size=4, sizeof=len)
    cache.put("big", b"12345")
    assert cache.get("big") is None and cache.size == 0
    cache.put("x", b"12")
    cache.put("y", b"34")
    cache.put("z", b"5")
    assert cache.get("x") is None and cache.size == 3


def test_get_or_compute_computes_once():
    calls = []
    cache: LockedLRU[list] = LockedLRU(max_items=4)
    for _ in range(3):
        assert cache.get_or_compute("k", lambda: calls.append(1) or ["v"]) == ["v"]
    assert calls == [1]
