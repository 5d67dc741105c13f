"""Transaction indexes that never hold the endpoint up for long to grow.

CPython rebuilds a dict when the insertions since its last rebuild have used up its free slots,
in one step that touches every entry (a deletion leaves a dummy behind, it does not give the slot
back). An index of transactions churns: an entry in per call, one out when the transaction ends
(Timer I, §17.2.1: T4 = 5 s after the ACK), tens of thousands alive at a time. So the endpoint's
indexes (by id, by §17.2.3 key, by §8.2.2.2 merge key) were rebuilt every few seconds, all three
at the same insertion, each in one step of several milliseconds at 17,500 calls/s: a stall of
10-18 ms for the calls behind it, 5 s and 10 s into every load (docs/benchmarks.md, ninth round).

``ShardedIndex`` spreads an index over ``SHARDS`` dicts by a mix of the key's hash. Each holds a
fraction of the entries, so each rebuild is that much smaller; and as the shards fill at random
rates they reach their rebuilds at different moments, spread over a fraction of a second.
"""

from collections.abc import Iterator
from typing import Final, Generic, TypeVar

from mypy_extensions import i64

K = TypeVar("K")
V = TypeVar("V")

SHARDS: Final = 64
_MASK: Final = SHARDS - 1


def shard_of(key: object) -> int:
    """The shard of ``key``: its hash mixed (two rounds of a 32-bit integer hash), so that
    sequential keys (transaction ids) fall at random too, not in turn."""
    h: i64 = hash(key)  # i64: machine arithmetic when compiled, no big ints
    h &= 0xFFFFFFFF  # products stay below 2**59
    h = (((h >> 16) ^ h) * 0x45D9F3B) & 0xFFFFFFFF
    h = (((h >> 16) ^ h) * 0x45D9F3B) & 0xFFFFFFFF
    return int(((h >> 16) ^ h) & _MASK)


class ShardedIndex(Generic[K, V]):
    """A mapping of keys to transactions, over ``SHARDS`` dicts."""

    __slots__ = ("_shards",)

    def __init__(self) -> None:
        self._shards: list[dict[K, V]] = [{} for _ in range(SHARDS)]

    def shard(self, key: K) -> dict[K, V]:
        """The dict that holds ``key``: an entry's owner keeps it, to remove the entry."""
        return self._shards[shard_of(key)]

    def get(self, key: K) -> V | None:
        return self._shards[shard_of(key)].get(key)

    def __contains__(self, key: K) -> bool:
        return key in self._shards[shard_of(key)]

    def __setitem__(self, key: K, value: V) -> None:
        self._shards[shard_of(key)][key] = value

    def __delitem__(self, key: K) -> None:
        del self._shards[shard_of(key)][key]

    def __len__(self) -> int:
        return sum(len(shard) for shard in self._shards)

    def values(self) -> Iterator[V]:
        for shard in self._shards:
            yield from shard.values()
