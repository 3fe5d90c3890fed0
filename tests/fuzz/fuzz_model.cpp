// libFuzzer target: any bytes as a model file and as a checkpoint (one embeds the other, so one
// corpus serves both). Loading must give a usable network or throw ModelFileError; a loaded network
// must run a forward pass on zeros.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.hpp"
#include "run_small.hpp"
#include "tessera/checkpoint.hpp"
#include "tessera/serialize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& file = tessera::fuzz::write_input(data, size, "tsr");
  try {
    tessera::LoadedModel m = tessera::load_model(file);
    tessera::fuzz::run_small(m.network, 1 << 16, 1 << 22);
  } catch (const tessera::ModelFileError&) {
    // A clear error: what a bad file must give.
  }
  try {
    tessera::Checkpoint c = tessera::load_checkpoint(file);
    tessera::fuzz::run_small(c.network, 1 << 16, 1 << 22);
  } catch (const tessera::ModelFileError&) {
  }
  return 0;
}
