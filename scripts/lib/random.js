// Seeded random numbers for the generator scripts (corpora, goldens, example
// data): mulberry32, the same stream on every machine and Node version.
'use strict';

function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.below = (n) => Math.floor(next() * n);                         // integer in [0, n)
  next.between = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));  // integer in [lo, hi]
  next.pick = (xs) => xs[Math.floor(next() * xs.length)];
  next.chance = (p) => next() < p;
  return next;
}

module.exports = {random};
