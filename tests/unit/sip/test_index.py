"""The sharded transaction indexes (``vacant.sip.index``)."""

from collections import Counter

from vacant.sip.index import SHARDS, ShardedIndex, shard_of


def test_a_sharded_index_is_a_mapping_whose_entries_live_in_their_shard() -> None:
    index = ShardedIndex[tuple[str, int], str]()
    keys = [(f"z9hG4bK{n}", n) for n in range(1000)]
    for key in keys:
        index[key] = key[0]
    assert len(index) == 1000
    assert sorted(index.values()) == sorted(key[0] for key in keys)
    assert all(index.get(key) == key[0] and key in index for key in keys)
    assert all(index.shard(key)[key] == key[0] for key in keys)
    for key in keys[:600]:
        del index[key]
    assert len(index) == 400
    assert index.get(keys[0]) is None
    assert keys[0] not in index


def test_sequential_ids_fall_into_the_shards_at_random_not_in_turn() -> None:
    # In turn, every shard would reach its dict's rebuild at the same insertion: all at once,
    # the stall sharding is there to spread. At random, the shards' counts differ.
    counts = Counter(shard_of(n) for n in range(1, 64_001))
    assert len(counts) == SHARDS
    assert max(counts.values()) - min(counts.values()) > 40
    assert max(counts.values()) < 2 * 64_000 // SHARDS


def test_no_shard_holds_much_more_than_its_share() -> None:
    index = ShardedIndex[tuple[str, str, int, str], int]()
    for n in range(87_500):  # the transactions Timer I holds at 17,500 calls/s
        index[(f"z9hG4bK{n:08x}a", "192.0.2.10", 5060, "INVITE")] = n
    sizes = [
        len(index.shard((f"z9hG4bK{n:08x}a", "192.0.2.10", 5060, "INVITE"))) for n in range(64)
    ]
    assert max(sizes) < 2 * 87_500 // SHARDS
