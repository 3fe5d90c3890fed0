// load_onnx: an ONNX graph (NCHW) translated node by node into a Tessera Graph (NHWC), with the
// weights permuted to match, so that it computes the same function.
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "onnx_model/proto_tensors.hpp"
#include "tessera/layers/activations.hpp"
#include "tessera/layers/conv2d.hpp"
#include "tessera/layers/dense.hpp"
#include "tessera/layers/flatten.hpp"
#include "tessera/layers/merge.hpp"
#include "tessera/layers/normalization.hpp"
#include "tessera/layers/normalize.hpp"
#include "tessera/layers/pointwise.hpp"
#include "tessera/layers/pooling.hpp"
#include "tessera/onnx.hpp"

namespace tessera {

namespace {

using detail::onnx_io::Constant;
using Dims = std::vector<std::int64_t>;

// An ONNX tensor of the graph as the import has built it so far.
struct Value {
  Node node;
  Dims dims;  // ONNX's extents of one example: [C, H, W] for an image, [F] for features
  // The Tessera node holds [C] for ONNX's [C, 1, 1] (GlobalAveragePool's output).
  bool squeezed = false;
  // A flattened image whose features are in Tessera's (h, w, c) order, where ONNX's are (c, h, w):
  // the [C, H, W] it was flattened from. Only a Gemm/MatMul (which reorders its weight rows) or an
  // elementwise operator may read it.
  std::optional<Dims> hwc_of;
  // An elementwise (x − mean) / stddev not yet made a layer, so that Sub then Div make one Normalize.
  std::optional<std::pair<double, double>> affine;
  // Index of the Dense made by a MatMul/Gemm whose only reader is this value's: an Add of a constant
  // vector is folded into its bias.
  int bias_of = -1;
};

// A layer's parameters and buffers in Tessera's layout, written into the graph once it is built.
struct LayerData {
  std::vector<float> parameters, buffers;
  std::int64_t bias_offset = -1, bias_size = 0;  // a Dense's or Conv2D's bias within parameters
};

constexpr double kSqrt2 = 1.4142135623730951;

class Importer {
 public:
  explicit Importer(std::filesystem::path file) : file_(std::move(file)) {}

  Graph run() {
    onnx::ModelProto model;
    if (auto why = detail::onnx_io::parse_model(file_, model)) fail(*why);
    check_opset(model);
    const onnx::GraphProto& g = model.graph();
    for (const onnx::TensorProto& t : g.initializer()) {
      Constant c;
      if (auto why = detail::onnx_io::read_constant(t, c)) fail("initializer: " + *why);
      constants_[t.name()] = std::move(c);
    }
    for (const onnx::ValueInfoProto& in : g.input()) {
      if (constants_.count(in.name())) continue;  // older exporters list initialisers as inputs too
      add_input(in);
    }
    if (graph_.input_count() == 0) fail("the graph has no inputs besides its initialisers");
    count_readers(g);
    // Constants first (they read nothing), so that the patterns below can see their values.
    for (int i = 0; i < g.node_size(); ++i) {
      if (g.node(i).op_type() != "Constant") continue;
      where_ = "node " + std::to_string(i) + " '" + g.node(i).name() + "' (Constant): ";
      constant_node(g.node(i));
    }
    find_gelu_patterns(g);
    const std::vector<bool> live = nodes_reaching_outputs(g);
    for (int i = 0; i < g.node_size(); ++i) {
      if (skipped_.count(i) || !live[static_cast<std::size_t>(i)]) continue;
      const onnx::NodeProto& node = g.node(i);
      where_ = "node " + std::to_string(i) + " '" + node.name() + "' (" + node.op_type() + "): ";
      if (!node.domain().empty() && node.domain() != "ai.onnx")
        fail("the operator domain '" + node.domain() + "' is not supported");
      try {
        translate(node, i);
      } catch (const std::invalid_argument& e) {
        fail(e.what());  // a layer refusing its arguments (an extent of 0, say)
      }
    }
    where_.clear();
    set_outputs(g);
    try {
      write_parameters();
    } catch (const std::logic_error& e) {
      fail(e.what());  // the graph refusing its shape (a graph input that reaches no output, say)
    }
    return std::move(graph_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw OnnxError(file_.string() + ": " + where_ + what); }

  void check_opset(const onnx::ModelProto& model) {
    opset_ = -1;
    for (const onnx::OperatorSetIdProto& o : model.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
    }
    if (opset_ < 0) fail("the model imports no default-domain opset");
    if (opset_ < 11 || opset_ > 18) fail("opset " + std::to_string(opset_) + " is not supported (11 to 18)");
  }

  void add_input(const onnx::ValueInfoProto& in) {
    Dims dims;
    if (auto why = detail::onnx_io::example_dims(in, dims)) fail("graph input " + *why);
    Shape shape;
    if (dims.size() == 1) {
      shape = Shape{dims[0]};
    } else if (dims.size() == 3) {
      shape = Shape{dims[1], dims[2], dims[0]};
    } else {
      fail("graph input '" + in.name() + "' has " + std::to_string(dims.size() + 1) +
           " extents; supported are [N, features] and [N, C, H, W]");
    }
    Value v;
    try {
      v.node = graph_.input(shape, in.name());
    } catch (const std::invalid_argument& e) {
      fail(std::string("graph input: ") + e.what());
    }
    v.dims = dims;
    values_[in.name()] = v;
  }

  void count_readers(const onnx::GraphProto& g) {
    for (int i = 0; i < g.node_size(); ++i) {
      for (const std::string& in : g.node(i).input()) {
        if (!in.empty()) readers_[in].push_back(i);
      }
      for (const std::string& out : g.node(i).output()) {
        if (!out.empty()) producer_[out] = i;
      }
    }
    for (const onnx::ValueInfoProto& out : g.output()) readers_[out.name()].push_back(-1);
  }

  // The nodes whose outputs some graph output depends on. Only these are translated: a node whose
  // result nothing reads (an exporter's leftover) is dropped, as a runtime would never need it.
  std::vector<bool> nodes_reaching_outputs(const onnx::GraphProto& g) const {
    std::vector<bool> live(static_cast<std::size_t>(g.node_size()), false);
    std::vector<std::string> pending;
    for (const onnx::ValueInfoProto& out : g.output()) pending.push_back(out.name());
    while (!pending.empty()) {
      const auto it = producer_.find(pending.back());
      pending.pop_back();
      if (it == producer_.end() || live[static_cast<std::size_t>(it->second)]) continue;
      live[static_cast<std::size_t>(it->second)] = true;
      for (const std::string& in : g.node(it->second).input()) pending.push_back(in);
    }
    return live;
  }

  // PyTorch (opset < 20) writes the exact GELU as Div(x, √2) → Erf → Add(·, 1) → Mul(x, ·) → Mul(·, 0.5)
  // (the two Muls in either order of operands, Div as Mul by 1/√2). Each such chain becomes one GELU,
  // made at its Div and named after its last Mul.
  void find_gelu_patterns(const onnx::GraphProto& g) {
    const auto only_reader = [&](const std::string& value) -> int {
      const auto it = readers_.find(value);
      return it != readers_.end() && it->second.size() == 1 ? it->second[0] : -1;
    };
    const auto scalar_near = [&](const std::string& name, double want) {
      const auto it = constants_.find(name);
      if (it == constants_.end() || it->second.is_int || it->second.floats.size() != 1) return false;
      return std::abs(static_cast<double>(it->second.floats[0]) - want) <= 1e-6 * std::abs(want);
    };
    const auto other_operand = [](const onnx::NodeProto& n, const std::string& one) -> std::string {
      if (n.input_size() != 2) return {};
      return n.input(0) == one ? n.input(1) : n.input(1) == one ? n.input(0) : std::string{};
    };
    // A node of the chain must have exactly one output (a hostile file may give none) and come after
    // the one it reads; anything else is left to translate(), which names what is wrong.
    const auto sole_output = [](const onnx::NodeProto& n) {
      return n.output_size() == 1 ? n.output(0) : std::string{};
    };
    const auto next_reader = [&](const onnx::NodeProto& n, int after) {
      const int r = only_reader(sole_output(n));
      return r > after ? r : -1;
    };
    for (int e = 0; e < g.node_size(); ++e) {
      const onnx::NodeProto& erf = g.node(e);
      if (erf.op_type() != "Erf" || erf.input_size() != 1 || erf.output_size() != 1) continue;
      const auto d_it = producer_.find(erf.input(0));
      if (d_it == producer_.end() || d_it->second >= e) continue;
      const onnx::NodeProto& div = g.node(d_it->second);
      if (div.input_size() != 2 || next_reader(div, d_it->second) != e) continue;
      const std::string x = div.input(0);
      const bool scaled = (div.op_type() == "Div" && scalar_near(div.input(1), kSqrt2)) ||
                          (div.op_type() == "Mul" && scalar_near(div.input(1), 1.0 / kSqrt2));
      if (!scaled) continue;
      const int a = next_reader(erf, e);
      if (a < 0 || g.node(a).op_type() != "Add" || !scalar_near(other_operand(g.node(a), erf.output(0)), 1.0)) continue;
      const int m1 = next_reader(g.node(a), a);
      if (m1 < 0 || g.node(m1).op_type() != "Mul" || other_operand(g.node(m1), g.node(a).output(0)) != x) continue;
      const int m2 = next_reader(g.node(m1), m1);
      if (m2 < 0 || g.node(m2).op_type() != "Mul" || g.node(m2).output_size() != 1 ||
          !scalar_near(other_operand(g.node(m2), g.node(m1).output(0)), 0.5))
        continue;
      gelu_at_[d_it->second] = g.node(m2).output(0);
      for (int n : {e, a, m1, m2}) skipped_.insert(n);
    }
  }

  // ---- looking up operands ----

  const Constant* constant(const std::string& name) const {
    const auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : &it->second;
  }
  const Constant& require_constant(const onnx::NodeProto& node, int input, const char* what) {
    if (node.input_size() <= input || node.input(input).empty()) fail(std::string("no ") + what + " input");
    const Constant* c = constant(node.input(input));
    if (!c) fail(std::string(what) + " '" + node.input(input) + "' is not a constant (an initializer or Constant)");
    if (c->is_int) fail(std::string(what) + " '" + node.input(input) + "' holds integers, not floats");
    return *c;
  }
  Value& value(const std::string& name) {
    const auto it = values_.find(name);
    if (it == values_.end()) {
      if (constants_.count(name)) fail("'" + name + "' is a constant where a computed tensor is expected");
      fail("reads '" + name + "', which no earlier node produces (the nodes are not in order, or form a cycle)");
    }
    return it->second;
  }
  Value& operand(const onnx::NodeProto& node, int input) {
    if (node.input_size() <= input || node.input(input).empty()) fail("input " + std::to_string(input) + " is missing");
    return value(node.input(input));
  }
  bool single_reader(const std::string& name) const {
    const auto it = readers_.find(name);
    return it != readers_.end() && it->second.size() == 1;
  }

  // The Tessera node of a value, making a pending Normalize a layer first.
  Node node_of(Value& v, const std::string& name) {
    if (v.affine) {
      const auto [mean, stddev] = *v.affine;
      v.affine.reset();
      if (!std::isfinite(mean) || !std::isfinite(stddev) || stddev <= 0.0) {
        fail("the scaling (x − " + std::to_string(mean) + ") / " + std::to_string(stddev) +
             " is not a Normalize (the divisor must be positive)");
      }
      v.node = add_layer(std::make_unique<Normalize>(static_cast<float>(mean), static_cast<float>(stddev)), {v.node},
                         name + ".normalize", {});
    }
    return v.node;
  }

  // ---- building ----

  Node add_layer(std::unique_ptr<Layer> layer, std::vector<Node> inputs, const std::string& name, LayerData data) {
    Node n;
    try {
      n = graph_.add(std::move(layer), inputs, name);
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
    data_.push_back(std::move(data));
    return n;
  }

  // The output value of a node that keeps its input's layout.
  void define(const std::string& name, Value v) {
    if (name.empty()) fail("an output without a name");
    if (values_.count(name) || constants_.count(name)) fail("the output '" + name + "' is defined twice");
    values_[name] = std::move(v);
  }
  void require_outputs(const onnx::NodeProto& node, int count) {
    if (node.output_size() < 1 || node.output(0).empty()) fail("no output");
    for (int i = count; i < node.output_size(); ++i) {
      if (!node.output(i).empty() && readers_.count(node.output(i))) {
        fail("its output " + std::to_string(i) + " ('" + node.output(i) + "') is read; only the first is supported");
      }
    }
  }
  void require_image(const Value& v, const std::string& name) {
    if (v.dims.size() != 3 || v.squeezed) fail("'" + name + "' is not an image [C, H, W]");
  }
  void require_channel_order(const Value& v, const std::string& name) {
    if (v.hwc_of) {
      fail("'" + name + "' is a flattened image, which only Gemm, MatMul and elementwise operators may read here");
    }
  }

  // Attributes.
  std::string attr_error_;
  std::optional<std::int64_t> attr_int(const onnx::NodeProto& n, const std::string& name) {
    const auto* a = detail::onnx_io::find_attribute(n, name, onnx::AttributeProto_AttributeType_INT, attr_error_);
    if (!attr_error_.empty()) fail(attr_error_);
    return a ? std::optional<std::int64_t>(a->i()) : std::nullopt;
  }
  std::optional<float> attr_float(const onnx::NodeProto& n, const std::string& name) {
    const auto* a = detail::onnx_io::find_attribute(n, name, onnx::AttributeProto_AttributeType_FLOAT, attr_error_);
    if (!attr_error_.empty()) fail(attr_error_);
    return a ? std::optional<float>(a->f()) : std::nullopt;
  }
  std::optional<Dims> attr_ints(const onnx::NodeProto& n, const std::string& name) {
    const auto* a = detail::onnx_io::find_attribute(n, name, onnx::AttributeProto_AttributeType_INTS, attr_error_);
    if (!attr_error_.empty()) fail(attr_error_);
    return a ? std::optional<Dims>(Dims(a->ints().begin(), a->ints().end())) : std::nullopt;
  }
  std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& fallback) {
    const auto* a = detail::onnx_io::find_attribute(n, name, onnx::AttributeProto_AttributeType_STRING, attr_error_);
    if (!attr_error_.empty()) fail(attr_error_);
    return a ? a->s() : fallback;
  }
  // Every attribute of the node is one this operator's translation reads.
  void allow_attributes(const onnx::NodeProto& n, std::initializer_list<const char*> known) {
    for (const onnx::AttributeProto& a : n.attribute()) {
      bool ok = false;
      for (const char* k : known) ok = ok || a.name() == k;
      if (!ok) fail("the attribute '" + a.name() + "' is not supported");
    }
  }
  void require_value(const std::string& attr, std::int64_t got, std::int64_t want) {
    if (got != want) fail(attr + " = " + std::to_string(got) + " is not supported (only " + std::to_string(want) + ")");
  }

  // A layer that keeps its input's layout (extents, squeezing, feature order): applied to value `x`
  // (named `input`), its output defined as `output`. A pending Normalize of x becomes the layer's
  // input, so the output carries none.
  void keep_layout(Value& x, const std::string& input, std::unique_ptr<Layer> layer, const std::string& output,
                   LayerData data = {}) {
    Value y = x;
    y.affine.reset();
    y.bias_of = -1;
    y.node = add_layer(std::move(layer), {node_of(x, input)}, output, std::move(data));
    define(output, y);
  }

  // ---- operators ----

  void translate(const onnx::NodeProto& n, int index) {
    const std::string& op = n.op_type();
    if (const auto it = gelu_at_.find(index); it != gelu_at_.end()) {
      keep_layout(operand(n, 0), n.input(0), std::make_unique<GELU>(), it->second);
      return;
    }
    if (op == "Constant") return;  // read before the other nodes
    if (op == "Gemm" || op == "MatMul") return dense(n);
    if (op == "Conv") return conv(n);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return arithmetic(n);
    if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu" || op == "Elu" || op == "Gelu") {
      return elementwise(n);
    }
    if (op == "Softmax" || op == "LogSoftmax") return softmax(n);
    if (op == "MaxPool" || op == "AveragePool") return pool(n);
    if (op == "GlobalAveragePool") return global_pool(n);
    if (op == "BatchNormalization") return batch_norm(n);
    if (op == "Flatten" || op == "Reshape") return flatten(n);
    if (op == "Concat") return concat(n);
    if (op == "Dropout" || op == "Identity" || op == "Pad") return pass_through(n);
    fail(
        "the operator is not supported (supported: Gemm, MatMul, Add, Sub, Mul, Div, Relu, LeakyRelu, Sigmoid, "
        "Tanh, Elu, Gelu, Erf as part of GELU, Softmax, LogSoftmax, Conv, MaxPool, AveragePool, GlobalAveragePool, "
        "BatchNormalization, Flatten, Reshape, Concat, Dropout, Identity, Pad of nothing, Constant)");
  }

  void constant_node(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    Constant c;
    const onnx::AttributeProto* a = nullptr;
    std::string err;
    if ((a = detail::onnx_io::find_attribute(n, "value", onnx::AttributeProto_AttributeType_TENSOR, err))) {
      if (auto why = detail::onnx_io::read_constant(a->t(), c)) fail(*why);
    } else if ((a = detail::onnx_io::find_attribute(n, "value_float", onnx::AttributeProto_AttributeType_FLOAT, err))) {
      c.floats = {a->f()};
    } else if ((a = detail::onnx_io::find_attribute(n, "value_floats", onnx::AttributeProto_AttributeType_FLOATS,
                                                    err))) {
      c.floats.assign(a->floats().begin(), a->floats().end());
      c.dims = {static_cast<std::int64_t>(c.floats.size())};
    } else if ((a = detail::onnx_io::find_attribute(n, "value_int", onnx::AttributeProto_AttributeType_INT, err))) {
      c.is_int = true;
      c.ints = {a->i()};
    } else if ((a = detail::onnx_io::find_attribute(n, "value_ints", onnx::AttributeProto_AttributeType_INTS, err))) {
      c.is_int = true;
      c.ints.assign(a->ints().begin(), a->ints().end());
      c.dims = {static_cast<std::int64_t>(c.ints.size())};
    } else {
      fail(err.empty() ? "no value attribute (value, value_float(s) or value_int(s) supported)" : err);
    }
    if (values_.count(n.output(0)) || constants_.count(n.output(0)))
      fail("the output '" + n.output(0) + "' is defined twice");
    constants_[n.output(0)] = std::move(c);
  }

  // Gemm (Y = alpha·A·op(B) + beta·C) and MatMul (Y = A·B) with constant B: a Dense, W = alpha·op(B)
  // with its rows in the order of A's features as Tessera holds them.
  void dense(const onnx::NodeProto& n) {
    const bool gemm = n.op_type() == "Gemm";
    require_outputs(n, 1);
    if (gemm) {
      allow_attributes(n, {"alpha", "beta", "transA", "transB"});
      require_value("transA", attr_int(n, "transA").value_or(0), 0);
    } else {
      allow_attributes(n, {});
    }
    Value& a = operand(n, 0);
    if (a.dims.size() != 1 && !a.squeezed)
      fail("input '" + n.input(0) + "' is not [N, features] (2-D MatMul/Gemm only)");
    const Constant& b = require_constant(n, 1, "B");
    const bool trans_b = gemm && attr_int(n, "transB").value_or(0) != 0;
    const float alpha = gemm ? attr_float(n, "alpha").value_or(1.0f) : 1.0f;
    const float beta = gemm ? attr_float(n, "beta").value_or(1.0f) : 1.0f;
    if (b.dims.size() != 2) fail("B '" + n.input(1) + "' is not 2-D");
    const std::int64_t k = trans_b ? b.dims[1] : b.dims[0], out = trans_b ? b.dims[0] : b.dims[1];
    const std::int64_t features = a.dims[0];
    if (k != features) {
      fail("B '" + n.input(1) + "' has " + std::to_string(k) + " rows for an input of " + std::to_string(features) +
           " features");
    }
    // Tessera row r reads ONNX feature onnx_row(r).
    std::vector<std::int64_t> onnx_row(static_cast<std::size_t>(k));
    for (std::int64_t r = 0; r < k; ++r) onnx_row[static_cast<std::size_t>(r)] = r;
    if (a.hwc_of) {
      const std::int64_t c = (*a.hwc_of)[0], h = (*a.hwc_of)[1], w = (*a.hwc_of)[2];
      for (std::int64_t y = 0; y < h; ++y) {
        for (std::int64_t x = 0; x < w; ++x) {
          for (std::int64_t ch = 0; ch < c; ++ch)
            onnx_row[static_cast<std::size_t>((y * w + x) * c + ch)] = ch * h * w + y * w + x;
        }
      }
    }
    LayerData data;
    data.parameters.assign(static_cast<std::size_t>(k * out + out), 0.0f);
    for (std::int64_t r = 0; r < k; ++r) {
      const std::int64_t src = onnx_row[static_cast<std::size_t>(r)];
      for (std::int64_t o = 0; o < out; ++o) {
        const float bv = b.floats[static_cast<std::size_t>(trans_b ? o * k + src : src * out + o)];
        data.parameters[static_cast<std::size_t>(r * out + o)] = alpha * bv;
      }
    }
    data.bias_offset = k * out;
    data.bias_size = out;
    if (gemm && n.input_size() > 2 && !n.input(2).empty()) {
      const Constant& c = require_constant(n, 2, "C");
      const bool vector = c.floats.size() == static_cast<std::size_t>(out) &&
                          (c.dims.size() == 1 || (c.dims.size() == 2 && c.dims[0] == 1));
      const bool scalar = c.floats.size() == 1;
      if (!vector && !scalar) fail("C '" + n.input(2) + "' is not a vector of " + std::to_string(out) + " or a scalar");
      for (std::int64_t o = 0; o < out; ++o) {
        data.parameters[static_cast<std::size_t>(k * out + o)] =
            beta * c.floats[scalar ? 0 : static_cast<std::size_t>(o)];
      }
    }
    Value y;
    y.node = add_layer(std::make_unique<Dense>(k, out), {node_of(a, n.input(0))}, n.output(0), std::move(data));
    y.dims = {out};
    if (single_reader(n.output(0))) y.bias_of = static_cast<int>(data_.size() - 1);
    define(n.output(0), y);
  }

  // Conv: W [out, in, k, k] → [k, k, in, out].
  void conv(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    allow_attributes(n, {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"});
    Value& x = operand(n, 0);
    require_image(x, n.input(0));
    const Constant& w = require_constant(n, 1, "W");
    if (w.dims.size() != 4) fail("W '" + n.input(1) + "' is not 4-D (only 2-D convolutions are supported)");
    const std::int64_t out = w.dims[0], in = w.dims[1], k = w.dims[2];
    if (w.dims[3] != k)
      fail("the kernel is " + std::to_string(w.dims[2]) + "×" + std::to_string(w.dims[3]) + " (only square kernels)");
    require_value("group", attr_int(n, "group").value_or(1), 1);
    if (in != x.dims[0])
      fail("W has " + std::to_string(in) + " input channels for an image of " + std::to_string(x.dims[0]));
    if (auto ks = attr_ints(n, "kernel_shape"); ks && (*ks != Dims{k, k})) fail("kernel_shape does not match W");
    const std::int64_t stride = square_attribute(n, "strides", 1);
    const std::int64_t pad = padding(n);
    if (auto d = attr_ints(n, "dilations"); d && *d != Dims{1, 1}) fail("dilations other than 1 are not supported");
    LayerData data;
    data.parameters.assign(static_cast<std::size_t>(k * k * in * out + out), 0.0f);
    for (std::int64_t o = 0; o < out; ++o) {
      for (std::int64_t i = 0; i < in; ++i) {
        for (std::int64_t y = 0; y < k; ++y) {
          for (std::int64_t xx = 0; xx < k; ++xx) {
            data.parameters[static_cast<std::size_t>(((y * k + xx) * in + i) * out + o)] =
                w.floats[static_cast<std::size_t>(((o * in + i) * k + y) * k + xx)];
          }
        }
      }
    }
    data.bias_offset = k * k * in * out;
    data.bias_size = out;
    if (n.input_size() > 2 && !n.input(2).empty()) {
      const Constant& b = require_constant(n, 2, "B");
      if (b.floats.size() != static_cast<std::size_t>(out))
        fail("B '" + n.input(2) + "' is not a vector of " + std::to_string(out));
      for (std::int64_t o = 0; o < out; ++o)
        data.parameters[static_cast<std::size_t>(k * k * in * out + o)] = b.floats[static_cast<std::size_t>(o)];
    }
    Value y;
    y.node = add_layer(std::make_unique<Conv2D>(in, out, k, stride, pad), {node_of(x, n.input(0))}, n.output(0),
                       std::move(data));
    const Shape& s = graph_.node_shape(y.node);
    y.dims = {s[2], s[0], s[1]};
    if (single_reader(n.output(0))) y.bias_of = static_cast<int>(data_.size() - 1);
    define(n.output(0), y);
  }

  // strides (or kernel_shape) as one extent for both axes.
  std::int64_t square_attribute(const onnx::NodeProto& n, const char* name, std::int64_t fallback) {
    const auto v = attr_ints(n, name);
    if (!v) return fallback;
    if (v->size() != 2 || (*v)[0] != (*v)[1] || (*v)[0] < 1)
      fail(std::string(name) + " must be two equal positive extents");
    return (*v)[0];
  }
  // pads [top, left, bottom, right] all equal (auto_pad NOTSET or VALID).
  std::int64_t padding(const onnx::NodeProto& n) {
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID")
      fail("auto_pad " + auto_pad + " is not supported (give explicit pads)");
    const auto pads = attr_ints(n, "pads");
    if (!pads || auto_pad == "VALID") return 0;
    if (pads->size() != 4 || !((*pads)[0] == (*pads)[1] && (*pads)[1] == (*pads)[2] && (*pads)[2] == (*pads)[3]) ||
        (*pads)[0] < 0) {
      fail("pads must be four equal extents (asymmetric padding is not supported)");
    }
    return (*pads)[0];
  }

  // Add/Sub/Mul/Div: two computed tensors (Add only), a bias after a Dense or Conv2D (Add), or a scalar
  // (any of them, as a Normalize).
  void arithmetic(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    allow_attributes(n, {});
    if (n.input_size() != 2) fail("expects two inputs");
    const std::string& op = n.op_type();
    const Constant* c0 = constant(n.input(0));
    const Constant* c1 = constant(n.input(1));
    if (!c0 && !c1) {
      if (op != "Add") fail("two computed tensors: only Add is supported");
      Value& a = operand(n, 0);
      Value& b = operand(n, 1);
      if (a.hwc_of.has_value() != b.hwc_of.has_value() || a.squeezed != b.squeezed || a.dims != b.dims) {
        fail("'" + n.input(0) + "' and '" + n.input(1) + "' differ in shape (broadcasting is not supported)");
      }
      Value y = a;
      y.affine.reset();
      y.bias_of = -1;
      y.node = add_layer(std::make_unique<Add>(), {node_of(a, n.input(0)), node_of(b, n.input(1))}, n.output(0), {});
      define(n.output(0), y);
      return;
    }
    if (c0 && c1) fail("both inputs are constants (constant folding is not supported)");
    const bool constant_first = c0 != nullptr;
    const Constant& c = constant_first ? *c0 : *c1;
    Value& x = operand(n, constant_first ? 1 : 0);
    if (c.is_int) fail("an integer constant");
    Value y = x;
    if (op == "Add" && x.bias_of >= 0 && !x.affine && c.floats.size() > 1) {
      LayerData& d = data_[static_cast<std::size_t>(x.bias_of)];
      const std::int64_t channels = x.dims[0];
      const bool matches = static_cast<std::int64_t>(c.floats.size()) == d.bias_size && channels == d.bias_size &&
                           bias_layout_matches(c.dims, x.dims);
      if (!matches)
        fail("the constant '" + n.input(constant_first ? 0 : 1) + "' is not a bias of " + std::to_string(d.bias_size));
      for (std::int64_t i = 0; i < d.bias_size; ++i) {
        d.parameters[static_cast<std::size_t>(d.bias_offset + i)] += c.floats[static_cast<std::size_t>(i)];
      }
      y.bias_of = single_reader(n.output(0)) ? x.bias_of : -1;
      define(n.output(0), y);
      return;
    }
    if (c.floats.size() != 1) {
      fail("a constant of " + std::to_string(c.floats.size()) +
           " values: only a scalar, or a bias right after a Gemm, MatMul or Conv, is supported");
    }
    const double s = static_cast<double>(c.floats[0]);
    // y = (x − mean) / stddev, composed with this operation.
    auto [mean, stddev] = x.affine.value_or(std::pair<double, double>{0.0, 1.0});
    if (op == "Add") {
      mean -= s * stddev;
    } else if (op == "Sub" && !constant_first) {
      mean += s * stddev;
    } else if (op == "Mul") {
      stddev /= s;
    } else if (op == "Div" && !constant_first) {
      stddev *= s;
    } else {
      fail("a constant minus or divided by a tensor (c − x, c / x) is not supported");
    }
    y.affine = std::pair<double, double>{mean, stddev};
    y.bias_of = -1;
    define(n.output(0), y);
  }

  static bool bias_layout_matches(const Dims& c, const Dims& x) {
    const std::int64_t ch = x[0];
    if (x.size() == 1) return c == Dims{ch} || c == Dims{1, ch};
    return c == Dims{ch, 1, 1} || c == Dims{1, ch, 1, 1};
  }

  void elementwise(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    const std::string& op = n.op_type();
    std::unique_ptr<Layer> layer;
    if (op == "Relu" || op == "Sigmoid" || op == "Tanh") {
      allow_attributes(n, {});
      layer = make_activation(op == "Relu"      ? Activation::ReLU
                              : op == "Sigmoid" ? Activation::Sigmoid
                                                : Activation::Tanh);
    } else if (op == "LeakyRelu") {
      allow_attributes(n, {"alpha"});
      layer = std::make_unique<LeakyReLU>(attr_float(n, "alpha").value_or(0.01f));
    } else if (op == "Elu") {
      allow_attributes(n, {"alpha"});
      layer = std::make_unique<ELU>(attr_float(n, "alpha").value_or(1.0f));
    } else {
      allow_attributes(n, {"approximate"});
      if (attr_string(n, "approximate", "none") != "none") fail("the tanh approximation of GELU is not supported");
      layer = std::make_unique<GELU>();
    }
    keep_layout(operand(n, 0), n.input(0), std::move(layer), n.output(0));
  }

  void softmax(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    allow_attributes(n, {"axis"});
    Value& x = operand(n, 0);
    const std::int64_t axis = attr_int(n, "axis").value_or(opset_ >= 13 ? -1 : 1);
    if (x.dims.size() != 1 || (axis != 1 && axis != -1))
      fail("only a softmax over the features of [N, F] is supported");
    require_channel_order(x, n.input(0));
    std::unique_ptr<Layer> layer;
    if (n.op_type() == "Softmax") {
      layer = std::make_unique<Softmax>();
    } else {
      layer = std::make_unique<LogSoftmax>();
    }
    keep_layout(x, n.input(0), std::move(layer), n.output(0));
  }

  void pool(const onnx::NodeProto& n) {
    const bool max = n.op_type() == "MaxPool";
    require_outputs(n, 1);
    if (max) {
      allow_attributes(n, {"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "auto_pad", "storage_order"});
      require_value("storage_order", attr_int(n, "storage_order").value_or(0), 0);
      if (auto d = attr_ints(n, "dilations"); d && *d != Dims{1, 1}) fail("dilations other than 1 are not supported");
    } else {
      allow_attributes(n, {"kernel_shape", "strides", "pads", "ceil_mode", "auto_pad", "count_include_pad"});
    }
    require_value("ceil_mode", attr_int(n, "ceil_mode").value_or(0), 0);
    if (padding(n) != 0) fail("padded pooling is not supported");
    if (!attr_ints(n, "kernel_shape")) fail("no kernel_shape");
    const std::int64_t size = square_attribute(n, "kernel_shape", 1);
    const std::int64_t stride = square_attribute(n, "strides", 1);
    Value& x = operand(n, 0);
    require_image(x, n.input(0));
    std::unique_ptr<Layer> layer;
    if (max) {
      layer = std::make_unique<MaxPool2D>(size, stride);
    } else {
      layer = std::make_unique<AvgPool2D>(size, stride);
    }
    Value y;
    y.node = add_layer(std::move(layer), {node_of(x, n.input(0))}, n.output(0), {});
    const Shape& s = graph_.node_shape(y.node);
    y.dims = {s[2], s[0], s[1]};
    define(n.output(0), y);
  }

  void global_pool(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    allow_attributes(n, {});
    Value& x = operand(n, 0);
    require_image(x, n.input(0));
    Value y;
    y.node = add_layer(std::make_unique<GlobalAvgPool2D>(), {node_of(x, n.input(0))}, n.output(0), {});
    y.dims = {x.dims[0], 1, 1};
    y.squeezed = true;
    define(n.output(0), y);
  }

  // ONNX's momentum keeps that share of the running statistics; PyTorch's and Tessera's move by it.
  void batch_norm(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    allow_attributes(n, {"epsilon", "momentum", "training_mode", "spatial"});
    require_value("training_mode", attr_int(n, "training_mode").value_or(0), 0);
    require_value("spatial", attr_int(n, "spatial").value_or(1), 1);
    Value& x = operand(n, 0);
    require_channel_order(x, n.input(0));
    const std::int64_t channels = x.dims[0];
    const char* names[4] = {"scale", "B", "mean", "var"};
    const Constant* c[4];
    for (int i = 0; i < 4; ++i) {
      c[i] = &require_constant(n, i + 1, names[i]);
      if (c[i]->floats.size() != static_cast<std::size_t>(channels)) {
        fail(std::string(names[i]) + " '" + n.input(i + 1) + "' is not a vector of " + std::to_string(channels));
      }
    }
    const float eps = attr_float(n, "epsilon").value_or(1e-5f);
    const float momentum = 1.0f - attr_float(n, "momentum").value_or(0.9f);
    if (!(eps > 0.0f) || !std::isfinite(eps) || !(momentum >= 0.0f && momentum <= 1.0f)) {
      fail("epsilon must be positive and momentum within [0, 1]");
    }
    LayerData data;
    data.parameters = c[0]->floats;
    data.parameters.insert(data.parameters.end(), c[1]->floats.begin(), c[1]->floats.end());
    data.buffers = c[2]->floats;
    data.buffers.insert(data.buffers.end(), c[3]->floats.begin(), c[3]->floats.end());
    keep_layout(x, n.input(0), std::make_unique<BatchNorm>(channels, momentum, eps), n.output(0), std::move(data));
  }

  // Flatten (axis 1), or a Reshape with a constant shape to [batch, features].
  void flatten(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    Value& x = operand(n, 0);
    std::int64_t features = 1;
    for (std::int64_t d : x.dims) features *= d;
    if (n.op_type() == "Flatten") {
      allow_attributes(n, {"axis"});
      require_value("axis", attr_int(n, "axis").value_or(1), 1);
    } else {
      allow_attributes(n, {"allowzero"});
      if (n.input_size() < 2) fail("no shape input");
      const Constant* shape = constant(n.input(1));
      if (!shape || !shape->is_int)
        fail("the shape '" + n.input(1) + "' is not a constant of integers (dynamic shapes are not supported)");
      const Dims& s = shape->ints;
      const bool batch_kept = s.size() == 2 && (s[0] == 0 || s[0] == -1);
      const bool to_features = s.size() == 2 && (s[1] == features || (s[1] == -1 && s[0] == 0));
      if (!batch_kept || !to_features || (s[0] == -1 && s[1] == -1)) {
        std::string text;
        for (std::int64_t v : s) text += (text.empty() ? "" : ", ") + std::to_string(v);
        fail("a reshape to [" + text + "]: only [0, -1], [0, F] or [-1, F] (flattening each example) is supported");
      }
    }
    Value y = x;
    y.bias_of = -1;
    y.dims = {features};
    if (x.dims.size() == 1 || x.squeezed) {  // already features: nothing to do
      y.squeezed = false;
      define(n.output(0), y);
      return;
    }
    if (x.dims.size() != 3) fail("'" + n.input(0) + "' is neither an image nor features");
    y.node = add_layer(std::make_unique<Flatten>(), {node_of(x, n.input(0))}, n.output(0), {});
    y.affine.reset();
    if (x.dims[0] > 1 && x.dims[1] * x.dims[2] > 1) y.hwc_of = x.dims;
    define(n.output(0), y);
  }

  void concat(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    allow_attributes(n, {"axis"});
    const std::optional<std::int64_t> axis = attr_int(n, "axis");
    if (!axis) fail("no axis");
    if (n.input_size() < 2) fail("fewer than two inputs");
    std::vector<Node> inputs;
    Value first = operand(n, 0);
    const bool image = first.dims.size() == 3 && !first.squeezed;
    if (image ? (*axis != 1 && *axis != -3) : (*axis != 1 && *axis != -1)) {
      fail("only a concatenation of channels (axis 1) or features is supported");
    }
    std::int64_t total = 0;
    for (int i = 0; i < n.input_size(); ++i) {
      Value& v = operand(n, i);
      require_channel_order(v, n.input(i));
      if ((v.dims.size() == 3 && !v.squeezed) != image) fail("inputs of different ranks");
      total += v.dims[0];
      inputs.push_back(node_of(v, n.input(i)));
    }
    Value y = first;
    y.bias_of = -1;
    y.affine.reset();
    y.dims[0] = total;
    y.node = add_layer(std::make_unique<Concat>(), inputs, n.output(0), {});
    define(n.output(0), y);
  }

  void pass_through(const onnx::NodeProto& n) {
    require_outputs(n, 1);
    if (n.op_type() == "Dropout") {
      allow_attributes(n, {"ratio", "seed"});
      if (n.input_size() > 2 && !n.input(2).empty()) {
        const Constant* t = constant(n.input(2));
        const bool off =
            t && ((t->is_int && t->ints == Dims{0}) || (!t->is_int && t->floats == std::vector<float>{0.0f}));
        if (!off) fail("training_mode is not a constant false (inference Dropout only)");
      }
    } else if (n.op_type() == "Pad") {
      // PyTorch writes one before AveragePool even with no padding: only that one is an identity.
      allow_attributes(n, {"mode"});
      const Constant* pads = n.input_size() > 1 ? constant(n.input(1)) : nullptr;
      bool zero = pads && pads->is_int;
      for (std::int64_t v : pads ? pads->ints : Dims{}) zero = zero && v == 0;
      if (!zero) fail("only a Pad of constant zero extents (an identity) is supported; give the padding to the Conv");
    } else {
      allow_attributes(n, {});
    }
    Value y = operand(n, 0);
    y.bias_of = -1;
    define(n.output(0), y);
  }

  void set_outputs(const onnx::GraphProto& g) {
    std::vector<Node> outputs;
    for (const onnx::ValueInfoProto& out : g.output()) {
      where_ = "graph output '" + out.name() + "': ";
      Value& v = value(out.name());
      require_channel_order(v, out.name());
      const Node node = node_of(v, out.name());
      if (!graph_.node_layer(node)) fail("is a graph input itself");
      outputs.push_back(node);
    }
    if (outputs.empty()) fail("the graph has no outputs");
    try {
      graph_.set_outputs(outputs);
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
    where_.clear();
  }

  void write_parameters() {
    Tensor params = graph_.parameters();
    Tensor buffers = graph_.buffers();
    std::int64_t p = 0, b = 0;
    for (std::size_t i = 0; i < graph_.size(); ++i) {
      const Layer& layer = graph_.layer(i);
      const LayerData& d = data_[i];
      if (static_cast<std::int64_t>(d.parameters.size()) != layer.parameter_count() ||
          static_cast<std::int64_t>(d.buffers.size()) != layer.buffer_count()) {
        fail("internal: layer " + layer.name() + " was given the wrong number of values");
      }
      for (float v : d.parameters) params[p++] = v;
      for (float v : d.buffers) buffers[b++] = v;
    }
  }

  std::filesystem::path file_;
  std::string where_;
  std::int64_t opset_ = -1;
  Graph graph_;
  std::map<std::string, Constant> constants_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::vector<int>> readers_;
  std::map<std::string, int> producer_;
  std::map<int, std::string> gelu_at_;  // the Div of a GELU chain → the chain's output
  std::set<int> skipped_;               // the chain's other nodes
  std::vector<LayerData> data_;         // per graph layer, in order
};

}  // namespace

Graph load_onnx(const std::filesystem::path& file) { return Importer(file).run(); }

}  // namespace tessera
