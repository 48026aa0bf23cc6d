#!/usr/bin/env node
// Prints expected values of talon::data::epoch_order, computed here in plain
// JavaScript (BigInt for the 64-bit arithmetic) as an independent reference
// for the C++ in src/talon/data/batcher.cpp. The output is pasted into
// tests/test_batcher.cpp (EpochOrderGolden).
// Usage: node scripts/goldens/make_epoch_order_golden.js
'use strict';

const MASK = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;

// splitmix64's output function (Steele, Lea and Flood 2014).
function mix64(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

function makeRng(seed, epoch) {
  // state = mix64(mix64(seed) + epoch), epoch as two's-complement uint64.
  let state = mix64((mix64(BigInt.asUintN(64, seed)) + BigInt.asUintN(64, epoch)) & MASK);
  const next = () => {
    state = (state + GAMMA) & MASK;
    return mix64(state);
  };
  // Uniform in [0, bound): reject draws below 2^64 mod bound, then reduce.
  const below = (bound) => {
    const threshold = ((1n << 64n) - bound) % bound;
    for (;;) {
      const x = next();
      if (x >= threshold) return x % bound;
    }
  };
  return { next, below };
}

function epochOrder(n, seed, epoch) {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = makeRng(BigInt(seed), BigInt(epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Number(rng.below(BigInt(i + 1)));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const cases = [
  [10, 0n, 0n],
  [10, 0n, 1n],
  [10, 1234n, 0n],
  [17, 0xdeadbeefcafef00dn, 3n],
  [5, 42n, -1n],
];
for (const [n, seed, epoch] of cases) {
  console.log(`n=${n} seed=0x${seed.toString(16)} epoch=${epoch}: {${epochOrder(n, seed, epoch).join(', ')}}`);
}
// The first outputs of the generator itself, for a direct check.
const rng = makeRng(0n, 0n);
console.log(`rng(seed=0, epoch=0) first three: 0x${rng.next().toString(16)}, 0x${rng.next().toString(16)}, 0x${rng.next().toString(16)}`);
// A large n: the first and last few entries.
const big = epochOrder(100000, 7n, 2n);
console.log(`n=100000 seed=7 epoch=2: head {${big.slice(0, 5).join(', ')}} tail {${big.slice(-5).join(', ')}}`);
