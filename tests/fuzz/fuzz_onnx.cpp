// libFuzzer target: any bytes as an ONNX model (seeds: small valid models, mutated into hostile ones:
// huge extents, missing initialisers, nodes out of order, wrong element types and attributes).
// Loading must give a usable graph or throw OnnxError; a loaded graph must run a forward pass on
// zeros and export again.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "run_small.hpp"
#include "tessera/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& file = tessera::fuzz::write_input(data, size, "onnx");
  try {
    tessera::Graph net = tessera::load_onnx(file);
    tessera::fuzz::run_small(net, 1 << 16, 1 << 22);
    // What loads exports (or names the layer it cannot): never a crash.
    tessera::save_onnx(net, file.string() + ".out.onnx");
  } catch (const tessera::OnnxError&) {
    // A clear error: what a bad file must give.
  }
  return 0;
}
