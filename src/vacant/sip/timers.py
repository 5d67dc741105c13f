"""The transaction timers of RFC 3261 Table 4 (§17, Appendix A) and RFC 6026 (L and M), and the
heap that keeps an endpoint's deadlines.

All durations are float seconds, computed from the three base values T1 (RTT estimate), T2
(longest retransmit interval for non-INVITE requests and INVITE responses) and T4 (longest time a
message stays in the network). Over a reliable transport timers D, I, J and K are zero: there is
nothing to absorb, because nothing is retransmitted. Deadlines are absolute: the caller's ``now``
(monotonic seconds) plus a duration; nothing here reads a clock.
"""

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

#: §17.2.1: the server transaction sends 100 Trying if the TU has not sent a provisional
#: response within 200 ms (the RFC gives this timer no letter).
TRYING_DELAY: Final = 0.2

#: Table 4: Timer C (proxy INVITE transaction timeout) is "> 3min"; a UA never uses it.
TIMER_C: Final = 180.0

#: Table 4: Timer D is "> 32s for UDP".
_TIMER_D_MIN: Final = 32.0


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1, T2 and T4 (§17.1.1.1: defaults 500 ms, 4 s, 5 s) and the timers derived from them.

    Raises:
        ValueError: a value is not positive, or T2 is smaller than T1.
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self) -> None:
        if not (0 < self.t1 <= self.t2 and self.t4 > 0):
            raise ValueError("timers need 0 < T1 <= T2 and T4 > 0")

    @property
    def timer_a(self) -> float:
        """INVITE request retransmit interval, for UDP only: initially T1, doubling (§17.1.1.2)."""
        return self.t1

    @property
    def timer_b(self) -> float:
        """INVITE transaction timeout: 64*T1 (§17.1.1.2)."""
        return 64 * self.t1

    @property
    def timer_c(self) -> float:
        """Proxy INVITE transaction timeout, > 3 min (§16.6 step 11); unused by a UA."""
        return TIMER_C

    def timer_d(self, reliable: bool) -> float:
        """Wait time for response retransmits: > 32 s for UDP (at least 64*T1, so every
        retransmission a server sends is absorbed), 0 for TCP/TLS (§17.1.1.2)."""
        return 0.0 if reliable else max(_TIMER_D_MIN, 64 * self.t1)

    @property
    def timer_e(self) -> float:
        """Non-INVITE request retransmit interval, UDP only: initially T1 (§17.1.2.2)."""
        return self.t1

    @property
    def timer_f(self) -> float:
        """Non-INVITE transaction timeout: 64*T1 (§17.1.2.2)."""
        return 64 * self.t1

    @property
    def timer_g(self) -> float:
        """INVITE response retransmit interval: initially T1 (§17.2.1)."""
        return self.t1

    @property
    def timer_h(self) -> float:
        """Wait time for ACK receipt: 64*T1 (§17.2.1)."""
        return 64 * self.t1

    def timer_i(self, reliable: bool) -> float:
        """Wait time for ACK retransmits: T4 for UDP, 0 for TCP/TLS (§17.2.1)."""
        return 0.0 if reliable else self.t4

    def timer_j(self, reliable: bool) -> float:
        """Wait time for non-INVITE request retransmits: 64*T1 for UDP, 0 for TCP/TLS
        (§17.2.2)."""
        return 0.0 if reliable else 64 * self.t1

    def timer_k(self, reliable: bool) -> float:
        """Wait time for response retransmits: T4 for UDP, 0 for TCP/TLS (§17.1.2.2)."""
        return 0.0 if reliable else self.t4

    @property
    def timer_l(self) -> float:
        """Wait time for accepted INVITE request retransmits: 64*T1 (RFC 6026 §8.7)."""
        return 64 * self.t1

    @property
    def timer_m(self) -> float:
        """Wait time for retransmission of 2xx to INVITE: 64*T1 (RFC 6026 §8.4)."""
        return 64 * self.t1

    @property
    def timer_trying(self) -> float:
        """How long an INVITE server transaction waits for the TU's provisional response
        before sending 100 Trying itself: 200 ms (§17.2.1)."""
        return TRYING_DELAY

    def backoff(self, interval: float) -> float:
        """The next Timer E or G interval after ``interval``: doubled, capped at T2
        (§17.1.2.2, §17.2.1). Timer A doubles without a cap (use ``2 * interval``)."""
        return min(2 * interval, self.t2)


K = TypeVar("K")


class TimerOwner(Protocol[K]):
    """Something with timers (a transaction): which are armed, and what to do when one fires.

    ``timers`` maps each armed timer to the sequence number of its arming; the heap owns the
    numbers, the owner only keeps the map (a ``dict`` of its own).
    """

    timers: dict[K, int]

    def fire(self, timer: K) -> None:
        """React to ``timer`` expiring (the heap has already disarmed it)."""


#: Below this many stale entries the heap is never rebuilt.
COMPACT_MIN: Final = 1024


class TimerHeap(Generic[K]):
    """Every deadline of an endpoint in one binary heap, with lazy deletion.

    Arming pushes ``(deadline, seq, owner, timer)`` and records ``seq`` in ``owner.timers``;
    disarming only forgets the record, so the entry goes stale and is skipped when it surfaces.
    When stale entries outnumber the live ones (and there are more than ``COMPACT_MIN``), the
    heap is rebuilt without them, which bounds its memory and the transactions it keeps alive.
    A timer of zero duration (D, I, J, K over TCP/TLS) bypasses the heap: ``run_due`` fires it
    before the endpoint call that armed it returns. Entries with equal deadlines fire in the
    order they were armed.
    """

    __slots__ = ("_due", "_heap", "_seq", "_stale")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerOwner[K], K]] = []
        self._due: deque[tuple[TimerOwner[K], K, int]] = deque()
        self._seq = 0
        self._stale = 0

    def __len__(self) -> int:
        """Entries in the heap, stale ones included."""
        return len(self._heap)

    def arm(self, owner: TimerOwner[K], timer: K, deadline: float | None) -> None:
        """Fire ``timer`` on ``owner`` at ``deadline`` (``None``: as soon as the current call
        ends), replacing any arming of the same timer."""
        self._seq = seq = self._seq + 1
        owner.timers[timer] = seq
        if deadline is None:
            self._due.append((owner, timer, seq))
        else:
            heapq.heappush(self._heap, (deadline, seq, owner, timer))

    def cancel(self, owner: TimerOwner[K]) -> None:
        """Disarm every timer of ``owner``; rebuild the heap if it is mostly stale."""
        timers = owner.timers
        if not timers:
            return
        self._stale += len(timers)
        timers.clear()
        heap = self._heap
        if self._stale > COMPACT_MIN and 2 * self._stale > len(heap):
            heap[:] = [entry for entry in heap if entry[2].timers.get(entry[3]) == entry[1]]
            heapq.heapify(heap)
            self._stale = 0

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or ``None``; drops the stale entries it passes."""
        heap = self._heap
        while heap:
            deadline, seq, owner, timer = heap[0]
            if owner.timers.get(timer) == seq:
                return deadline
            heapq.heappop(heap)
            self._stale -= 1
        return None

    def expire(self, now: float) -> None:
        """Fire every timer due at ``now`` (and those they arm with zero duration)."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= now:
            _, seq, owner, timer = pop(heap)
            timers = owner.timers
            if timers.get(timer) == seq:  # ``_fire``, inlined: this loop is hot
                del timers[timer]
                owner.fire(timer)
            else:
                self._stale -= 1
        self.run_due()

    def run_due(self) -> None:
        """Fire the zero-duration timers armed since the last call."""
        due = self._due
        while due:
            self._fire(*due.popleft())

    @staticmethod
    def _fire(owner: TimerOwner[K], timer: K, seq: int) -> bool:
        if owner.timers.get(timer) != seq:
            return False
        del owner.timers[timer]
        owner.fire(timer)
        return True
