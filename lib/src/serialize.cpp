// Model files: encoding to and decoding from bytes; the byte-level reading, checksum and atomic
// write are files/byte_codec's.
#include "tessera/serialize.hpp"

#include <cmath>

#include "files/byte_codec.hpp"
#include "files/model_codec.hpp"

namespace tessera {

namespace {
constexpr char kMagic[8] = {'T', 'S', 'R', 'M', 'O', 'D', 'E', 'L'};
}  // namespace

namespace {

LayerSpec read_spec(detail::ByteReader& b) {
  LayerSpec spec;
  spec.kind = b.string("architecture");
  const std::uint64_t args = b.count(b.u32("architecture"), 8, "layer argument");
  for (std::uint64_t a = 0; a < args; ++a) spec.args.push_back(static_cast<std::int64_t>(b.u64("architecture")));
  return spec;
}

void write_spec(detail::ByteWriter& w, const LayerSpec& spec) {
  w.string(spec.kind);
  w.u32(static_cast<std::uint32_t>(spec.args.size()));
  for (std::int64_t a : spec.args) w.u64(static_cast<std::uint64_t>(a));
}

// An example shape: rank (at most one less than a Shape holds, as batches add an extent in front)
// and extents; rank 0 when `optional` (format 2's "the first layer fixes it").
Shape read_shape(detail::ByteReader& b, const char* what, bool optional) {
  const std::uint32_t rank = b.u32(what);
  if (rank >= static_cast<std::uint32_t>(Shape::kMaxRank) || (rank == 0 && !optional)) {
    b.fail(std::string("an input shape of rank ") + std::to_string(rank) + " (1 to " +
           std::to_string(Shape::kMaxRank - 1) + ")");
  }
  std::int64_t e[3] = {1, 1, 1};
  double elements = 1.0;  // in double: the product of three extents could overflow an integer
  for (std::uint32_t i = 0; i < rank; ++i) {
    const std::uint64_t extent = b.u64(what);
    if (extent == 0 || extent > (std::uint64_t{1} << 31)) {
      b.fail("input extent " + std::to_string(extent) + " out of range");
    }
    e[i] = static_cast<std::int64_t>(extent);
    elements *= static_cast<double>(extent);
  }
  if (elements > 0x1p32) b.fail("an input of more than 2^32 values per example");
  if (rank == 1) return Shape{e[0]};
  if (rank == 2) return Shape{e[0], e[1]};
  if (rank == 3) return Shape{e[0], e[1], e[2]};
  return Shape{};
}

void write_shape(detail::ByteWriter& w, const Shape& shape) {
  w.u32(static_cast<std::uint32_t>(shape.rank()));
  for (int i = 0; i < shape.rank(); ++i) w.u64(static_cast<std::uint64_t>(shape[i]));
}

// Formats 1–3: a chain of layers, with the input shape (format 2 on) when the first layer does not
// fix it.
Graph read_chain(detail::ByteReader& b, std::uint32_t version) {
  Sequential chain;
  if (version >= 2) {
    const Shape input = read_shape(b, "input shape", true);
    if (input.rank() > 0) chain = Sequential(input);
  }
  const std::uint64_t layers = b.count(b.u32("architecture"), 8, "layer");
  if (layers == 0) b.fail("the architecture has no layers");
  for (std::uint64_t i = 0; i < layers; ++i) {
    const LayerSpec spec = read_spec(b);
    try {
      chain.add(make_layer(spec));
    } catch (const std::invalid_argument& e) {
      b.fail("layer " + std::to_string(i) + ": " + e.what());
    }
  }
  return chain;
}

// Format 4: every node in insertion order (an input: name and shape; a layer: name, spec and the
// indices of the nodes it reads), then the outputs.
constexpr std::uint8_t kInputNode = 0, kLayerNode = 1;

Graph read_graph(detail::ByteReader& b) {
  Graph graph;
  const std::uint64_t nodes = b.count(b.u32("graph"), 9, "node");
  for (std::uint64_t i = 0; i < nodes; ++i) {
    const std::uint8_t type = b.u8("graph");
    std::string name = b.string("graph");
    const std::string where = "node " + std::to_string(i) + " '" + name + "': ";
    try {
      if (type == kInputNode) {
        graph.input(read_shape(b, "graph", false), std::move(name));
        continue;
      }
      if (type != kLayerNode) b.fail(where + "unknown node type " + std::to_string(type));
      const LayerSpec spec = read_spec(b);
      std::vector<Node> inputs(static_cast<std::size_t>(b.count(b.u32("graph"), 4, "node input")));
      for (Node& in : inputs) in.index = b.u32("graph");
      graph.add(make_layer(spec), inputs, std::move(name));
    } catch (const std::invalid_argument& e) {
      b.fail(where + e.what());
    }
  }
  if (graph.size() == 0) b.fail("the graph has no layers");
  std::vector<Node> outputs(static_cast<std::size_t>(b.count(b.u32("outputs"), 4, "output")));
  for (Node& out : outputs) out.index = b.u32("outputs");
  try {
    graph.set_outputs(std::move(outputs));
  } catch (const std::invalid_argument& e) {
    b.fail(e.what());
  }
  return graph;
}

}  // namespace

std::vector<std::uint8_t> detail::encode_model(Graph& net, const ModelMetadata& metadata) {
  ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kModelFormatVersion);
  w.string_map(metadata);
  w.u32(static_cast<std::uint32_t>(net.node_count()));
  for (std::size_t i = 0; i < net.node_count(); ++i) {
    const Node node{i};
    const Layer* layer = net.node_layer(node);
    w.u8(layer ? kLayerNode : kInputNode);
    w.string(net.node_name(node));
    if (!layer) {
      write_shape(w, net.node_shape(node));
      continue;
    }
    write_spec(w, layer->spec());
    const auto inputs = net.node_inputs(node);
    w.u32(static_cast<std::uint32_t>(inputs.size()));
    for (const Node in : inputs) w.u32(static_cast<std::uint32_t>(in.index));
  }
  w.u32(static_cast<std::uint32_t>(net.output_count()));
  for (std::size_t k = 0; k < net.output_count(); ++k) w.u32(static_cast<std::uint32_t>(net.output_node(k).index));
  const Tensor params = net.parameters();
  w.floats(params.data(), static_cast<std::size_t>(params.size()));
  const Tensor buffers = net.buffers();
  w.floats(buffers.data(), static_cast<std::size_t>(buffers.size()));
  w.seal();
  return std::move(w.buffer());
}

LoadedModel detail::decode_model(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  auto [version, b] = open_sealed(file, bytes, kMagic, kModelFormatVersion, "Tessera model file");

  LoadedModel out;
  out.metadata = b.string_map("metadata");
  out.network = version >= 4 ? read_graph(b) : read_chain(b, version);
  const std::uint64_t count = b.count(b.u64("parameters"), 4, "parameter");
  if (static_cast<std::int64_t>(count) != out.network.parameter_count()) {
    b.fail("holds " + std::to_string(count) + " parameters but its architecture needs " +
           std::to_string(out.network.parameter_count()));
  }
  Tensor params;
  try {
    params = out.network.parameters();
  } catch (const std::logic_error& e) {
    b.fail(e.what());  // a graph that cannot be built (a node leading to no output)
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    const float value = b.f32("parameters");
    if (!std::isfinite(value)) b.fail("parameter " + std::to_string(i) + " is not finite");
    params[static_cast<std::int64_t>(i)] = value;
  }
  const std::int64_t buffers_needed = out.network.buffer_count();
  if (version >= 3) {
    const std::uint64_t held = b.count(b.u64("buffers"), 4, "buffer value");
    if (static_cast<std::int64_t>(held) != buffers_needed) {
      b.fail("holds " + std::to_string(held) + " buffer values but its architecture needs " +
             std::to_string(buffers_needed));
    }
    Tensor buffers = out.network.buffers();
    for (std::uint64_t i = 0; i < held; ++i) {
      const float value = b.f32("buffers");
      if (!std::isfinite(value)) b.fail("buffer value " + std::to_string(i) + " is not finite");
      buffers[static_cast<std::int64_t>(i)] = value;
    }
  } else if (buffers_needed > 0) {
    b.fail("its architecture needs saved state (buffers) that files of format " + std::to_string(version) +
           " do not hold");
  }
  if (b.left() != 0) {
    b.fail(std::to_string(b.left()) + " unexpected bytes after the " + (version >= 3 ? "buffers" : "parameters"));
  }
  return out;
}

void detail::require_reloadable(const std::filesystem::path& file, const Graph& net) {
  for (std::size_t i = 0; i < net.size(); ++i) {
    const Layer& layer = net.layer(i);
    const LayerSpec spec = layer.spec();
    std::string problem;
    try {
      const std::unique_ptr<Layer> again = make_layer(spec);
      if (!(again->spec() == spec) || again->parameter_count() != layer.parameter_count() ||
          again->buffer_count() != layer.buffer_count()) {
        problem = "building it from its spec gives " + again->name() + ", another layer";
      }
    } catch (const std::invalid_argument& e) {
      problem = e.what();
    }
    if (!problem.empty()) {
      throw ModelFileError(file.string() + ": cannot save: layer " + std::to_string(i) + " " + layer.name() +
                           " could not be loaded again (" + problem + "); nothing was written");
    }
  }
}

void save_model(const std::filesystem::path& file, Graph& net, const ModelMetadata& metadata) {
  detail::require_reloadable(file, net);
  detail::write_atomically(file, detail::encode_model(net, metadata));
}

LoadedModel load_model(const std::filesystem::path& file) {
  return detail::decode_model(file, detail::read_file(file));
}

}  // namespace tessera
