// save_onnx: a Tessera Graph (NHWC) written as an ONNX model (NCHW, opset 13), the weights permuted
// back to ONNX's layouts, so that any ONNX runtime computes the same function.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "files/byte_codec.hpp"
#include "layers/float_arg.hpp"
#include "onnx_model/proto_tensors.hpp"
#include "tessera/onnx.hpp"

namespace tessera {

namespace {

using Dims = std::vector<std::int64_t>;
constexpr std::int64_t kOpset = 13;

class Exporter {
 public:
  Exporter(Graph& net, std::filesystem::path file) : net_(net), file_(std::move(file)) {}

  std::vector<std::uint8_t> run() {
    onnx::ModelProto model;
    model.set_ir_version(7);
    model.set_producer_name("tessera");
    model.add_opset_import()->set_version(kOpset);
    graph_ = model.mutable_graph();
    graph_->set_name("tessera");
    const Tensor params = net_.parameters();
    const Tensor buffers = net_.buffers();
    std::int64_t p = 0, b = 0;
    hwc_of_.resize(net_.node_count());
    for (std::size_t i = 0; i < net_.node_count(); ++i) {
      const Node node{i};
      const Layer* layer = net_.node_layer(node);
      if (!layer) {
        add_input(node);
        continue;
      }
      where_ = "layer '" + net_.node_name(node) + "' (" + layer->name() + "): ";
      const float* lp = params.data() + p;
      const float* lb = buffers.empty() ? nullptr : buffers.data() + b;
      p += layer->parameter_count();
      b += layer->buffer_count();
      translate(node, *layer, lp, lb);
    }
    for (std::size_t k = 0; k < net_.output_count(); ++k) {
      const Node out = net_.output_node(k);
      where_ = "output '" + net_.node_name(out) + "': ";
      if (hwc_of_[out.index]) fail("is a flattened image, whose feature order ONNX's Flatten would change");
      value_info(graph_->add_output(), out);
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes)) fail("the model does not serialize (over 2 GiB?)");
    return {bytes.begin(), bytes.end()};
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw OnnxError(file_.string() + ": " + where_ + what); }

  // ONNX extents of one example: [C, H, W] for Tessera's [H, W, C], [F] for [F].
  Dims onnx_dims(Node node) const {
    const Shape& s = net_.node_shape(node);
    if (s.rank() == 3) return {s[2], s[0], s[1]};
    if (s.rank() == 1) return {s[0]};
    fail("node '" + net_.node_name(node) + "' has shape " + s.to_string() +
         ", which has no ONNX form here ([features] or [height, width, channels])");
  }
  bool image(Node node) const { return net_.node_shape(node).rank() == 3; }

  void value_info(onnx::ValueInfoProto* v, Node node) {
    v->set_name(net_.node_name(node));
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    onnx::TensorShapeProto* shape = t->mutable_shape();
    shape->add_dim()->set_dim_param("N");
    for (std::int64_t d : onnx_dims(node)) shape->add_dim()->set_dim_value(d);
  }

  void add_input(Node node) {
    where_ = "input '" + net_.node_name(node) + "': ";
    value_info(graph_->add_input(), node);
  }

  std::string add_initializer(const std::string& name, const Dims& dims, const std::vector<float>& values) {
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return name;
  }
  std::string scalar(float v) {
    const std::string name = "scalar." + std::to_string(detail::float_arg(v));
    if (scalars_.emplace(name).second) add_initializer(name, {}, {v});
    return name;
  }

  onnx::NodeProto* add_node(const std::string& op, std::vector<std::string> inputs, const std::string& output) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }
  static void set_ints(onnx::NodeProto* n, const char* name, const Dims& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INTS);
    for (std::int64_t x : v) a->add_ints(x);
  }
  static void set_int(onnx::NodeProto* n, const char* name, std::int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_INT);
    a->set_i(v);
  }
  static void set_float(onnx::NodeProto* n, const char* name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
  }

  void translate(Node node, const Layer& layer, const float* params, const float* buffers) {
    const std::string name = net_.node_name(node);
    const LayerSpec spec = layer.spec();
    const auto inputs = net_.node_inputs(node);
    std::vector<std::string> in;
    for (const Node i : inputs) in.push_back(net_.node_name(i));
    const std::string& kind = spec.kind;
    const auto elementwise = [&](const std::string& op) {
      hwc_of_[node.index] = hwc_of_[inputs[0].index];
      return add_node(op, in, name);
    };
    if (kind != "Dense" && kind != "ReLU" && kind != "Sigmoid" && kind != "Tanh" && kind != "LeakyReLU" &&
        kind != "ELU" && kind != "GELU" && kind != "Dropout" && kind != "Normalize" && kind != "Identity") {
      for (const Node i : inputs) {
        if (hwc_of_[i.index]) fail("reads a flattened image, which only Dense and elementwise layers can in ONNX form");
      }
    }
    if (kind == "Dense") return dense(node, spec, in[0], params);
    if (kind == "Conv2D") return conv(name, spec, in[0], params);
    if (kind == "ReLU") return void(elementwise("Relu"));
    if (kind == "Sigmoid") return void(elementwise("Sigmoid"));
    if (kind == "Tanh") return void(elementwise("Tanh"));
    if (kind == "Identity" || kind == "Dropout") return void(elementwise("Identity"));
    if (kind == "LeakyReLU") return set_float(elementwise("LeakyRelu"), "alpha", detail::float_of_arg(spec, 0));
    if (kind == "ELU") return set_float(elementwise("Elu"), "alpha", detail::float_of_arg(spec, 0));
    if (kind == "GELU") {
      // Opset 13 has no Gelu: its exact form, as PyTorch writes it (and load_onnx reads it back).
      hwc_of_[node.index] = hwc_of_[inputs[0].index];
      add_node("Div", {in[0], scalar(1.41421353816986083984375f)}, name + ".scaled");
      add_node("Erf", {name + ".scaled"}, name + ".erf");
      add_node("Add", {name + ".erf", scalar(1.0f)}, name + ".cdf2");
      add_node("Mul", {in[0], name + ".cdf2"}, name + ".x_cdf2");
      add_node("Mul", {name + ".x_cdf2", scalar(0.5f)}, name);
      return;
    }
    if (kind == "Normalize") {
      hwc_of_[node.index] = hwc_of_[inputs[0].index];
      add_node("Sub", {in[0], scalar(detail::float_of_arg(spec, 0))}, name + ".centred");
      add_node("Div", {name + ".centred", scalar(detail::float_of_arg(spec, 1))}, name);
      return;
    }
    if (kind == "Softmax" || kind == "LogSoftmax") {
      if (image(node)) fail("a softmax over the channels of an image has no ONNX form here");
      return set_int(add_node(kind, in, name), "axis", -1);
    }
    if (kind == "MaxPool2D" || kind == "AvgPool2D") {
      onnx::NodeProto* n = add_node(kind == "MaxPool2D" ? "MaxPool" : "AveragePool", in, name);
      const std::int64_t size = spec.args[0], stride = spec.args[1] == 0 ? size : spec.args[1];
      set_ints(n, "kernel_shape", {size, size});
      set_ints(n, "strides", {stride, stride});
      return;
    }
    if (kind == "GlobalAvgPool2D") {
      add_node("GlobalAveragePool", in, name + ".4d");
      return set_int(add_node("Flatten", {name + ".4d"}, name), "axis", 1);
    }
    if (kind == "BatchNorm") return batch_norm(name, spec, in[0], params, buffers);
    if (kind == "Flatten") {
      const Dims d = onnx_dims(inputs[0]);
      if (d.size() == 3 && d[0] > 1 && d[1] * d[2] > 1) hwc_of_[node.index] = d;
      return set_int(add_node("Flatten", in, name), "axis", 1);
    }
    if (kind == "Add") return void(add_node("Add", in, name));
    if (kind == "Concat") return set_int(add_node("Concat", in, name), "axis", 1);
    fail(
        "has no ONNX form (supported: Dense, Conv2D, the activations but SiLU, Softmax, LogSoftmax, pooling, "
        "BatchNorm, Flatten, "
        "Add, Concat, Dropout, Normalize)");
  }

  // Dense W [in, out] is Gemm's B (transB 0); rows of a flattened image go back to (c, h, w) order.
  void dense(Node node, const LayerSpec& spec, const std::string& in, const float* params) {
    const std::int64_t k = spec.args[0], out = spec.args[1];
    const auto& hwc = hwc_of_[net_.node_inputs(node)[0].index];
    std::vector<float> w(static_cast<std::size_t>(k * out));
    for (std::int64_t r = 0; r < k; ++r) {
      std::int64_t dst = r;
      if (hwc) {
        const std::int64_t c = (*hwc)[0], h = (*hwc)[1], wd = (*hwc)[2];
        const std::int64_t ch = r % c, pix = r / c;
        dst = ch * h * wd + pix;
      }
      for (std::int64_t o = 0; o < out; ++o) w[static_cast<std::size_t>(dst * out + o)] = params[r * out + o];
    }
    const std::string name = net_.node_name(node);
    const std::vector<float> bias(params + k * out, params + k * out + out);
    add_node("Gemm", {in, add_initializer(name + ".weight", {k, out}, w), add_initializer(name + ".bias", {out}, bias)},
             name);
  }

  // Conv2D W [k, k, in, out] → [out, in, k, k].
  void conv(const std::string& name, const LayerSpec& spec, const std::string& in, const float* params) {
    const std::int64_t cin = spec.args[0], out = spec.args[1], k = spec.args[2], stride = spec.args[3],
                       pad = spec.args[4];
    std::vector<float> w(static_cast<std::size_t>(k * k * cin * out));
    for (std::int64_t o = 0; o < out; ++o) {
      for (std::int64_t i = 0; i < cin; ++i) {
        for (std::int64_t y = 0; y < k; ++y) {
          for (std::int64_t x = 0; x < k; ++x) {
            w[static_cast<std::size_t>(((o * cin + i) * k + y) * k + x)] = params[((y * k + x) * cin + i) * out + o];
          }
        }
      }
    }
    const std::vector<float> bias(params + k * k * cin * out, params + k * k * cin * out + out);
    onnx::NodeProto* n = add_node(
        "Conv",
        {in, add_initializer(name + ".weight", {out, cin, k, k}, w), add_initializer(name + ".bias", {out}, bias)},
        name);
    set_ints(n, "kernel_shape", {k, k});
    set_ints(n, "strides", {stride, stride});
    set_ints(n, "pads", {pad, pad, pad, pad});
  }

  // ONNX's momentum keeps that share of the running statistics: 1 − Tessera's (PyTorch's).
  void batch_norm(const std::string& name, const LayerSpec& spec, const std::string& in, const float* params,
                  const float* buffers) {
    const std::int64_t c = spec.args[0];
    const auto part = [&](const float* base, std::int64_t i) {
      return std::vector<float>(base + i * c, base + (i + 1) * c);
    };
    onnx::NodeProto* n = add_node(
        "BatchNormalization",
        {in, add_initializer(name + ".scale", {c}, part(params, 0)),
         add_initializer(name + ".bias", {c}, part(params, 1)), add_initializer(name + ".mean", {c}, part(buffers, 0)),
         add_initializer(name + ".var", {c}, part(buffers, 1))},
        name);
    set_float(n, "epsilon", detail::float_of_arg(spec, 2));
    set_float(n, "momentum", 1.0f - detail::float_of_arg(spec, 1));
  }

  Graph& net_;
  std::filesystem::path file_;
  std::string where_;
  onnx::GraphProto* graph_ = nullptr;
  std::vector<std::optional<Dims>> hwc_of_;  // per node: a flattened image's [C, H, W] (see load_onnx)
  std::set<std::string> scalars_;
};

}  // namespace

void save_onnx(Graph& net, const std::filesystem::path& file) {
  const std::vector<std::uint8_t> bytes = Exporter(net, file).run();
  try {
    detail::write_atomically(file, bytes);
  } catch (const std::exception& e) {
    throw OnnxError(e.what());
  }
}

}  // namespace tessera
