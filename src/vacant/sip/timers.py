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
from typing import Final, Generic, TypeVar

from mypy_extensions import mypyc_attr

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


@mypyc_attr(allow_interpreted_subclasses=True)
class TimerOwner(Generic[K]):
    """Something with timers (a transaction): which are armed, and what to do when one fires.

    ``timers`` maps each armed timer to the sequence number of its arming; the heap owns the
    numbers, the owner only keeps the map (a ``dict`` of its own). A base class, not a
    ``Protocol``, as ``TransactionHost`` is: compiled, the heap reads the map and fires the
    timer in C, where a protocol's attribute and method are Python-level lookups.
    """

    __slots__ = ("timers",)

    def __init__(self) -> None:
        self.timers: dict[K, int] = {}

    def fire(self, timer: K) -> None:
        """React to ``timer`` expiring (the heap has already disarmed it)."""
        raise NotImplementedError


#: A queued arming: (deadline, sequence number, the owner's ``timers``, owner, timer). The map
#: is the owner's own, kept in the entry so that a check of the arming need not reach the owner
#: (a transaction the queue has kept for seconds, cold in the cache).
_Entry = tuple[float, int, dict[K, int], TimerOwner[K], K]


def _live(entry: _Entry[K]) -> bool:
    """Whether ``entry`` is still its owner's arming of its timer (not disarmed or re-armed)."""
    armed = entry[2].get(entry[4])
    return armed is not None and armed == entry[1]  # narrowed: an int comparison when compiled


#: Below this many stale entries the queues are never rebuilt.
COMPACT_MIN: Final = 1024
#: The queues are rebuilt when stale entries outnumber the live ones this many times over. Each
#: call leaves three that drop off the heads on their own within 2 s (Timer Trying, G, and H from
#: the young queue), so while a load begins, with fewer than 2.7 s of Timer I entries queued, the
#: stale ones outnumber the live up to three times. Rebuilding as soon as they outnumbered them
#: at all, a rebuild of every queue (90,000 entries, 4-6 ms at 17,500 calls/s, in one call) came
#: 2.5 s into every load (docs/benchmarks.md, ninth round). At four times, memory stays bounded
#: (in proportion to the live entries), and that ramp never rebuilds.
STALE_RATIO: Final = 4
#: An arming longer than this (Timers B, F, H, L and M: 64*T1) waits in the young queue first.
YOUNG_LIMIT: Final = 8.0
#: How long an arming stays young: most long timers are disarmed well within it (an ACK or a
#: response comes in milliseconds).
YOUNG_SPAN: Final = 2.0


class TimerHeap(Generic[K]):
    """Every deadline of an endpoint: one FIFO queue per timer, a binary heap for the rest,
    lazy deletion.

    Why FIFOs: a timer of one kind nearly always has one duration (Timer H is 64*T1, Timer I is
    T4, ...) and ``now`` never goes back, so its deadlines arrive in order, and a queue per timer
    keeps them sorted with O(1) arming and expiry, where one heap over every transaction's
    timers (tens of thousands at a few thousand calls per second) costs O(log n) per push and
    per pop. An arming whose deadline is earlier than the last one queued for that timer (Timer
    G or E backing off, a caller whose clock is not monotonic) goes to the heap instead, so any
    order of deadlines stays correct.

    Arming appends ``(deadline, seq, owner.timers, owner, timer)`` and records ``seq`` in
    ``owner.timers``; disarming only forgets the record, so the entry goes stale and is dropped
    when it reaches the head of its queue or heap. A long timer would keep its stale entry (and
    the transaction it holds) queued for its whole span: Timer H, 32 s, for every INVITE
    answered 404 whose ACK came a millisecond later. So an arming longer than ``YOUNG_LIMIT``
    made with ``now`` waits ``YOUNG_SPAN`` in its timer's young queue and is then moved to the
    timer's queue only if still armed: most leave there, one at a time, when that timer is armed
    again or any timer expires. Young queues are in deadline order too, so their heads take part
    in ``next_deadline`` as the other queues' do. When stale entries still outnumber the live
    ones ``STALE_RATIO`` times over (and there are more than ``COMPACT_MIN``), everything is
    rebuilt without them, which bounds the memory and the transactions kept alive. A timer of
    zero duration (D, I, J, K over TCP/TLS) bypasses all this: ``run_due`` fires it before the
    endpoint call that armed it returns. Entries with equal deadlines fire in the order they
    were armed.
    """

    __slots__ = ("_due", "_heap", "_queues", "_seq", "_stale", "_young")

    def __init__(self) -> None:
        self._queues: dict[K, deque[_Entry[K]]] = {}
        self._heap: list[_Entry[K]] = []
        #: Per timer, (when it moves on, entry) for long armings, in deadline order.
        self._young: dict[K, deque[tuple[float, _Entry[K]]]] = {}
        self._due: deque[tuple[TimerOwner[K], K, int]] = deque()
        self._seq = 0
        self._stale = 0

    def __len__(self) -> int:
        """Entries queued, stale ones included."""
        queued = len(self._heap) + sum(len(young) for young in self._young.values())
        return queued + sum(len(queue) for queue in self._queues.values())

    def arm(
        self, owner: TimerOwner[K], timer: K, deadline: float | None, now: float | None = None
    ) -> None:
        """Fire ``timer`` on ``owner`` at ``deadline`` (``None``: as soon as the current call
        ends), replacing any arming of the same timer. ``now``, when given, lets a long arming
        wait in the young queue (see the class docstring)."""
        self._seq = seq = self._seq + 1
        timers = owner.timers
        timers[timer] = seq
        if deadline is None:
            self._due.append((owner, timer, seq))
            return
        entry = (deadline, seq, timers, owner, timer)
        if now is None or deadline - now <= YOUNG_LIMIT:
            self._enqueue(entry)
            return
        young = self._young.get(timer)
        if young is None:
            young = self._young[timer] = deque()
        elif young and young[0][0] <= now:
            self._promote(young, now)
        if not young or young[-1][1][0] <= deadline:
            young.append((now + YOUNG_SPAN, entry))
        else:
            self._enqueue(entry)  # out of order: the young queue stays sorted

    def _enqueue(self, entry: _Entry[K]) -> None:
        """Queue ``entry`` behind its timer's last deadline, or in the heap if it is earlier."""
        timer = entry[4]
        queue = self._queues.get(timer)
        if queue is None:
            queue = self._queues[timer] = deque()
        if not queue or queue[-1][0] <= entry[0]:
            queue.append(entry)
        else:
            heapq.heappush(self._heap, entry)

    def _promote(self, young: deque[tuple[float, _Entry[K]]], now: float) -> None:
        """Move the armings of ``young`` whose time has come to their queue, dropping the
        stale ones."""
        while young and young[0][0] <= now:
            entry = young.popleft()[1]
            if _live(entry):
                self._enqueue(entry)
            else:
                self._stale -= 1

    def cancel(self, owner: TimerOwner[K]) -> None:
        """Disarm every timer of ``owner``; rebuild the queues if they are mostly stale."""
        timers = owner.timers
        if not timers:
            return
        self._stale += len(timers)
        timers.clear()
        stale = self._stale
        if stale > COMPACT_MIN and stale > STALE_RATIO * (len(self) - stale):
            for timer, queue in self._queues.items():
                self._queues[timer] = deque(entry for entry in queue if _live(entry))
            heap = self._heap
            heap[:] = [entry for entry in heap if _live(entry)]
            heapq.heapify(heap)
            for timer, young in self._young.items():
                self._young[timer] = deque(item for item in young if _live(item[1]))
            self._stale = 0

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or ``None``; drops the stale entries it passes."""
        earliest: float | None = None
        for queue in self._queues.values():
            while queue:
                if _live(head := queue[0]):
                    if earliest is None or head[0] < earliest:
                        earliest = head[0]
                    break
                queue.popleft()
                self._stale -= 1
        heap = self._heap
        while heap:
            if _live(head := heap[0]):
                if earliest is None or head[0] < earliest:
                    earliest = head[0]
                break
            heapq.heappop(heap)
            self._stale -= 1
        for young in self._young.values():
            while young:
                if _live(head := young[0][1]):
                    if earliest is None or head[0] < earliest:
                        earliest = head[0]
                    break
                young.popleft()
                self._stale -= 1
        return earliest

    def expire(self, now: float) -> None:
        """Fire every timer due at ``now`` (and those they arm with zero duration)."""
        for young in self._young.values():
            self._promote(young, now)
        due: list[_Entry[K]] = []
        sources = 0  # queues (and the heap) with live entries due: each gives them in order
        for queue in self._queues.values():
            before = len(due)
            while queue and queue[0][0] <= now:
                entry = queue.popleft()
                if _live(entry):
                    due.append(entry)
                else:
                    self._stale -= 1
            sources += len(due) > before
        heap = self._heap
        before = len(due)
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if _live(entry):
                due.append(entry)
            else:
                self._stale -= 1
        sources += len(due) > before
        if sources > 1:
            # Deadline, then arming order (``seq`` is unique: owners are never compared). What
            # fires arms its next timers later than ``now``, so none of them is due in this
            # call; what it disarms is skipped below.
            due.sort()
        for _, seq, timers, owner, timer in due:
            armed = timers.get(timer)  # ``_fire``, inlined: this loop is hot
            if armed is not None and armed == seq:
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
