"""Hadamard matrices for balanced repeated replication, chosen as R's survey does.

BRR needs a Hadamard matrix with more rows than there are strata (pairs). Which one
is used changes the replicate weights (not the variance of linear statistics), so to
give the same replicate weights as R's ``as.svrepdesign(type="BRR")`` we pick the
matrix the same way: one of the four matrices R ships precomputed (orders 4, 16, 28,
36; exported by ``tests/reference/hadamard.R`` into ``nea_covid/data/hadamard.txt``),
a Paley construction (Paley 1933, from a prime ``p = 3 mod 4``), or a Sylvester
doubling of a precomputed one. Entries are 0/1 (``1 - H`` is the negated block).
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np
from numpy.typing import NDArray

__all__ = ["hadamard"]

_SIZES = (4, 16, 28, 36)

#: Primes p = 3 (mod 4) up to 7919, for Paley's construction (R uses the same table).
_PALEY_PRIMES = tuple(
    p for p in range(3, 7920, 4)
    if all(p % d for d in range(3, math.isqrt(p) + 1, 2))
)


@functools.cache
def _precomputed() -> tuple[NDArray[np.int8], ...]:
    text = resources.files("nea_covid").joinpath("data", "hadamard.txt").read_text()
    out = []
    for line in text.split():
        rows = line.split(",")
        out.append(np.array([[int(c) for c in row] for row in rows], dtype=np.int8))
    return tuple(out)


def _double(h: NDArray[np.int8]) -> NDArray[np.int8]:
    return np.block([[h, h], [h, 1 - h]]).astype(np.int8)


def _paley_prime(p: int) -> NDArray[np.int8]:
    """Paley's order-(p+1) matrix: 0 where ``(i + j) mod p`` is 0 or a quadratic
    residue, 1 elsewhere, bordered by a row and a column of ones."""
    residues = {0} | {(i * i) % p for i in range(1, (p - 1) // 2 + 1)}
    index = np.add.outer(np.arange(p), np.arange(p)) % p
    core = (~np.isin(index, list(residues))).astype(np.int8)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = core
    return out


def _paley(n: int, n_max: int | None = None) -> NDArray[np.int8] | None:
    """A Paley-based matrix of order just above ``n`` (None when none is small
    enough), following R's ``survey:::paley`` search."""
    n_max = 2 * n if n_max is None else n_max
    n_ceil = nn = n + 4 - n % 4
    if n % 4 + 4 == n % 8:
        while nn % 8 == 0:
            nn //= 2
        if nn - 1 in _PALEY_PRIMES:
            m = _paley_prime(nn - 1)
            while nn < n_ceil:
                m = _double(m)
                nn *= 2
            return m
    if n > _PALEY_PRIMES[-1]:
        return None
    p = min(q for q in _PALEY_PRIMES if q >= n)
    if p + 1 > n_ceil + 4 and n_ceil + 4 < n_max:
        return _paley(n_ceil + 3)
    if p > n_max:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> NDArray[np.int8]:
    """The 0/1 Hadamard matrix R's ``survey:::hadamard(n)`` returns: at least ``n + 1``
    rows, for BRR with ``n`` strata.

    Examples
    --------
    >>> from nea_covid.hadamard import hadamard
    >>> hadamard(15).shape
    (16, 16)
    """
    m = n - n % 4
    fixed = _precomputed()
    for i, size in enumerate(_SIZES):
        if m < size <= m + 4:
            return fixed[i].copy()
    if all(m < size for size in _SIZES):
        return fixed[0].copy()
    grown = [size * 2 ** max(0, math.ceil(math.log2((n + 1) / size))) for size in _SIZES]
    best = int(np.argmin([g - n for g in grown]))
    h = _paley(n, grown[best]) if grown[best] - n > 4 else None
    if h is None:
        h = fixed[best]
        for _ in range(math.ceil(math.log2(grown[best] / _SIZES[best]))):
            h = _double(h)
    return h.copy()
