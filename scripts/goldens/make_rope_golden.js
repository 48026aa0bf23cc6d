#!/usr/bin/env node
// Writes tests/data/configs/llama3_inv_freq.json: RoPE inverse frequencies
// scaled as Hugging Face's _compute_llama3_parameters defines them, computed
// here in plain JavaScript (double precision) as an independent reference for
// talon::model::rope_inv_freq.
// Usage: node scripts/goldens/make_rope_golden.js [out_file]
'use strict';
const fs = require('fs');
const path = require('path');

const out = process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'data', 'configs', 'llama3_inv_freq.json');

function llama3InvFreq({ head_dim, rope_theta, factor, low_freq_factor, high_freq_factor, original_max_position_embeddings }) {
  const lowFreqWavelen = original_max_position_embeddings / low_freq_factor;
  const highFreqWavelen = original_max_position_embeddings / high_freq_factor;
  const result = [];
  for (let i = 0; i < head_dim; i += 2) {
    const inv = 1 / Math.pow(rope_theta, i / head_dim);
    const wavelen = (2 * Math.PI) / inv;
    if (wavelen < highFreqWavelen) {
      result.push(inv);
    } else if (wavelen > lowFreqWavelen) {
      result.push(inv / factor);
    } else {
      const smooth = (original_max_position_embeddings / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      result.push(((1 - smooth) * inv) / factor + smooth * inv);
    }
  }
  return result;
}

const cases = [
  // Llama 3.1 (8B/70B/405B)
  { head_dim: 128, rope_theta: 500000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  // Llama 3.2 1B
  { head_dim: 64, rope_theta: 500000, factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
];
for (const c of cases) c.inv_freq = llama3InvFreq(c);
fs.writeFileSync(out, JSON.stringify(cases, null, 1) + '\n');
