"""Gamma-distributed draws and the gamma distribution function, without ``numpy.random``.

``GammaStream`` draws gamma variates from a seeded ``Mt19937`` by Marsaglia and Tsang's method
("A simple method for generating gamma variables", 2000): for shape ``a >= 1`` a candidate is
``d * v`` with ``d = a - 1/3`` and ``v = (1 + x / sqrt(9 d))**3`` for a standard normal ``x``,
accepted when ``log u < x**2 / 2 + d - d v + d log v``; for ``a < 1`` a draw of shape ``a + 1``
is multiplied by ``u**(1/a)``. Every candidate consumes the same four uniform draws (two for a
Box-Muller normal, one to accept, one for the ``a < 1`` boost), whatever its fate, and accepted
values are buffered, so the sequence depends only on the seed and the shape — not on how many
values each call asks for. (Vectorised ``log``/``exp`` may differ in the last bit between numpy
builds, so two machines can disagree by a nanosecond on rare gaps: reproducible on one install.)

``gamma_cdf`` is the regularised lower incomplete gamma function ``P(a, x)``: its power series
below ``x = a + 1`` and the continued fraction of ``Q = 1 - P`` above it (evaluated by the
modified Lentz method), vectorised over ``x`` with a fixed shape. No scipy: the run's own
health checks use it as well as the report.
"""

from __future__ import annotations

import math

import numpy as np

from asyncgen._plan.rng import F64, Mt19937, generate_canonical_many

_CANDIDATES = 1 << 14  # candidates drawn per batch (four uniforms each)
_EPS = 1e-15
_TINY = 1e-300
_MAX_TERMS = 10_000


class GammaStream:
    """Gamma(shape, scale) variates from one seeded stream, served in any batch sizes."""

    def __init__(self, rng: Mt19937, shape: float, scale: float) -> None:
        if not (shape > 0 and math.isfinite(shape)) or not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"gamma shape and scale must be positive, got {shape}, {scale}")
        self._rng, self.shape, self.scale = rng, shape, scale
        self._base = shape if shape >= 1 else shape + 1.0
        self._d = self._base - 1.0 / 3.0
        self._c = 1.0 / math.sqrt(9.0 * self._d)
        self._buffer = np.empty(0, dtype=np.float64)

    def take(self, n: int) -> F64:
        """The next ``n`` variates."""
        while len(self._buffer) < n:
            self._buffer = np.concatenate([self._buffer, self._batch()])
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def _batch(self) -> F64:
        draws = generate_canonical_many(self._rng, 4 * _CANDIDATES).reshape(_CANDIDATES, 4)
        u1, u2, u_accept, u_boost = draws.T
        x = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * math.pi * u2)
        v = 1.0 + self._c * x
        ok = v > 0
        v = np.where(ok, v, 1.0) ** 3
        d = self._d
        with np.errstate(divide="ignore"):
            log_u = np.log(u_accept)
        ok &= log_u < 0.5 * x * x + d - d * v + d * np.log(v)
        values = d * v[ok]
        if self.shape < 1:
            values *= u_boost[ok] ** (1.0 / self.shape)
        return values * self.scale


def gamma_cdf(x: F64, shape: float, scale: float = 1.0) -> F64:
    """``P(X <= x)`` for ``X ~ Gamma(shape, scale)`` (0 for ``x <= 0``)."""
    z = np.asarray(x, dtype=np.float64) / scale
    out = np.zeros(z.shape, dtype=np.float64)
    positive = z > 0
    low = positive & (z < shape + 1.0)
    high = positive & ~low
    if low.any():
        out[low] = _series(z[low], shape)
    if high.any():
        out[high] = 1.0 - _continued_fraction(z[high], shape)
    return np.clip(out, 0.0, 1.0)


def _prefactor(z: F64, a: float) -> F64:
    """``exp(-z) z**a / Gamma(a)``, in logs."""
    factor: F64 = np.exp(a * np.log(z) - z - math.lgamma(a))
    return factor


def _series(z: F64, a: float) -> F64:
    """``P(a, z)`` by its power series (converges fast for ``z < a + 1``)."""
    term = np.full(z.shape, 1.0 / a)
    total = term.copy()
    for n in range(1, _MAX_TERMS):
        term = term * z / (a + n)
        total += term
        if np.all(np.abs(term) < np.abs(total) * _EPS):
            break
    result: F64 = total * _prefactor(z, a)
    return result


def _continued_fraction(z: F64, a: float) -> F64:
    """``Q(a, z)`` by its continued fraction, modified Lentz (converges fast for ``z > a + 1``)."""
    b = z + 1.0 - a
    c = np.full(z.shape, 1.0 / _TINY)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < _EPS):
            break
    result: F64 = _prefactor(z, a) * h
    return result
