// libFuzzer target: any bytes as a model file. Loading must give a usable network or throw
// ModelFileError; a loaded network must run a forward pass on zeros.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "tessera/serialize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& file = tessera::fuzz::write_input(data, size, "tsr");
  try {
    tessera::LoadedModel m = tessera::load_model(file);
    // Small inputs only: a file may describe a valid network far too large to run here.
    if (m.network.in_shape().elements() <= (1 << 16) && m.network.parameter_count() <= (1 << 22)) {
      m.network.eval();
      const tessera::Tensor x(m.network.in_shape().with_batch(2));
      m.network.forward(x);
    }
  } catch (const tessera::ModelFileError&) {
    // A clear error: what a bad file must give.
  }
  return 0;
}
