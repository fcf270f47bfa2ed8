"""Sequenced streams (Clear Street): replays dropped, conflicts and gaps reported.

Sequence numbers restart each trading day and a (re)subscription replays the day from
sequence 1, so every (stream, day, sequence) is remembered as a 64-bit content digest
in a flat array: 8 bytes a message rather than a dict entry.
"""

from __future__ import annotations

from array import array

from reconciler._labels import label
from reconciler._state import State
from reconciler._timers import Check
from reconciler.alerts import AlertCode
from reconciler.events import Fill, OrderUpdate, Sequenced

# A jump further than this is not stored densely (it would allocate the whole gap);
# such sequence numbers go to a small side table instead.
_MAX_DENSE_JUMP = 100_000


class _Digests:
    __slots__ = ("base", "dense", "sparse")

    def __init__(self) -> None:
        self.base: int | None = None
        self.dense = array("Q")
        self.sparse: dict[int, int] = {}

    def get(self, seq: int) -> int | None:
        if self.base is not None and 0 <= seq - self.base < len(self.dense):
            return self.dense[seq - self.base] or None
        return self.sparse.get(seq)

    def put(self, seq: int, digest: int) -> None:
        digest = digest & 0xFFFF_FFFF_FFFF_FFFF or 1  # 0 marks "unseen"
        if self.base is None:
            self.base = seq
        i = seq - self.base
        n = len(self.dense)
        if 0 <= i < n:
            self.dense[i] = digest
        elif n <= i <= n + _MAX_DENSE_JUMP:
            self.dense.extend([0] * (i - n))
            self.dense.append(digest)
        else:
            self.sparse[seq] = digest


class StreamState:
    """One sequenced stream of one venue account."""

    __slots__ = ("day", "digests", "last", "missing")

    def __init__(self, day: str) -> None:
        self.day = day
        self.digests = _Digests()
        self.last: int | None = None
        #: Missing ranges [low, high] with the time the gap was noticed.
        self.missing: list[tuple[int, int, float]] = []

    def fill_hole(self, seq: int) -> None:
        """A late message filled (part of) a gap."""
        kept: list[tuple[int, int, float]] = []
        for low, high, t0 in self.missing:
            if low <= seq <= high:
                if low < seq:
                    kept.append((low, seq - 1, t0))
                if seq < high:
                    kept.append((seq + 1, high, t0))
            else:
                kept.append((low, high, t0))
        self.missing = kept


def admit(
    st: State,
    streams: dict[tuple[str, str], StreamState],
    venue: str,
    account: str,
    ev: Sequenced,
    t: float,
) -> bool:
    """Whether a sequenced message is new (apply it) or a replay/conflict (do not)."""
    s = streams.get((venue, account))
    if s is None or (ev.day and ev.day > s.day):
        s = StreamState(ev.day)  # first message, or a new trading day: numbering restarts
        streams[(venue, account)] = s
    elif ev.day and ev.day < s.day:
        st.counters["sequence.previous_day"] += 1
        return False
    seen = s.digests.get(ev.sequence)
    if seen is not None:
        if seen == (ev.digest & 0xFFFF_FFFF_FFFF_FFFF or 1):
            st.counters["duplicates.sequence"] += 1
            return False
        order_id = next((e.order_id for e in ev.events if isinstance(e, OrderUpdate | Fill)), None)
        st.alert(
            AlertCode.DUPLICATE_CONFLICT,
            venue=venue,
            account=account,
            t=t,
            order_id=order_id,
            message=f"{label(venue)} re-sent sequence number {ev.sequence} with different "
            "content than the first time; the first version is kept.",
            evidence={
                "sequence": str(ev.sequence),
                "day": s.day,
                "first_digest": f"{seen:016x}",
                "new_digest": f"{ev.digest:016x}",
            },
            facts=("sequence", account, s.day, ev.sequence, ev.digest),
        )
        return False
    s.digests.put(ev.sequence, ev.digest)
    if s.last is None:
        s.last = ev.sequence
    elif ev.sequence > s.last + 1:
        s.missing.append((s.last + 1, ev.sequence - 1, t))
        st.schedule(t + st.config.settle_window, Check.SEQUENCE_GAP, venue, account)
        s.last = ev.sequence
    elif ev.sequence > s.last:
        s.last = ev.sequence
    else:
        s.fill_hole(ev.sequence)
    return True


def check_gap(
    st: State, streams: dict[tuple[str, str], StreamState], venue: str, account: str, due: float
) -> None:
    """SEQUENCE_GAP for ranges still missing a settle window after they were noticed."""
    s = streams.get((venue, account))
    if s is None:
        return
    cutoff = due - st.config.settle_window
    ripe = [(low, high) for low, high, t0 in s.missing if t0 <= cutoff]
    if not ripe:
        return
    s.missing = [m for m in s.missing if m[2] > cutoff]
    ranges = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ripe)
    count = sum(hi - lo + 1 for lo, hi in ripe)
    st.alert(
        AlertCode.SEQUENCE_GAP,
        venue=venue,
        account=account,
        t=due,
        message=f"{label(venue)} stream for {account} skipped {count} sequence "
        f"number{'s' if count != 1 else ''} ({ranges}); those messages were lost.",
        evidence={"missing": ranges, "missing_count": str(count), "day": s.day},
        facts=("gap", account, s.day, tuple(ripe)),
    )
