// Model files by extension: the one place that knows whether this build reads and writes ONNX.
#include "model_files.hpp"

#include <filesystem>
#include <stdexcept>

#ifdef TESSERA_APP_ONNX
#include "tessera/onnx.hpp"
#endif

namespace tessera_app {

#ifndef TESSERA_APP_ONNX
namespace {
[[noreturn]] void no_onnx(const std::string& file) {
  throw std::invalid_argument(file +
                              ": this program was built without ONNX (Debian: apt-get install libonnx-dev "
                              "libprotobuf-dev, then rebuild)");
}
}  // namespace
#endif

bool is_onnx(const std::string& file) { return std::filesystem::path(file).extension() == ".onnx"; }

tessera::LoadedModel load_any_model(const std::string& file) {
  if (!is_onnx(file)) return tessera::load_model(file);
#ifdef TESSERA_APP_ONNX
  return tessera::LoadedModel{tessera::load_onnx(file), {{"format", "onnx"}}};
#else
  no_onnx(file);
#endif
}

void save_any_model(const std::string& file, tessera::LoadedModel& model) {
  if (!is_onnx(file)) {
    tessera::save_model(file, model.network, model.metadata);
    return;
  }
#ifdef TESSERA_APP_ONNX
  tessera::save_onnx(model.network, file);
#else
  no_onnx(file);
#endif
}

}  // namespace tessera_app
