"""Prints expected values of talon::data::epoch_order, computed here in plain
Python (arbitrary-precision ints masked to 64 bits) as an independent
reference for the C++ in src/talon/data/batcher.cpp. The output is pasted
into tests/test_batcher.cpp (EpochOrderGolden).

Usage: .venv/bin/python scripts/goldens/make_epoch_order_golden.py
"""

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix64(z):
    """splitmix64's output function (Steele, Lea and Flood 2014)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Rng:
    def __init__(self, seed, epoch):
        # state = mix64(mix64(seed) + epoch); `& MASK` turns a negative
        # epoch into its two's-complement uint64, as the C++ cast does.
        self.state = mix64((mix64(seed & MASK) + (epoch & MASK)) & MASK)

    def next(self):
        self.state = (self.state + GAMMA) & MASK
        return mix64(self.state)

    def below(self, bound):
        """Uniform in [0, bound): reject draws below 2^64 mod bound, so the
        values left are a whole number of copies of [0, bound), then reduce."""
        threshold = ((1 << 64) - bound) % bound
        while True:
            x = self.next()
            if x >= threshold:
                return x % bound


def epoch_order(n, seed, epoch):
    """Fisher-Yates from the top: swap i with a uniform j in [0, i]."""
    order = list(range(n))
    rng = Rng(seed, epoch)
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def braces(values):
    return "{" + ", ".join(str(v) for v in values) + "}"


def main():
    cases = [
        (10, 0, 0),
        (10, 0, 1),
        (10, 1234, 0),
        (17, 0xDEADBEEFCAFEF00D, 3),
        (5, 42, -1),
    ]
    for n, seed, epoch in cases:
        print(f"n={n} seed={seed:#x} epoch={epoch}: {braces(epoch_order(n, seed, epoch))}")
    # The first outputs of the generator itself, for a direct check.
    rng = Rng(0, 0)
    first = ", ".join(f"{rng.next():#x}" for _ in range(3))
    print(f"rng(seed=0, epoch=0) first three: {first}")
    # A large n: the first and last few entries.
    big = epoch_order(100000, 7, 2)
    print(f"n=100000 seed=7 epoch=2: head {braces(big[:5])} tail {braces(big[-5:])}")


if __name__ == "__main__":
    main()
