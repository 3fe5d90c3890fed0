// Model files by extension: Tessera's own format, or ONNX (FILE.onnx) where this build has ONNX.
#pragma once

#include <string>

#include "tessera/tessera.hpp"

namespace tessera_app {

bool is_onnx(const std::string& file);

// A model file of Tessera's, or an ONNX file; an ONNX model's metadata says {"format": "onnx"} (its
// outputs are taken as logits, as a Tessera classifier's are).
tessera::LoadedModel load_any_model(const std::string& file);

// Writes `model` as ONNX or as a Tessera model file with its metadata, by the extension of `file`.
void save_any_model(const std::string& file, tessera::LoadedModel& model);

}  // namespace tessera_app
