// A model file's bytes, for save_model/load_model and for the checkpoints that carry one inside.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "tessera/serialize.hpp"

namespace tessera::detail {

// The whole file: magic, version, metadata, input shape, architecture, parameters, CRC-32.
std::vector<std::uint8_t> encode_model(Graph& net, const ModelMetadata& metadata);
// Throws ModelFileError naming `file` unless every layer of `net` could be built again from its spec
// (with the same spec, parameter and buffer counts): what saving checks before writing anything.
void require_reloadable(const std::filesystem::path& file, const Graph& net);
// Checks and decodes what encode_model wrote; errors name `file`. Throws ModelFileError.
LoadedModel decode_model(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes);

}  // namespace tessera::detail
