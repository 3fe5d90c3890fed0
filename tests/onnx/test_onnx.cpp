// ONNX: models exported from PyTorch (tests/data/onnx, by scripts/export-onnx-samples) compute
// PyTorch's outputs in Tessera and fine-tune; every layer kind with an ONNX form exports and loads
// back to the same function (and passes onnx.checker where python3-onnx is installed); unsupported
// and hostile files are clear errors naming the node.
#define BOOST_TEST_MODULE onnx
#include <boost/test/unit_test.hpp>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/same_bits.hpp"
#include "support/temp_dir.hpp"
#include "tessera/onnx.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::expect_error;
using tessera::test::TempDir;

namespace {

const std::string kData = std::string(TESSERA_TEST_DATA) + "/onnx/";

struct Sample {
  Tensor input;   // NHWC (or [N, F]), as Tessera takes it
  Tensor output;  // PyTorch's
};

// NAME.json: PyTorch's inputs (NCHW) and outputs. Images are permuted to NHWC.
Sample read_sample(const std::string& name) {
  std::ifstream in(kData + name + ".json");
  BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot open " << name << ".json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const auto is = j.at("input_shape").get<std::vector<std::int64_t>>();
  const auto x = j.at("input").get<std::vector<float>>();
  const auto os = j.at("output_shape").get<std::vector<std::int64_t>>();
  const auto y = j.at("output").get<std::vector<float>>();
  Sample s;
  if (is.size() == 4) {
    const std::int64_t n = is[0], c = is[1], h = is[2], w = is[3];
    s.input = Tensor(Shape{n, h, w, c});
    for (std::int64_t b = 0; b < n; ++b) {
      for (std::int64_t ch = 0; ch < c; ++ch) {
        for (std::int64_t r = 0; r < h * w; ++r)
          s.input[(b * h * w + r) * c + ch] = x[static_cast<std::size_t>((b * c + ch) * h * w + r)];
      }
    }
  } else {
    s.input = Tensor(Shape{is[0], is[1]});
    for (std::size_t i = 0; i < x.size(); ++i) s.input[static_cast<std::int64_t>(i)] = x[i];
  }
  s.output = Tensor(Shape{os[0], os[1]});
  for (std::size_t i = 0; i < y.size(); ++i) s.output[static_cast<std::int64_t>(i)] = y[i];
  return s;
}

// Largest |a − b| relative to the largest |b| (at least 1).
double relative_difference(const Tensor& a, const Tensor& b) {
  BOOST_TEST_REQUIRE(a.size() == b.size());
  double worst = 0.0, scale = 1.0;
  for (std::int64_t i = 0; i < b.size(); ++i) scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  for (std::int64_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return worst / scale;
}

Tensor predict(Graph& net, const Tensor& x) {
  net.eval();
  return net.forward(x).clone();
}

// onnx.checker on `file` where /usr/bin/python3 has onnx; false (and a message) where it does not.
bool onnx_checker_available() {
  static const bool available = std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") == 0;
  if (!available) BOOST_TEST_MESSAGE("skipped onnx.checker: /usr/bin/python3 has no onnx module (python3-onnx)");
  return available;
}
void check_with_onnx_checker(const std::filesystem::path& file) {
  if (!onnx_checker_available()) return;
  const std::string command =
      "/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' '" +
      file.string() + "'";
  BOOST_TEST(std::system(command.c_str()) == 0, "onnx.checker rejects " << file);
}

}  // namespace

BOOST_AUTO_TEST_CASE(pytorch_exports_compute_pytorchs_outputs) {
  for (const std::string name : {"mlp", "cnn", "resnet", "operators"}) {
    BOOST_TEST_CONTEXT(name) {
      Graph net = load_onnx(kData + name + ".onnx");
      const Sample s = read_sample(name);
      const Tensor y = predict(net, s.input);
      BOOST_TEST(relative_difference(y, s.output) <= 1e-5);
      BOOST_TEST(net.node_name(net.input_node(0)) == "input");
    }
  }
}

BOOST_AUTO_TEST_CASE(import_translates_layouts) {
  // cnn: 16 channels of 4×4 flattened, so the first Dense's rows are reordered from (c, h, w).
  Graph cnn = load_onnx(kData + "cnn.onnx");
  BOOST_TEST(cnn.in_shape().to_string() == Shape({28, 28, 1}).to_string());
  BOOST_TEST(cnn.summary().find("Flatten") != std::string::npos);
  // resnet: every BatchNormalization is a BatchNorm with its running statistics as buffers; the GELU
  // of the operators sample is one layer, and each scaling by constants one Normalize.
  Graph res = load_onnx(kData + "resnet.onnx");
  int batch_norms = 0;
  for (std::size_t i = 0; i < res.size(); ++i) batch_norms += res.layer(i).spec().kind == "BatchNorm";
  BOOST_TEST(batch_norms == 6);  // the stem's, two in the first block, three in the second
  BOOST_TEST(res.buffer_count() == 2 * (16 + 16 + 16 + 32 + 32 + 32));
  Graph ops = load_onnx(kData + "operators.onnx");
  int gelus = 0, normalizes = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    gelus += ops.layer(i).spec().kind == "GELU";
    normalizes += ops.layer(i).spec().kind == "Normalize";
  }
  BOOST_TEST(gelus == 1);
  BOOST_TEST(normalizes == 2);  // the input's (x − 0.5) / 0.25 · 0.5 + 0.125, and the softmax · 3
}

BOOST_AUTO_TEST_CASE(an_imported_model_fine_tunes) {
  Graph net = load_onnx(kData + "resnet.onnx");
  const Sample s = read_sample("resnet");
  const std::vector<std::int32_t> labels{3, 1, 4, 1};
  SoftmaxCrossEntropy loss;
  SGD sgd(net, SGDOptions(0.05f).momentum(0.9f));
  net.train();
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 8; ++step) {
    sgd.zero_grad();
    const Tensor& y = net.forward(s.input);
    last = loss.compute(y, TargetBatch::of_classes(labels), &net.output_gradient());
    if (step == 0) first = last;
    net.backward(net.output_gradient());
    sgd.step();
  }
  BOOST_TEST(std::isfinite(last));
  BOOST_TEST(last < 0.5f * first, "loss " << first << " → " << last);
}

namespace {
// Every layer kind with an ONNX form, on images and on features.
Graph every_layer() {
  Graph g;
  Node x = g.input(Shape{9, 8, 3}, "image");
  Node h = g.add(Normalize(0.25f, 0.5f), x, "scale");
  Node a = g.add(Conv2D(3, 6, 3, 1, 1), h, "conv_a");
  a = g.add(BatchNorm(6, 0.2f, 1e-3f), a, "bn_a");
  a = g.add(ReLU(), a, "relu_a");
  Node b = g.add(Conv2D(3, 6, 1), h, "conv_b");
  b = g.add(LeakyReLU(0.1f), b, "leaky_b");
  Node sum = g.add(Add(), {a, b}, "sum");
  Node cat = g.add(Concat(), {sum, b}, "cat");
  Node p = g.add(MaxPool2D(2), cat, "max");
  Node q = g.add(AvgPool2D(3, 2), cat, "avg");
  Node flat = g.add(Flatten(), p, "flat");
  Node d = g.add(Dense(4 * 4 * 12, 20), flat, "fc1");
  d = g.add(ELU(0.7f), d, "elu");
  d = g.add(Dropout(0.25f), d, "drop");
  d = g.add(GELU(), d, "gelu");
  Node e = g.add(GlobalAvgPool2D(), q, "gap");
  e = g.add(BatchNorm(12), e, "bn_e");
  e = g.add(Dense(12, 20), e, "fc_e");
  e = g.add(Tanh(), e, "tanh");
  Node f = g.add(Concat(), {d, e}, "features");
  f = g.add(Dense(40, 7), f, "fc2");
  f = g.add(Sigmoid(), f, "sigmoid");
  f = g.add(LogSoftmax(), f, "log_softmax");
  g.add(Softmax(), g.add(Dense(7, 5), f, "fc3"), "probabilities");
  g.initialize(5, Init::Normal);
  // Running statistics other than 0 and 1.
  Tensor buffers = g.buffers();
  for (std::int64_t i = 0; i < buffers.size(); ++i) buffers[i] = 0.5f + 0.01f * static_cast<float>(i % 37);
  return g;
}

Tensor images(std::int64_t n, const Shape& example) {
  Tensor x(example.with_batch(n));
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  return x;
}
}  // namespace

BOOST_AUTO_TEST_CASE(export_then_import_gives_the_same_function) {
  TempDir dir;
  Graph net = every_layer();
  const Tensor x = images(3, net.in_shape());
  const Tensor want = predict(net, x);
  save_onnx(net, dir.path() / "every.onnx");
  check_with_onnx_checker(dir.path() / "every.onnx");
  Graph back = load_onnx(dir.path() / "every.onnx");
  BOOST_TEST(back.parameter_count() == net.parameter_count());
  BOOST_TEST(test::same_bits(back.parameters(), net.parameters()));
  BOOST_TEST(test::same_bits(back.buffers(), net.buffers()));
  BOOST_TEST(test::same_bits(predict(back, x), want));
  // And an imported PyTorch model exports to a file that loads back to it.
  Graph res = load_onnx(kData + "resnet.onnx");
  save_onnx(res, dir.path() / "resnet.onnx");
  check_with_onnx_checker(dir.path() / "resnet.onnx");
  Graph res_back = load_onnx(dir.path() / "resnet.onnx");
  const Sample s = read_sample("resnet");
  BOOST_TEST(test::same_bits(predict(res_back, s.input), predict(res, s.input)));
}

BOOST_AUTO_TEST_CASE(layers_without_an_onnx_form_are_named) {
  TempDir dir;
  Sequential net(Dense(4, 3), SiLU(), Dense(3, 2));
  net.initialize(1);
  expect_error<OnnxError>([&] { save_onnx(net, dir.path() / "x.onnx"); }, "(SiLU): has no ONNX form");
  BOOST_TEST(!std::filesystem::exists(dir.path() / "x.onnx"));
}

namespace {
// A minimal model: input [N, 4] → Relu → output, for the error cases to break.
onnx::ModelProto tiny_model() {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  onnx::ValueInfoProto* in = g->add_input();
  in->set_name("x");
  auto* t = in->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
  t->mutable_shape()->add_dim()->set_dim_param("N");
  t->mutable_shape()->add_dim()->set_dim_value(4);
  onnx::NodeProto* n = g->add_node();
  n->set_name("act");
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}
std::filesystem::path write(const TempDir& dir, const onnx::ModelProto& m, const std::string& name) {
  const auto file = dir.path() / name;
  std::ofstream out(file, std::ios::binary);
  m.SerializeToOstream(&out);
  return file;
}
void add_matmul(onnx::ModelProto& m, std::vector<std::int64_t> dims, std::size_t values) {
  onnx::GraphProto* g = m.mutable_graph();
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto_DataType_FLOAT);
  for (std::int64_t d : dims) w->add_dims(d);
  for (std::size_t i = 0; i < values; ++i) w->add_float_data(0.5f);
  onnx::NodeProto* n = g->add_node();
  n->set_name("mm");
  n->set_op_type("MatMul");
  n->add_input("y");
  n->add_input("w");
  n->add_output("z");
  g->mutable_output(0)->set_name("z");
}
}  // namespace

BOOST_AUTO_TEST_CASE(unsupported_and_hostile_models_are_clear_errors) {
  TempDir dir;
  {
    onnx::ModelProto m = tiny_model();
    BOOST_TEST(load_onnx(write(dir, m, "ok.onnx")).out_shape().to_string() == Shape({4}).to_string());
  }
  const auto expect = [&](onnx::ModelProto m, const std::string& fragment) {
    expect_error<OnnxError>([&] { load_onnx(write(dir, m, "bad.onnx")); }, fragment);
  };
  {
    onnx::ModelProto m = tiny_model();
    m.mutable_graph()->mutable_node(0)->set_op_type("Hardmax");
    expect(m, "node 0 'act' (Hardmax): the operator is not supported");
  }
  {
    onnx::ModelProto m = tiny_model();
    m.mutable_graph()->mutable_node(0)->set_input(0, "later");
    expect(m, "reads 'later', which no earlier node produces");
  }
  {
    onnx::ModelProto m = tiny_model();
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
        onnx::TensorProto_DataType_DOUBLE);
    expect(m, "holds double values");
  }
  {
    onnx::ModelProto m = tiny_model();
    m.mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->mutable_dim(1)
        ->set_dim_param("F");
    expect(m, "dynamic or invalid extent 1");
  }
  {
    onnx::ModelProto m = tiny_model();
    m.mutable_opset_import(0)->set_version(7);
    expect(m, "opset 7 is not supported");
  }
  {
    onnx::ModelProto m = tiny_model();
    add_matmul(m, {4, 3}, 11);  // 12 values claimed, 11 given
    expect(m, "tensor 'w' has 11 values where its extents say 12");
  }
  {
    onnx::ModelProto m = tiny_model();
    add_matmul(m, {1 << 20, 1 << 20}, 1);  // a huge claimed size
    expect(m, "more than 2^31 values");
  }
  {
    onnx::ModelProto m = tiny_model();
    add_matmul(m, {5, 3}, 15);
    expect(m, "node 1 'mm' (MatMul): B 'w' has 5 rows for an input of 4 features");
  }
  {
    onnx::ModelProto m = tiny_model();
    add_matmul(m, {4, 0}, 0);  // a layer of no outputs: Dense refuses it
    expect(m, "node 1 'mm' (MatMul): ");
  }
  {
    onnx::ModelProto m = tiny_model();
    add_matmul(m, {4, 3}, 12);
    m.mutable_graph()->mutable_node(1)->set_input(1, "missing");
    expect(m, "node 1 'mm' (MatMul): B 'missing' is not a constant");
  }
  {
    onnx::ModelProto m = tiny_model();
    onnx::AttributeProto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("alpha");
    a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
    expect(m, "the attribute 'alpha' is not supported");
  }
  {
    onnx::ModelProto m = tiny_model();
    m.mutable_graph()->mutable_output(0)->set_name("x");
    expect(m, "graph output 'x': is a graph input itself");
  }
  {
    // A graph input that no output depends on: the graph refuses it, as an OnnxError.
    onnx::ModelProto m = tiny_model();
    onnx::ValueInfoProto* extra = m.mutable_graph()->add_input();
    *extra = m.graph().input(0);
    extra->set_name("unused");
    expect(m, "bad.onnx: Graph: node 1 'unused' leads to no output of the graph");
  }
  // Not a protobuf at all, and no file.
  {
    std::ofstream(dir.path() / "junk.onnx") << "this is not an ONNX model";
    expect_error<OnnxError>([&] { load_onnx(dir.path() / "junk.onnx"); }, "junk.onnx: it is not an ONNX model");
    expect_error<OnnxError>([&] { load_onnx(dir.path() / "none.onnx"); }, "none.onnx: cannot read it");
  }
}

// A node whose result nothing reads (an exporter's leftover) is dropped, whatever it is, as a
// runtime would never run it; the nodes the outputs need are translated as ever.
BOOST_AUTO_TEST_CASE(nodes_that_no_output_needs_are_dropped) {
  TempDir dir;
  onnx::ModelProto m = tiny_model();
  onnx::NodeProto* dead = m.mutable_graph()->add_node();
  dead->set_name("leftover");
  dead->set_op_type("Hardmax");  // not an operator Tessera knows: it must not matter here
  dead->add_input("x");
  dead->add_output("unused");
  Graph net = load_onnx(write(dir, m, "dead.onnx"));
  BOOST_TEST(net.size() == 1u);  // the Relu alone
  Tensor x(Shape{2, 4});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 3.5f;
  const Tensor y = predict(net, x);
  for (std::int64_t i = 0; i < x.size(); ++i) BOOST_TEST(y[i] == std::max(x[i], 0.0f));
}

// Found by fuzz_onnx: a node of PyTorch's GELU chain (Div → Erf → Add → Mul → Mul) without its
// output was read past the end while the chain was being matched.
BOOST_AUTO_TEST_CASE(a_gelu_chain_with_a_node_missing_its_output_is_a_clear_error) {
  TempDir dir;
  onnx::ModelProto sample;
  {
    std::ifstream in(kData + "operators.onnx", std::ios::binary);
    BOOST_TEST_REQUIRE(sample.ParseFromIstream(&in));
  }
  int broken = 0;
  for (int i = 0; i < sample.graph().node_size(); ++i) {
    const std::string& name = sample.graph().node(i).name();
    if (name != "/Div_1" && name != "/Erf" && name != "/Add_1" && name != "/Mul_1" && name != "/Mul_2") continue;
    onnx::ModelProto m = sample;
    m.mutable_graph()->mutable_node(i)->clear_output();
    expect_error<OnnxError>([&] { load_onnx(write(dir, m, "bad.onnx")); }, "bad.onnx: node ");
    ++broken;
  }
  BOOST_TEST(broken == 5);  // the sample still holds the whole chain
}

BOOST_AUTO_TEST_CASE(convolution_options_that_differ_are_refused) {
  // A Conv with asymmetric padding exported as-is would compute another function: refused by name.
  TempDir dir;
  Graph net;
  net.add(Conv2D(1, 2, 3, 1, 1), net.input(Shape{5, 5, 1}, "x"), "conv");
  net.initialize(1);
  save_onnx(net, dir.path() / "conv.onnx");
  onnx::ModelProto m;
  {
    std::ifstream in(dir.path() / "conv.onnx", std::ios::binary);
    BOOST_TEST_REQUIRE(m.ParseFromIstream(&in));
  }
  for (onnx::AttributeProto& a : *m.mutable_graph()->mutable_node(0)->mutable_attribute()) {
    if (a.name() == "pads") a.set_ints(3, 0);
  }
  expect_error<OnnxError>([&] { load_onnx(write(dir, m, "asym.onnx")); },
                          "node 0 'conv' (Conv): pads must be four equal extents");
}
