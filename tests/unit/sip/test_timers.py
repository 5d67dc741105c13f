"""RFC 3261 Table 4 and RFC 6026 timer values (``vacant.sip.timers``)."""

import pytest

from vacant.sip.timers import (
    COMPACT_MIN,
    STALE_RATIO,
    TIMER_C,
    TRYING_DELAY,
    YOUNG_SPAN,
    TimerConfig,
    TimerHeap,
    TimerOwner,
)


def test_base_values_default_to_rfc3261_section_17_1_1_1() -> None:
    config = TimerConfig()
    assert (config.t1, config.t2, config.t4) == (0.5, 4.0, 5.0)


def test_timers_follow_rfc3261_table_4_over_udp() -> None:
    config = TimerConfig()
    assert config.timer_a == 0.5  # initially T1
    assert config.timer_b == 32.0  # 64*T1
    assert config.timer_c == TIMER_C == 180.0  # > 3 min, proxies only
    assert config.timer_d(reliable=False) == 32.0  # > 32 s for UDP
    assert config.timer_e == 0.5
    assert config.timer_f == 32.0
    assert config.timer_g == 0.5
    assert config.timer_h == 32.0
    assert config.timer_i(reliable=False) == 5.0  # T4
    assert config.timer_j(reliable=False) == 32.0  # 64*T1
    assert config.timer_k(reliable=False) == 5.0  # T4


def test_timers_d_i_j_k_are_zero_over_reliable_transports_rfc3261_table_4() -> None:
    config = TimerConfig()
    assert config.timer_d(reliable=True) == 0.0
    assert config.timer_i(reliable=True) == 0.0
    assert config.timer_j(reliable=True) == 0.0
    assert config.timer_k(reliable=True) == 0.0


def test_timers_l_and_m_are_64_t1_rfc6026() -> None:
    config = TimerConfig(t1=0.25)
    assert config.timer_l == config.timer_m == 16.0


def test_timer_d_stays_above_32_s_and_covers_64_t1_rfc3261_17_1_1_2() -> None:
    assert TimerConfig(t1=0.1).timer_d(reliable=False) == 32.0
    assert TimerConfig(t1=1.0, t2=4.0).timer_d(reliable=False) == 64.0


def test_trying_timer_is_200_ms_rfc3261_17_2_1() -> None:
    assert TimerConfig().timer_trying == TRYING_DELAY == 0.2


def test_backoff_doubles_and_caps_at_t2_rfc3261_17_1_2_2() -> None:
    config = TimerConfig()
    intervals = [config.timer_e]
    for _ in range(5):
        intervals.append(config.backoff(intervals[-1]))
    assert intervals == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_timers_scale_with_configured_t1() -> None:
    config = TimerConfig(t1=0.1, t2=1.0, t4=2.0)
    assert (config.timer_b, config.timer_f, config.timer_h) == pytest.approx((6.4, 6.4, 6.4))
    assert config.timer_i(reliable=False) == 2.0
    assert config.backoff(0.8) == 1.0


@pytest.mark.parametrize(
    ("t1", "t2", "t4"), [(0.0, 4.0, 5.0), (-1.0, 4.0, 5.0), (5.0, 4.0, 5.0), (0.5, 4.0, 0.0)]
)
def test_timer_config_refuses_values_that_cannot_work(t1: float, t2: float, t4: float) -> None:
    with pytest.raises(ValueError, match="T1"):
        TimerConfig(t1=t1, t2=t2, t4=t4)


class Owner(TimerOwner[str]):
    """A TimerOwner that records what fired."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        super().__init__()
        self.name = name
        self.log = log

    def fire(self, timer: str) -> None:
        self.log.append((self.name, timer))


def test_timer_heap_fires_due_timers_in_deadline_then_arming_order() -> None:
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    a, b = Owner("a", log), Owner("b", log)
    heap.arm(a, "H", 32.0)
    heap.arm(b, "L", 32.0)
    heap.arm(a, "G", 0.5)
    assert heap.next_deadline() == 0.5
    heap.expire(0.4)
    assert log == []
    heap.expire(32.0)
    assert log == [("a", "G"), ("a", "H"), ("b", "L")]
    assert heap.next_deadline() is None
    assert a.timers == b.timers == {}


def test_timer_heap_lazily_skips_disarmed_and_rearmed_timers() -> None:
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    owner = Owner("tx", log)
    heap.arm(owner, "G", 0.5)
    heap.arm(owner, "H", 32.0)
    heap.cancel(owner)
    heap.arm(owner, "I", 5.0)
    heap.arm(owner, "I", 6.0)  # re-armed: the 5.0 entry is stale
    assert len(heap) == 4
    assert heap.next_deadline() == 6.0  # passing drops the stale heads of every queue
    assert len(heap) == 1
    heap.expire(40.0)
    assert log == [("tx", "I")]
    heap.cancel(owner)  # nothing armed: nothing to do


def test_timer_heap_fires_zero_duration_timers_when_the_call_ends_rfc3261_table_4() -> None:
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    owner, other = Owner("tx", log), Owner("other", log)
    heap.arm(owner, "I", None)
    heap.arm(other, "J", None)
    heap.cancel(other)
    assert heap.next_deadline() is None
    heap.run_due()
    assert log == [("tx", "I")]


def test_timer_heap_is_rebuilt_when_stale_entries_outnumber_live_ones() -> None:
    """Memory stays bounded: stale entries (and the transactions they hold) do not pile up."""
    heap = TimerHeap[str]()
    log: list[tuple[str, str]] = []
    keep = Owner("keep", log)
    heap.arm(keep, "L", 100.0)
    for n in range(COMPACT_MIN + 10):
        owner = Owner(str(n), log)
        heap.arm(owner, "H", 32.0)
        heap.cancel(owner)
    assert len(heap) < COMPACT_MIN
    assert heap.next_deadline() == 100.0


def test_timer_heap_keeps_deadlines_armed_out_of_order_correct() -> None:
    """A timer kind's deadlines usually come in order (one FIFO each); one that comes earlier
    than the last of its kind (Timer G backing off, §17.2.1) still fires at its own time, and
    equal deadlines still fire in arming order across queues and heap."""
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    a, b, c, d = (Owner(name, log) for name in "abcd")
    heap.arm(a, "G", 4.0)  # a's fourth retransmission interval
    heap.arm(b, "G", 1.5)  # b's first: earlier than a's, so out of the FIFO's order
    heap.arm(c, "G", 4.0)  # equal to a's: fires after it
    heap.arm(d, "H", 1.5)  # equal to b's, armed later: fires after it
    assert len(heap) == 4
    assert heap.next_deadline() == 1.5
    heap.expire(1.5)
    assert log == [("b", "G"), ("d", "H")]
    assert heap.next_deadline() == 4.0
    heap.expire(4.0)
    assert log[2:] == [("a", "G"), ("c", "G")]
    assert heap.next_deadline() is None


def test_timer_heap_next_deadline_compares_queues_with_the_heap() -> None:
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    a, b, c = Owner("a", log), Owner("b", log), Owner("c", log)
    heap.arm(a, "G", 2.0)
    heap.arm(b, "G", 1.0)  # to the heap: earliest
    assert heap.next_deadline() == 1.0
    heap.arm(c, "G", 0.5)  # to the heap too
    heap.cancel(c)  # a stale heap head is dropped on the way
    heap.cancel(b)
    assert heap.next_deadline() == 2.0
    heap.arm(b, "G", 1.0)
    heap.arm(c, "I", 0.5)  # a queue of its own, earlier than the heap's head
    assert heap.next_deadline() == 0.5
    heap.expire(2.0)
    assert log == [("c", "I"), ("b", "G"), ("a", "G")]


def test_timer_heap_is_not_rebuilt_while_a_load_begins() -> None:
    """Each call leaves three stale entries (Timer Trying, G, and H from the young queue) that
    leave the heads on their own, beside one live Timer I: until Timer I holds 2.7 s of calls,
    the stale outnumber the live up to three times. A rebuild of every queue then was a stall of
    several milliseconds 2.5 s into every load; only ``STALE_RATIO`` times the live rebuilds."""
    heap = TimerHeap[str]()
    log: list[tuple[str, str]] = []
    live = 2 * COMPACT_MIN
    for n in range(live):
        heap.arm(Owner(f"i{n}", log), "I", 5.0 + n)
    for n in range(3 * live):
        owner = Owner(f"s{n}", log)
        heap.arm(owner, "G", 0.5 + n)
        heap.cancel(owner)
    assert len(heap) == 4 * live  # no rebuild
    for n in range((STALE_RATIO - 3) * live + 1):
        owner = Owner(f"t{n}", log)
        heap.arm(owner, "G", 0.5 + 3 * live + n)
        heap.cancel(owner)
    assert len(heap) == live  # rebuilt: only the live are left
    assert heap.next_deadline() == 5.0


def test_timer_heap_rebuild_keeps_live_entries_of_the_heap() -> None:
    heap = TimerHeap[str]()
    log: list[tuple[str, str]] = []
    keep, early = Owner("keep", log), Owner("early", log)
    heap.arm(keep, "G", 100.0)
    heap.arm(early, "G", 50.0)  # in the heap
    for n in range(COMPACT_MIN + 10):
        owner = Owner(str(n), log)
        heap.arm(owner, "G", 40.0)  # every one to the heap (earlier than 100)
        heap.cancel(owner)
    assert len(heap) < COMPACT_MIN
    heap.expire(100.0)
    assert log == [("early", "G"), ("keep", "G")]


def test_a_long_timer_disarmed_soon_leaves_the_heap_within_the_young_span() -> None:
    """Timer H (64*T1) of every INVITE answered 404 is disarmed by its ACK a moment later: its
    entry is gone once it has been young for ``YOUNG_SPAN``, not after 32 s (nor at a rebuild of
    every queue, which took 40 ms at 12,000 calls/s)."""
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    for n in range(100):  # fewer stale entries than COMPACT_MIN: no rebuild
        owner = Owner(str(n), log)
        heap.arm(owner, "H", 32.0, now=0.0)
        heap.cancel(owner)
    assert len(heap) == 100
    assert heap.next_deadline() is None  # stale young heads are dropped on the way
    kept = Owner("kept", log)
    heap.arm(kept, "H", 33.0, now=1.0)
    heap.arm(Owner("late", log), "H", 33.0 + YOUNG_SPAN, now=1.0 + YOUNG_SPAN)
    assert len(heap) == 2  # "kept" moved to the H queue, "late" young
    assert heap.next_deadline() == 33.0
    heap.expire(33.0)
    assert log == [("kept", "H")]


def test_young_timers_fire_at_their_deadline_in_arming_order() -> None:
    """A young arming takes part in ``next_deadline`` and fires on time even if nothing moved
    it on; an arming earlier than the last young one of its timer goes straight to the queues;
    the other stale young entries go in a rebuild."""
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()
    a, b, c = (Owner(name, log) for name in "abc")
    heap.arm(a, "B", 40.0, now=8.0)
    heap.arm(b, "B", 39.0, now=8.5)  # earlier than a's, out of the young queue's order
    heap.arm(c, "F", 39.0, now=9.0)  # another timer: a young queue of its own
    assert heap.next_deadline() == 39.0
    for n in range(COMPACT_MIN + 10):  # stale young entries outnumber the live: a rebuild
        owner = Owner(str(n), log)
        heap.arm(owner, "F", 40.0, now=9.0)
        heap.cancel(owner)
    assert len(heap) == 3 + 9  # rebuilt at the 1,025th stale entry; nine more since
    heap.expire(40.0)
    assert log == [("b", "B"), ("c", "F"), ("a", "B")]
    assert heap.next_deadline() is None


def test_a_timer_disarmed_by_one_firing_before_it_at_the_same_time_does_not_fire() -> None:
    """Timer H ends its transaction, which disarms the Timer G due at the same instant."""
    log: list[tuple[str, str]] = []
    heap = TimerHeap[str]()

    class Ending(Owner):
        def fire(self, timer: str) -> None:
            super().fire(timer)
            heap.cancel(self)

    tx = Ending("tx", log)
    heap.arm(tx, "H", 32.0)
    heap.arm(tx, "G", 32.0)
    heap.expire(32.0)
    assert log == [("tx", "H")]
    assert heap.next_deadline() is None
