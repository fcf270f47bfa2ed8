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


def _d(digest: int) -> int:
    return digest & 0xFFFF_FFFF_FFFF_FFFF or 1  # 0 marks "unseen"


class _Digests:
    """(sequence, kind) -> digest. The first kind seen at a sequence is stored densely
    (digest and a small kind code); a second kind at the same number goes to a side table."""

    __slots__ = ("base", "dense", "kind_codes", "kinds", "sparse", "sparse_numbers")

    def __init__(self) -> None:
        self.base: int | None = None
        self.dense = array("Q")
        self.kinds = array("B")
        self.kind_codes: dict[str, int] = {}
        self.sparse: dict[tuple[int, str], int] = {}
        self.sparse_numbers: set[int] = set()

    def _code(self, kind: str) -> int:
        code = self.kind_codes.get(kind)
        if code is None:
            code = len(self.kind_codes) % 256
            self.kind_codes[kind] = code
        return code

    def get(self, seq: int, kind: str) -> int | None:
        if self.base is not None and 0 <= seq - self.base < len(self.dense):
            i = seq - self.base
            if self.dense[i] and self.kinds[i] == self._code(kind):
                return self.dense[i]
        return self.sparse.get((seq, kind))

    def put(self, seq: int, kind: str, digest: int) -> None:
        digest, code = _d(digest), self._code(kind)
        if self.base is None:
            self.base = seq
        i = seq - self.base
        n = len(self.dense)
        if 0 <= i < n and not self.dense[i]:
            self.dense[i], self.kinds[i] = digest, code
        elif n <= i <= n + _MAX_DENSE_JUMP:
            self.dense.extend([0] * (i - n))
            self.kinds.extend([0] * (i - n))
            self.dense.append(digest)
            self.kinds.append(code)
        else:
            self.sparse[(seq, kind)] = digest
            self.sparse_numbers.add(seq)

    def seen_number(self, seq: int) -> bool:
        """Whether any message with this sequence number was seen."""
        i = seq - self.base if self.base is not None else -1
        if 0 <= i < len(self.dense) and self.dense[i]:
            return True
        return seq in self.sparse_numbers


class StreamState:
    """One sequenced stream of one venue account."""

    __slots__ = ("day", "digests", "last", "low", "missing")

    def __init__(self, day: str) -> None:
        self.day = day
        self.digests = _Digests()
        self.last: int | None = None
        #: The lowest number seen: a lower one opens a gap for the numbers between.
        self.low: int | None = None
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
        if s is not None and s.missing:
            # The day is over: no replay can bring its lost messages back any more.
            _report(st, venue, account, s, [(lo, hi) for lo, hi, _ in s.missing], t)
        s = StreamState(ev.day)  # first message, or a new trading day: numbering restarts
        streams[(venue, account)] = s
    elif ev.day and ev.day < s.day:
        st.counters["sequence.previous_day"] += 1
        return False
    seen = s.digests.get(ev.sequence, ev.kind)
    if seen is not None:
        if seen == _d(ev.digest):
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
    number_seen = s.digests.seen_number(ev.sequence)
    s.digests.put(ev.sequence, ev.kind, ev.digest)
    if number_seen:
        return True  # another kind of message already accounted for this number
    if s.last is None or s.low is None:
        s.last = s.low = ev.sequence
    elif ev.sequence < s.low:
        if ev.sequence < s.low - 1:
            s.missing.append((ev.sequence + 1, s.low - 1, t))
            st.schedule(t + st.config.settle_window, Check.SEQUENCE_GAP, venue, account)
        s.low = ev.sequence
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
    _report(st, venue, account, s, ripe, due)


def _report(
    st: State, venue: str, account: str, s: StreamState, ripe: list[tuple[int, int]], t: float
) -> None:
    ranges = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ripe)
    count = sum(hi - lo + 1 for lo, hi in ripe)
    st.alert(
        AlertCode.SEQUENCE_GAP,
        venue=venue,
        account=account,
        t=t,
        message=f"{label(venue)} stream for {account} skipped {count} sequence "
        f"number{'s' if count != 1 else ''} ({ranges}); those messages were lost.",
        evidence={"missing": ranges, "missing_count": str(count), "day": s.day},
        facts=("gap", account, s.day, tuple(ripe)),
    )
