"""Properties: Retry-After parsing and the webhook signature, over many inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from reconciler._sinks import MAX_RETRY_AFTER, parse_retry_after
from reconciler.signing import sign, verify

NOW = 1_752_147_100.0


@given(st.integers(min_value=0, max_value=10**15))
def test_retry_after_seconds_are_read_as_seconds(seconds: int) -> None:
    """Delay-seconds are taken as they are, up to the one-day cap."""
    assert parse_retry_after(str(seconds), NOW) == min(float(seconds), MAX_RETRY_AFTER)


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_retry_after_http_dates_are_read_relative_to_now(offset: int) -> None:
    """An HTTP-date is the time until that date (never negative)."""
    date = format_datetime(datetime.fromtimestamp(NOW + offset, UTC), usegmt=True)
    assert parse_retry_after(date, NOW) == min(max(float(offset), 0.0), MAX_RETRY_AFTER)


@given(st.text(max_size=60))
def test_retry_after_never_raises_and_stays_in_bounds(text: str) -> None:
    """Whatever a server sends, the answer is None or a delay in [0, one day]."""
    result = parse_retry_after(text, NOW)
    assert result is None or 0.0 <= result <= MAX_RETRY_AFTER


@given(
    secret=st.text(min_size=1, max_size=64),
    timestamp=st.integers(min_value=0, max_value=2**40),
    body=st.binary(max_size=512),
)
def test_a_signature_verifies_with_its_secret_timestamp_and_body(
    secret: str, timestamp: int, body: bytes
) -> None:
    """sign then verify round-trips, at the signing time."""
    assert verify(secret, str(timestamp), body, sign(secret, timestamp, body), now=timestamp)


@given(
    body=st.binary(min_size=1, max_size=256),
    index=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_changing_any_byte_of_the_body_breaks_the_signature(
    body: bytes, index: int, flip: int
) -> None:
    """One changed byte anywhere in the body and the signature no longer verifies."""
    signature = sign("k" * 32, 1000, body)
    i = index % len(body)
    tampered = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    assert not verify("k" * 32, 1000, tampered, signature, now=1000)


@given(st.text(max_size=80), st.text(max_size=20))
def test_verify_never_raises_on_garbage(signature: str, timestamp: str) -> None:
    """Malformed headers are a failed verification, not an exception."""
    assert verify("k" * 32, timestamp, b"{}", signature, now=NOW) in (True, False)
