"""Bit-exact copies of the random streams the reference LoadGen draws from.

The reference seeds ``std::mt19937`` engines and runs libstdc++'s (GCC 11 and later, 64-bit
Linux) distribution algorithms on them. Python's ``random`` and numpy's distributions give other
streams, so this module re-implements exactly the pieces the reference uses:

* ``Mt19937``: the engine, seeded like ``std::mt19937(seed)`` (seed taken mod 2**32);
* ``uniform_int``: ``std::uniform_int_distribution`` on a 32-bit engine, which is Lemire's
  nearly-divisionless method: multiply a 32-bit draw by the range size, keep the high word, and
  reject a draw whose low word falls below ``2**32 mod size``;
* ``shuffle``: ``std::shuffle``, which takes two swap positions from one draw when ``n * n``
  fits in the engine's range, and one position per draw otherwise;
* ``generate_canonical``: ``std::generate_canonical<double, 53>`` from two 32-bit draws, which
  is also what ``uniform_real_distribution(0, 1)`` returns;
* ``exponential_ns_many``: ``std::exponential_distribution`` gaps converted to integer
  nanoseconds by truncation, as ``duration_cast<nanoseconds>`` does.

Every function has a bulk form that consumes the stream exactly as repeated scalar calls would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, MutableSequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_STATE_WORDS = 624
_MASK32 = 0xFFFF_FFFF
_TWO32 = 1 << 32
DEFAULT_SEED = 5489  # std::mt19937's default_seed

# Entries drawn (or mapped) per batch while a plan builds its per-sample arrays: bounds the
# temporaries of a million-sample plan to a few megabytes without slowing the batches down.
CHUNK = 1 << 16
_TWO_POW_32_F = 4294967296.0
_TWO_POW_MINUS_64_F = 2.0**-64
_BELOW_ONE = math.nextafter(1.0, 0.0)  # generate_canonical's clamp for a sum that rounds to 1
_SCALAR_CHUNK = 256  # draws fetched at once to serve scalar calls cheaply
_LOG_CHUNK = 1 << 16  # exponential draws converted per batch
_SHUFFLE_BATCH = 1 << 16  # shuffle draws made (as Python ints) per batch, whole shuffles


def _seeded_key(seed: int) -> U32:
    """std::mt19937's seed(): the init_genrand recurrence on ``seed mod 2**32``."""
    key = [0] * _STATE_WORDS
    prev = seed & _MASK32
    key[0] = prev
    for i in range(1, _STATE_WORDS):
        prev = (1812433253 * (prev ^ (prev >> 30)) + i) & _MASK32
        key[i] = prev
    return np.array(key, dtype=np.uint32)


class _Twister:
    """The MT19937 recurrence and tempering on a 624-word state, 624 outputs per twist.

    Written with numpy rather than taken from ``numpy.random``, whose import alone costs
    about 7 MiB of resident memory. The twist updates word ``i`` from words ``i + 1`` and
    ``i + 397`` (mod 624), reading words already updated once ``i + 397`` wraps; it is done
    in four vector steps whose inputs are, in turn, all old or all already updated.
    """

    def __init__(self, key: U32) -> None:
        self._state = key.astype(np.uint32)

    def outputs(self, n: int) -> U32:
        """The next ``n`` outputs (whole twists; callers keep what they do not use)."""
        blocks = -(-n // _STATE_WORDS)
        out = np.empty((blocks, _STATE_WORDS), dtype=np.uint32)
        for block in out:
            self._twist()
            block[:] = self._state
        return _temper(out.reshape(-1))

    def _twist(self) -> None:
        mt = self._state
        # Words 0..226 read words 397..623 (old); 227..453 read 0..226 and 454..622 read
        # 227..395 (both updated by the step before); 623 reads the updated words 0 and 396.
        mt[0:227] = _mix(mt[0:227], mt[1:228], mt[397:624])
        mt[227:454] = _mix(mt[227:454], mt[228:455], mt[0:227])
        mt[454:623] = _mix(mt[454:623], mt[455:624], mt[227:396])
        mt[623:] = _mix(mt[623:], mt[:1], mt[396:397])


_UPPER, _LOWER, _MATRIX = np.uint32(0x8000_0000), np.uint32(0x7FFF_FFFF), np.uint32(0x9908_B0DF)


def _mix(word: U32, successor: U32, ahead: U32) -> U32:
    y = (word & _UPPER) | (successor & _LOWER)
    mixed: U32 = ahead ^ (y >> np.uint32(1)) ^ ((y & np.uint32(1)) * _MATRIX)
    return mixed


def _temper(words: U32) -> U32:
    y = words ^ (words >> np.uint32(11))
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C_5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC6_0000)
    tempered: U32 = y ^ (y >> np.uint32(18))
    return tempered


class Mt19937:
    """A ``std::mt19937`` stream serving scalar and bulk 32-bit draws from one sequence.

    A buffer of already-twisted outputs serves scalar calls; bulk calls drain that buffer
    first, so the order of the stream never depends on how it was read.
    """

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self._twister = _Twister(_seeded_key(seed))
        self._spare = np.empty(0, dtype=np.uint32)  # twisted outputs not handed out yet
        self._buffer: list[int] = []
        self._next = 0

    def _raw(self, n: int) -> U32:
        """The next ``n`` outputs after the scalar buffer: spare ones first, then new twists."""
        if n > len(self._spare):
            self._spare = np.concatenate([self._spare, self._twister.outputs(n - len(self._spare))])
        raw, self._spare = self._spare[:n], self._spare[n:]
        return raw

    def next_u32(self) -> int:
        """The next 32-bit output."""
        if self._next == len(self._buffer):
            self._buffer = self._raw(_SCALAR_CHUNK).tolist()
            self._next = 0
        value = self._buffer[self._next]
        self._next += 1
        return value

    def take(self, n: int) -> U32:
        """The next ``n`` outputs as an array."""
        buffered = self._buffer[self._next : self._next + n]
        self._next += len(buffered)
        rest = n - len(buffered)
        fresh = self._raw(rest) if rest > 0 else np.empty(0, np.uint32)
        if not buffered:
            return fresh
        return np.concatenate([np.array(buffered, dtype=np.uint32), fresh])


# --- uniform integers ----------------------------------------------------------------------


def _check_range_size(size: int) -> None:
    # Sizes above 2**32 take libstdc++'s "upscaling" branch, which no reference call reaches.
    if not 1 <= size <= _TWO32:
        raise ValueError(f"uniform_int range size {size} is outside [1, 2**32]")


def _lemire(rng: Mt19937, size: int) -> int:
    """A uniform integer in ``[0, size)``, ``1 <= size < 2**32``."""
    product = rng.next_u32() * size
    low = product & _MASK32
    if low < size:
        threshold = (_TWO32 - size) % size
        while low < threshold:
            product = rng.next_u32() * size
            low = product & _MASK32
    return product >> 32


def uniform_int(rng: Mt19937, a: int, b: int) -> int:
    """``std::uniform_int_distribution(a, b)(rng)``, for ``b - a < 2**32``."""
    size = b - a + 1
    _check_range_size(size)
    if size == _TWO32:  # the engine's full range: libstdc++ returns the draw as it is
        return a + rng.next_u32()
    return a + _lemire(rng, size)


def _lemire_varying(rng: Mt19937, sizes: U64) -> U64:
    """One Lemire draw per entry of ``sizes`` (each in ``[1, 2**32)``), in order.

    A rejected draw makes the same step draw again, which shifts every later draw by one.
    The draws are therefore matched to steps window by window: accept up to the first
    rejection, drop the rejected draw, and carry on. The window shrinks where rejections are
    frequent (sizes near 2**32) and grows back where they are rare.
    """
    n = len(sizes)
    thresholds = (np.uint64(_TWO32) - sizes) % sizes
    out = np.empty(n, dtype=np.uint64)
    pending = np.empty(0, dtype=np.uint64)
    done = 0
    window = max(n, 1)
    while done < n:
        m = min(n - done, window)
        if len(pending) < m:
            extra = rng.take(m - len(pending)).astype(np.uint64)
            pending = np.concatenate([pending, extra])
        product = pending[:m] * sizes[done : done + m]
        rejected = (product & np.uint64(_MASK32)) < thresholds[done : done + m]
        k = int(np.argmax(rejected)) if rejected.any() else m
        out[done : done + k] = product[:k] >> np.uint64(32)
        done += k
        if k < m:
            pending = pending[k + 1 :]
            window = max(32, 2 * (k + 1))
        else:
            pending = pending[m:]
            window = min(2 * window, 1 << 20)
    return out


def uniform_int_many(rng: Mt19937, a: int, b: int, n: int) -> npt.NDArray[np.int64]:
    """``n`` successive ``uniform_int(rng, a, b)`` draws, for ``b - a < 2**32``.

    With one range size, a rejected draw is simply skipped, so the accepted draws in stream
    order are the results.
    """
    size = b - a + 1
    _check_range_size(size)
    if size == _TWO32:
        return rng.take(n).astype(np.int64) + a
    size_u = np.uint64(size)
    threshold = np.uint64((_TWO32 - size) % size)
    parts: list[U64] = []
    missing = n
    while missing > 0:
        product = rng.take(missing).astype(np.uint64) * size_u
        accepted = product[(product & np.uint64(_MASK32)) >= threshold] >> np.uint64(32)
        parts.append(accepted)
        missing -= len(accepted)
    result = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    return result.astype(np.int64) + a


# --- shuffles ----------------------------------------------------------------------------


def _pairs_fit(n: int) -> bool:
    """libstdc++ draws two swap positions at once when ``n * n`` fits the engine's range."""
    return (_MASK32 // n) >= n


def _shuffle_sizes(n: int) -> U64:
    """The range size of every draw one ``std::shuffle`` of ``n`` elements makes, in order."""
    if n <= 1:
        return np.empty(0, dtype=np.uint64)
    if not _pairs_fit(n):
        return np.arange(2, n + 1, dtype=np.uint64)  # swap i with uniform [0, i]
    head = [2] if n % 2 == 0 else []  # an even count first swaps element 1 alone
    first_pair = 2 if n % 2 == 0 else 1  # elements first_pair, first_pair + 2, ... start a pair
    b0 = np.arange(first_pair, n, 2, dtype=np.uint64) + np.uint64(1)  # swap range of element i
    return np.concatenate([np.array(head, dtype=np.uint64), b0 * (b0 + np.uint64(1))])


def _apply_shuffle(items: MutableSequence[T], draws: list[int]) -> None:
    """Perform the swaps of one ``std::shuffle`` given its draws (from ``_shuffle_sizes``)."""
    n = len(items)
    if n <= 1:
        return
    if not _pairs_fit(n):
        for i, j in enumerate(draws, start=1):
            items[i], items[j] = items[j], items[i]
        return
    i = 1
    pos = 0
    if n % 2 == 0:
        j = draws[0]
        items[1], items[j] = items[j], items[1]
        i, pos = 2, 1
    for x in draws[pos:]:
        b1 = i + 2  # second swap range; the first is i + 1
        j1, j2 = x // b1, x % b1
        items[i], items[j1] = items[j1], items[i]
        items[i + 1], items[j2] = items[j2], items[i + 1]
        i += 2


def shuffle(rng: Mt19937, items: MutableSequence[T]) -> None:
    """``std::shuffle(items.begin(), items.end(), rng)`` in place."""
    _apply_shuffle(items, _lemire_varying(rng, _shuffle_sizes(len(items))).tolist())


def shuffle_repeatedly(rng: Mt19937, base: list[T], times: int, *, chained: bool) -> list[list[T]]:
    """``times`` successive shuffles (see ``successive_shuffles``), as a list."""
    return list(successive_shuffles(rng, base, times, chained=chained))


def successive_shuffles(
    rng: Mt19937, base: list[T], times: int, *, chained: bool
) -> Iterator[list[T]]:
    """``times`` successive shuffles, each yielded as a fresh list.

    ``chained`` shuffles the previous result again each time (one vector shuffled over and
    over); otherwise every shuffle starts from a fresh copy of ``base``. Draws are made a
    batch of shuffles at a time: as Python ints, all of a million-query plan's would take
    tens of MiB.
    """
    current = list(base)
    for draws in _shuffle_draws(rng, len(base), times):
        if not chained:
            current = list(base)
        _apply_shuffle(current, draws)
        yield list(current)


def skip_shuffles(rng: Mt19937, n: int, times: int) -> None:
    """Advance ``rng`` past ``times`` shuffles of ``n`` items without performing them."""
    for _ in _shuffle_draws(rng, n, times):
        pass


def _shuffle_draws(rng: Mt19937, n: int, times: int) -> Iterator[list[int]]:
    """The draws of each of ``times`` shuffles of ``n`` items, made a batch at a time."""
    sizes = _shuffle_sizes(n)
    per = len(sizes)
    batch = max(1, _SHUFFLE_BATCH // max(per, 1))
    for first in range(0, times, batch):
        count = min(batch, times - first)
        draws = _lemire_varying(rng, np.tile(sizes, count)).tolist()
        for t in range(count):
            yield draws[t * per : (t + 1) * per]


# --- real numbers --------------------------------------------------------------------------


def generate_canonical(rng: Mt19937) -> float:
    """``std::generate_canonical<double, 53>(rng)``: a double in ``[0, 1)``."""
    low = float(rng.next_u32())
    high = float(rng.next_u32())
    value = (low + high * _TWO_POW_32_F) * _TWO_POW_MINUS_64_F
    return _BELOW_ONE if value >= 1.0 else value


def generate_canonical_many(rng: Mt19937, n: int) -> F64:
    """``n`` successive ``generate_canonical`` draws."""
    pairs = rng.take(2 * n).astype(np.float64).reshape(n, 2)
    values = (pairs[:, 0] + pairs[:, 1] * _TWO_POW_32_F) * _TWO_POW_MINUS_64_F
    return np.minimum(values, _BELOW_ONE)


def exponential_ns_many(rng: Mt19937, rate: float, n: int) -> I64:
    """``n`` exponential gaps (rate per second) truncated to integer nanoseconds.

    ``-log(1 - u) / rate`` seconds, times 1e9, truncated toward zero. The logarithm is the C
    library's (``math.log``), as in the reference, because a vectorised log may differ in the
    last bit.
    """
    out = np.empty(n, dtype=np.int64)
    for start in range(0, n, _LOG_CHUNK):  # chunks bound the temporary Python floats
        count = min(_LOG_CHUNK, n - start)
        complements = (1.0 - generate_canonical_many(rng, count)).tolist()
        seconds = np.array([-math.log(c) / rate for c in complements], dtype=np.float64)
        out[start : start + count] = seconds * 1e9  # float to int64 assignment truncates
    return out
