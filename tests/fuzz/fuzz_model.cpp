// libFuzzer target: any bytes as a model file and as a checkpoint (one embeds the other, so one
// corpus serves both). Loading must give a usable network or throw ModelFileError; a loaded network
// must run a forward pass on zeros.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_file.hpp"
#include "tessera/checkpoint.hpp"
#include "tessera/serialize.hpp"

namespace {
void run_small(tessera::Graph& net) {
  // Small inputs only: a file may describe a valid network far too large to run here.
  std::int64_t elements = 0;
  for (std::size_t k = 0; k < net.input_count(); ++k) elements += net.node_shape(net.input_node(k)).elements();
  if (elements <= (1 << 16) && net.parameter_count() <= (1 << 22)) {
    net.eval();
    std::vector<tessera::Tensor> xs;
    for (std::size_t k = 0; k < net.input_count(); ++k)
      xs.emplace_back(net.node_shape(net.input_node(k)).with_batch(2));
    net.forward_all(xs);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& file = tessera::fuzz::write_input(data, size, "tsr");
  try {
    tessera::LoadedModel m = tessera::load_model(file);
    run_small(m.network);
  } catch (const tessera::ModelFileError&) {
    // A clear error: what a bad file must give.
  }
  try {
    tessera::Checkpoint c = tessera::load_checkpoint(file);
    run_small(c.network);
  } catch (const tessera::ModelFileError&) {
  }
  return 0;
}
