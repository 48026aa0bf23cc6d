// A cheap identity for a Hugging Face model directory, so that files derived
// from a model (offline hidden-state caches) are refused beside another one.
// Hashing every weight of a 70B model would take minutes; instead the hash
// covers config.json, every tensor's name, dtype and shape, and 16 evenly
// spaced 256-byte windows of each tensor's bytes. Two fine-tunes of one base
// share every header field but differ in (nearly) every tensor, so they
// differ here too.
#pragma once

#include <string>

namespace talon::io {

// Hex XXH64; throws talon::Error naming the directory when unreadable.
std::string model_fingerprint(const std::string& dir);

}  // namespace talon::io
