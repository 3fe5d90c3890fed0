// The ONNX protobuf messages as the import and export use them: reading a model file with bounds,
// constant tensors (initialisers and Constant nodes) as checked float or int64 arrays, and typed
// attribute look-up. Private to tessera::onnx.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tessera::detail::onnx_io {

// A constant tensor: its dims and its values, as floats (FLOAT) or int64 (INT64, INT32).
struct Constant {
  std::vector<std::int64_t> dims;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  bool is_int = false;
  std::int64_t elements() const {
    return is_int ? static_cast<std::int64_t>(ints.size()) : static_cast<std::int64_t>(floats.size());
  }
};

// Parses `file` as a ModelProto. Returns the message, or an error text (not found, too large, not a
// protobuf).
std::optional<std::string> parse_model(const std::filesystem::path& file, onnx::ModelProto& model);

// The tensor's values, or an error text: an element type other than FLOAT, INT64 or INT32, external
// data, a negative or too large extent, or data whose size differs from the extents' product.
std::optional<std::string> read_constant(const onnx::TensorProto& tensor, Constant& out);

// A node's attribute of that name, or null; `type` checked (an error text in `error` when it differs).
const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name,
                                           onnx::AttributeProto_AttributeType type, std::string& error);

// The shape of `value` without its first (batch) extent, or an error text: no tensor type, an element
// type other than FLOAT, an unknown rank, or an unknown extent after the first.
std::optional<std::string> example_dims(const onnx::ValueInfoProto& value, std::vector<std::int64_t>& dims);

}  // namespace tessera::detail::onnx_io
