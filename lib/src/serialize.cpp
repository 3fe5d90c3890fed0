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

std::vector<std::uint8_t> detail::encode_model(Sequential& net, const ModelMetadata& metadata) {
  ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kModelFormatVersion);
  w.string_map(metadata);
  // Format 2: the input shape the network was built for (rank 0: its first layer fixes it).
  const auto& input = net.fixed_in_shape();
  w.u32(input ? static_cast<std::uint32_t>(input->rank()) : 0U);
  if (input) {
    for (int i = 0; i < input->rank(); ++i) w.u64(static_cast<std::uint64_t>((*input)[i]));
  }
  w.u32(static_cast<std::uint32_t>(net.size()));
  for (std::size_t i = 0; i < net.size(); ++i) {
    const LayerSpec spec = net.layer(i).spec();
    w.string(spec.kind);
    w.u32(static_cast<std::uint32_t>(spec.args.size()));
    for (std::int64_t a : spec.args) w.u64(static_cast<std::uint64_t>(a));
  }
  const Tensor params = net.parameters();
  w.floats(params.data(), static_cast<std::size_t>(params.size()));
  // Format 3: the buffers.
  const Tensor buffers = net.buffers();
  w.floats(buffers.data(), static_cast<std::size_t>(buffers.size()));
  w.seal();
  return std::move(w.buffer());
}

LoadedModel detail::decode_model(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  auto [version, b] = open_sealed(file, bytes, kMagic, kModelFormatVersion, "Tessera model file");

  LoadedModel out;
  out.metadata = b.string_map("metadata");
  if (version >= 2) {
    const std::uint32_t rank = b.u32("input shape");
    // One less than a Shape holds: batches add an extent in front.
    if (rank >= static_cast<std::uint32_t>(Shape::kMaxRank)) {
      b.fail("an input shape of rank " + std::to_string(rank) + " (at most " + std::to_string(Shape::kMaxRank - 1) +
             ")");
    }
    std::int64_t e[3] = {1, 1, 1};
    double elements = 1.0;  // in double: the product of three extents could overflow an integer
    for (std::uint32_t i = 0; i < rank; ++i) {
      const std::uint64_t extent = b.u64("input shape");
      if (extent == 0 || extent > (std::uint64_t{1} << 31)) {
        b.fail("input extent " + std::to_string(extent) + " out of range");
      }
      e[i] = static_cast<std::int64_t>(extent);
      elements *= static_cast<double>(extent);
    }
    if (elements > 0x1p32) b.fail("an input of more than 2^32 values per example");
    if (rank == 1) out.network = Sequential(Shape{e[0]});
    if (rank == 2) out.network = Sequential(Shape{e[0], e[1]});
    if (rank == 3) out.network = Sequential(Shape{e[0], e[1], e[2]});
  }
  const std::uint64_t layers = b.count(b.u32("architecture"), 8, "layer");
  if (layers == 0) b.fail("the architecture has no layers");
  for (std::uint64_t i = 0; i < layers; ++i) {
    LayerSpec spec;
    spec.kind = b.string("architecture");
    const std::uint64_t args = b.count(b.u32("architecture"), 8, "layer argument");
    for (std::uint64_t a = 0; a < args; ++a) spec.args.push_back(static_cast<std::int64_t>(b.u64("architecture")));
    try {
      out.network.add(make_layer(spec));
    } catch (const std::invalid_argument& e) {
      b.fail("layer " + std::to_string(i) + ": " + e.what());
    }
  }
  const std::uint64_t count = b.count(b.u64("parameters"), 4, "parameter");
  if (static_cast<std::int64_t>(count) != out.network.parameter_count()) {
    b.fail("holds " + std::to_string(count) + " parameters but its architecture needs " +
           std::to_string(out.network.parameter_count()));
  }
  Tensor params = out.network.parameters();
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

void detail::require_reloadable(const std::filesystem::path& file, const Sequential& net) {
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

void save_model(const std::filesystem::path& file, Sequential& net, const ModelMetadata& metadata) {
  detail::require_reloadable(file, net);
  detail::write_atomically(file, detail::encode_model(net, metadata));
}

LoadedModel load_model(const std::filesystem::path& file) {
  return detail::decode_model(file, detail::read_file(file));
}

}  // namespace tessera
