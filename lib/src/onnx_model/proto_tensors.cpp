// Reading ONNX protobufs with every size checked before it is trusted (a hostile file's extents can
// claim any size).
#include "onnx_model/proto_tensors.hpp"

#include <bit>
#include <cstring>
#include <fstream>

namespace tessera::detail::onnx_io {

namespace {
// Protobuf itself refuses messages over 2 GiB; a model Tessera can hold is far smaller.
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 31;
// Per constant: 2^31 values, an extent at most 2^31 (any real layer is far below).
constexpr std::int64_t kMaxElements = std::int64_t{1} << 31;

const char* type_name(int type) {
  switch (type) {
    case onnx::TensorProto_DataType_FLOAT:
      return "float";
    case onnx::TensorProto_DataType_UINT8:
      return "uint8";
    case onnx::TensorProto_DataType_INT8:
      return "int8";
    case onnx::TensorProto_DataType_UINT16:
      return "uint16";
    case onnx::TensorProto_DataType_INT16:
      return "int16";
    case onnx::TensorProto_DataType_INT32:
      return "int32";
    case onnx::TensorProto_DataType_INT64:
      return "int64";
    case onnx::TensorProto_DataType_STRING:
      return "string";
    case onnx::TensorProto_DataType_BOOL:
      return "bool";
    case onnx::TensorProto_DataType_FLOAT16:
      return "float16";
    case onnx::TensorProto_DataType_DOUBLE:
      return "double";
    case onnx::TensorProto_DataType_BFLOAT16:
      return "bfloat16";
    default:
      return "an unknown type";
  }
}

template <class T>
void from_raw(const std::string& raw, std::vector<T>& out, std::size_t count) {
  static_assert(std::endian::native == std::endian::little, "ONNX raw data is little-endian");
  out.resize(count);
  if (count > 0) std::memcpy(out.data(), raw.data(), count * sizeof(T));
}
}  // namespace

std::optional<std::string> parse_model(const std::filesystem::path& file, onnx::ModelProto& model) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) return "cannot read it (" + ec.message() + ")";
  if (size > kMaxFileBytes) return "it is " + std::to_string(size) + " bytes, over the 2 GiB protobuf limit";
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size))) return "cannot read it";
  if (!model.ParseFromString(bytes)) return "it is not an ONNX model (the protobuf does not parse)";
  return std::nullopt;
}

std::optional<std::string> read_constant(const onnx::TensorProto& t, Constant& out) {
  out = Constant{};
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    return "tensor '" + t.name() + "' keeps its data in an external file, which is not supported";
  }
  std::int64_t count = 1;
  for (const std::int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements) return "tensor '" + t.name() + "' has an extent of " + std::to_string(d);
    count *= d;
    if (count > kMaxElements) return "tensor '" + t.name() + "' has more than 2^31 values";
    out.dims.push_back(d);
  }
  const auto n = static_cast<std::size_t>(count);
  // Raw little-endian bytes of Stored, or the typed repeated field, as `out` (n values exactly).
  const auto take = [&]<class Stored, class Out>(const auto& field,
                                                 std::vector<Out>& into) -> std::optional<std::string> {
    const std::size_t have =
        t.has_raw_data() ? t.raw_data().size() / sizeof(Stored) : static_cast<std::size_t>(field.size());
    if (have != n || (t.has_raw_data() && t.raw_data().size() % sizeof(Stored) != 0)) {
      return "tensor '" + t.name() + "' has " + std::to_string(have) + " values where its extents say " +
             std::to_string(count);
    }
    if (t.has_raw_data()) {
      std::vector<Stored> v;
      from_raw(t.raw_data(), v, n);
      into.assign(v.begin(), v.end());
    } else {
      into.assign(field.begin(), field.end());
    }
    return std::nullopt;
  };
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_FLOAT:
      return take.operator()<float>(t.float_data(), out.floats);
    case onnx::TensorProto_DataType_INT64:
      out.is_int = true;
      return take.operator()<std::int64_t>(t.int64_data(), out.ints);
    case onnx::TensorProto_DataType_INT32:
      out.is_int = true;
      return take.operator()<std::int32_t>(t.int32_data(), out.ints);
    default:
      return "tensor '" + t.name() + "' holds " + type_name(t.data_type()) +
             " values (float, int64 or int32 supported)";
  }
}

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name,
                                           onnx::AttributeProto_AttributeType type, std::string& error) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() != name) continue;
    if (a.type() != type) {
      error = "attribute '" + name + "' has the wrong type (" + onnx::AttributeProto_AttributeType_Name(a.type()) +
              ", expected " + onnx::AttributeProto_AttributeType_Name(type) + ")";
      return nullptr;
    }
    return &a;
  }
  return nullptr;
}

std::optional<std::string> example_dims(const onnx::ValueInfoProto& value, std::vector<std::int64_t>& dims) {
  dims.clear();
  if (!value.type().has_tensor_type()) return "'" + value.name() + "' is not a tensor";
  const onnx::TypeProto_Tensor& t = value.type().tensor_type();
  if (t.elem_type() != onnx::TensorProto_DataType_FLOAT) {
    return "'" + value.name() + "' holds " + type_name(t.elem_type()) + " values (only float inputs are supported)";
  }
  if (!t.has_shape() || t.shape().dim_size() < 2) {
    return "'" + value.name() + "' has no fixed rank of at least 2 (batch, then the example's extents)";
  }
  for (int i = 1; i < t.shape().dim_size(); ++i) {
    const onnx::TensorShapeProto_Dimension& d = t.shape().dim(i);
    if (!d.has_dim_value() || d.dim_value() < 1 || d.dim_value() > kMaxElements) {
      return "'" + value.name() + "' has a dynamic or invalid extent " + std::to_string(i) +
             " (only the first, the batch, may vary)";
    }
    dims.push_back(d.dim_value());
  }
  return std::nullopt;
}

}  // namespace tessera::detail::onnx_io
