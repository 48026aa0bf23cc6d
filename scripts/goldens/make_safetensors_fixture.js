#!/usr/bin/env node
// Writes safetensors files with an independent writer (plain Node, no Talon
// code) and the values they hold, for tests/test_safetensors.cpp:
//   tests/data/safetensors/aligned.safetensors    header padded to 8 bytes, tensors by decreasing
//                                                 element size (as the reference writer lays them out)
//   tests/data/safetensors/unaligned.safetensors  odd header length, tensors in the listed order,
//                                                 so most multi-byte tensors start misaligned; has __metadata__
//   tests/data/safetensors/expected.json          {"metadata": {...}, "tensors": {name: {dtype, shape, values}}}
// Usage: node scripts/goldens/make_safetensors_fixture.js [out_dir]
'use strict';
const fs = require('fs');
const path = require('path');

const outDir = process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'data', 'safetensors');

// IEEE half from a double that half represents exactly (the script refuses others).
function halfBits(value) {
  if (value === 0) return Object.is(value, -0) ? 0x8000 : 0;
  const sign = value < 0 ? 0x8000 : 0;
  let m = Math.abs(value);
  let e = Math.floor(Math.log2(m));
  if (e < -14) e = -14;  // subnormal range
  const frac = m / Math.pow(2, e);
  const mant = e === -14 && frac < 1 ? frac * 1024 : (frac - 1) * 1024;
  const bits = e === -14 && frac < 1 ? sign | mant : sign | ((e + 15) << 10) | mant;
  if (!Number.isInteger(mant) || e > 15) throw new Error(`${value} is not exact in F16`);
  return bits;
}

// bfloat16 is the top half of a float32; exact values have a zero low half.
function bf16Bits(value) {
  const f = new Float32Array([value]);
  const u = new Uint32Array(f.buffer)[0];
  if ((u & 0xffff) !== 0 || f[0] !== value) throw new Error(`${value} is not exact in BF16`);
  return u >>> 16;
}

const encoders = {
  F32: (v) => Buffer.from(new Float32Array(v).buffer),
  F16: (v) => Buffer.from(new Uint16Array(v.map(halfBits)).buffer),
  BF16: (v) => Buffer.from(new Uint16Array(v.map(bf16Bits)).buffer),
  I64: (v) => Buffer.from(new BigInt64Array(v.map(BigInt)).buffer),
  I32: (v) => Buffer.from(new Int32Array(v).buffer),
  I8: (v) => Buffer.from(new Int8Array(v).buffer),
  U8: (v) => Buffer.from(new Uint8Array(v).buffer),
  BOOL: (v) => Buffer.from(new Uint8Array(v.map((b) => (b ? 1 : 0))).buffer),
};
const elementSize = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };

// Listed so that the unaligned layout puts most multi-byte tensors off their alignment.
const tensors = [
  { name: 'flags', dtype: 'BOOL', shape: [5], values: [true, false, false, true, true] },
  { name: 'weights.f32', dtype: 'F32', shape: [2, 3], values: [0, 1.5, -2.25, Math.fround(0.1), 3.4028234663852886e38, -1e-3].map(Math.fround) },
  { name: 'weights.f16', dtype: 'F16', shape: [6], values: [1, -0.5, 65504, Math.pow(2, -14), Math.pow(2, -24), -0] },
  { name: 'bytes.i8', dtype: 'I8', shape: [3], values: [-128, 127, -1] },
  { name: 'weights.bf16', dtype: 'BF16', shape: [2, 2], values: [1, -3.140625, Math.pow(2, 100), -0.0078125] },
  { name: 'ids', dtype: 'I64', shape: [3], values: [-9007199254740991, 0, 1234567890123] },
  { name: 'counts', dtype: 'I32', shape: [2, 2], values: [-2147483648, 2147483647, -1, 7] },
  { name: 'pixels', dtype: 'U8', shape: [1, 4], values: [0, 255, 128, 1] },
  { name: 'scalar', dtype: 'F32', shape: [], values: [42.5] },
  { name: 'empty', dtype: 'F32', shape: [0, 3], values: [] },
];
const metadata = { format: 'pt', writer: 'make_safetensors_fixture.js' };

function write(file, ordered, meta, padTo8) {
  const header = {};
  if (meta) header.__metadata__ = meta;
  const chunks = [];
  let offset = 0;
  for (const t of ordered) {
    const data = encoders[t.dtype](t.values);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + data.length] };
    chunks.push(data);
    offset += data.length;
  }
  let text = JSON.stringify(header);
  if (padTo8) text += ' '.repeat((8 - (text.length % 8)) % 8);
  else if (text.length % 2 === 0) text += ' ';
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  fs.writeFileSync(path.join(outDir, file), Buffer.concat([length, Buffer.from(text), ...chunks]));
}

fs.mkdirSync(outDir, { recursive: true });
const bySize = [...tensors].sort((a, b) => elementSize[b.dtype] - elementSize[a.dtype] || (a.name < b.name ? -1 : 1));
write('aligned.safetensors', bySize, null, true);
write('unaligned.safetensors', tensors, metadata, false);

const expected = { metadata, tensors: {} };
for (const t of tensors) {
  expected.tensors[t.name] = { dtype: t.dtype, shape: t.shape, values: t.values.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)) };
}
fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
