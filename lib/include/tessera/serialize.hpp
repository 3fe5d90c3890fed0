// Model files: a versioned little-endian binary format holding the architecture (so a file loads
// without knowing the model in advance), free-form metadata, the parameter buffer and a CRC-32.
//
//   offset 0   "TSRMODEL"                      8-byte magic
//              u32 format version              (4; files of versions 1 to 3 still load)
//              u32 n, then n × (string key, string value)      metadata
//              u32 n, then n nodes in insertion order (version 4):
//                u8 0, string name, u32 r, r × u64             a graph input and its shape
//                u8 1, string name, string kind, u32 m, m × i64, u32 k, k × u32
//                                                              a layer and the nodes it reads
//              u32 n, then n × u32                             the output nodes (version 4)
//              (versions 1–3: a chain instead of the nodes and outputs:
//               u32 r, then r × u64                            input shape (version 2; r = 0: none)
//               u32 n, then n × (string kind, u32 m, m × i64)  layers)
//              u64 n, then n × f32                             parameters
//              u64 n, then n × f32                             buffers (version 3: state saved
//                                                              but not trained, e.g. Standardize's)
//              u32 CRC-32 of every byte before it
//   strings are u32 length + bytes; all integers and floats little-endian.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

#include "tessera/network.hpp"

namespace tessera {

// A model file that cannot be written or read: the message names the file and the problem.
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::uint32_t kModelFormatVersion = 4;

using ModelMetadata = std::map<std::string, std::string>;

// Writes `net` (architecture and parameters) and `metadata` to `file` atomically: into a temporary
// file in the same folder, flushed to disk, then renamed over `file`, so that a failed save leaves any
// previous file intact. Throws ModelFileError.
void save_model(const std::filesystem::path& file, Graph& net, const ModelMetadata& metadata = {});

struct LoadedModel {
  Graph network;
  ModelMetadata metadata;
};

// Reads a model file, checking magic, version, checksum, every count against the file's size, the
// architecture and the parameter count. Throws ModelFileError naming the file and the problem.
LoadedModel load_model(const std::filesystem::path& file);

}  // namespace tessera
