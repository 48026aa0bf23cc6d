"""Seeded random numbers for the generator scripts (corpora, goldens, example
data): mulberry32, the same stream on every machine and Python version.

The committed outputs were first made by Node scripts, so the generator does
JavaScript's 32-bit arithmetic (Math.imul, `>>> 0`) on Python's unbounded
ints by masking to 32 bits, and every draw is the float JavaScript got.

    from lib.random import random   # with scripts/ on sys.path
    rand = random(20240611)
    rand()                 # float in [0, 1)
    rand.below(10)         # int in [0, 10)
    rand.between(1, 6)     # int in [1, 6]
    rand.pick(["a", "b"])  # one element
    rand.chance(0.25)      # True with probability 0.25
"""
import math

_MASK = 0xFFFFFFFF


def _uint32(x):
    """JavaScript's `x >>> 0` on an integer: x modulo 2**32."""
    return x & _MASK


def _imul(a, b):
    """Math.imul kept unsigned: the low 32 bits of the product. Math.imul
    returns them signed, but the generator only XORs, ORs, shifts with `>>>`
    and adds them modulo 2**32, which sees the same bits either way."""
    return (a * b) & _MASK


class Mulberry32:
    """Callable like the JavaScript version: rand() is the next float."""

    def __init__(self, seed):
        self._state = _uint32(seed)

    def __call__(self):
        """The next float in [0, 1): a 32-bit integer over 2**32, exact in a
        double, so the same value JavaScript's division gave."""
        self._state = _uint32(self._state + 0x6D2B79F5)
        t = self._state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= _uint32(t + _imul(t ^ (t >> 7), t | 61))
        return (t ^ (t >> 14)) / 4294967296

    def below(self, n):
        """An integer in [0, n)."""
        return math.floor(self() * n)

    def between(self, lo, hi):
        """An integer in [lo, hi], both ends included."""
        return lo + math.floor(self() * (hi - lo + 1))

    def pick(self, xs):
        """One element of the sequence xs."""
        return xs[math.floor(self() * len(xs))]

    def chance(self, p):
        """True with probability p."""
        return self() < p


def random(seed):
    """A mulberry32 generator seeded with the integer seed (taken modulo
    2**32, as JavaScript's `seed >>> 0` did)."""
    return Mulberry32(seed)
