// libFuzzer target: any bytes as a model description (JSON). Reading must give a built graph that
// runs a forward pass on zeros, and that describe_model writes back as a description giving the same
// graph, or throw DescriptionError; anything else (a crash, a sanitizer report, another exception, a
// hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "run_small.hpp"
#include "tessera/description.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    tessera::ModelDescription d = tessera::parse_model_description(text, "fuzz.json");
    tessera::Graph& net = d.network;
    std::int64_t elements = 0;
    for (std::size_t k = 0; k < net.input_count(); ++k) elements += net.node_shape(net.input_node(k)).elements();
    if (elements <= (1 << 14) && net.parameter_count() <= (1 << 20)) {
      net.eval();
      std::vector<tessera::Tensor> xs;
      for (std::size_t k = 0; k < net.input_count(); ++k)
        xs.emplace_back(net.node_shape(net.input_node(k)).with_batch(1));
      net.forward_all(xs);
    }
    const std::string again = tessera::describe_model(net, d.training, d.name, d.summary);
    const tessera::ModelDescription back = tessera::parse_model_description(again, "again.json");
    if (tessera::describe_model(back.network, back.training, back.name, back.summary) != again) __builtin_trap();
  } catch (const tessera::DescriptionError&) {
    // A clear error: what a bad description must give.
  }
  return 0;
}
