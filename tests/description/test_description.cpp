// Model descriptions (JSON): every layer kind and a branching graph written and read back as the same
// graph (specs, connections, names, outputs, recipe), options inferred from the input, layers of
// one's own through register_layer, and each kind of bad description one clear error naming the node.
#define BOOST_TEST_MODULE description
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

#include "support/expect_error.hpp"
#include "support/temp_dir.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::expect_error;

namespace {

void same_graph(const Graph& a, const Graph& b) {
  BOOST_REQUIRE(a.node_count() == b.node_count());
  for (std::size_t i = 0; i < a.node_count(); ++i) {
    const Node n{i};
    BOOST_TEST(a.node_name(n) == b.node_name(n));
    BOOST_TEST((a.node_shape(n) == b.node_shape(n)));
    BOOST_REQUIRE((a.node_layer(n) == nullptr) == (b.node_layer(n) == nullptr));
    if (a.node_layer(n) != nullptr) BOOST_TEST((a.node_layer(n)->spec() == b.node_layer(n)->spec()));
    const auto ia = a.node_inputs(n), ib = b.node_inputs(n);
    BOOST_REQUIRE(ia.size() == ib.size());
    for (std::size_t k = 0; k < ia.size(); ++k) BOOST_TEST(ia[k].index == ib[k].index);
  }
  BOOST_REQUIRE(a.output_count() == b.output_count());
  for (std::size_t k = 0; k < a.output_count(); ++k) BOOST_TEST(a.output_node(k).index == b.output_node(k).index);
}

// A description with one layer `layer` (a JSON object's members) reading a [6, 6, 4] image.
std::string one_layer(const std::string& layer) {
  return R"({"inputs": [{"name": "x", "shape": [6, 6, 4]}], "layers": [{"name": "l", )" + layer + "}]}";
}

// A user's layer: y = x · factor, the factor an integer argument.
class Scale final : public Layer {
 public:
  explicit Scale(std::int64_t factor) : factor_(factor) {}
  std::string name() const override { return "Scale(" + std::to_string(factor_) + ")"; }
  LayerSpec spec() const override { return {"TestScale", {factor_}}; }
  void forward(const Tensor& x, Tensor& y) override {
    for (std::int64_t i = 0; i < x.size(); ++i) y[i] = x[i] * static_cast<float>(factor_);
  }
  void backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx, bool) override {
    if (dx != nullptr) {
      for (std::int64_t i = 0; i < dy.size(); ++i) (*dx)[i] = dy[i] * static_cast<float>(factor_);
    }
  }

 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }

 private:
  std::int64_t factor_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_layer_kind_and_a_branching_graph_read_back_as_the_same_graph) {
  Graph g;
  const Node image = g.input(Shape{8, 8, 2}, "image");
  const Node features = g.input(Shape{5}, "features");
  Node h = g.add(Conv2D(2, 4, 3, 1, 1), image, "conv");
  h = g.add(BatchNorm(4, 0.2f, 1e-3f), h);
  h = g.add(LeakyReLU(0.05f), h);
  const Node pooled = g.add(MaxPool2D(2), h);
  const Node avg = g.add(AvgPool2D(2, 2), h);
  Node cat = g.add(Concat(), {pooled, avg}, "cat");
  cat = g.add(ELU(0.5f), cat);
  const Node gap = g.add(GlobalAvgPool2D(), cat);
  const Node flat = g.add(Flatten(), g.add(GELU(), cat));
  Node f = g.add(Standardize(5), features);
  f = g.add(Normalize(0.5f, 2.0f), f);
  f = g.add(LayerNorm(5), f);
  f = g.add(Dense(5, 8), f);
  f = g.add(SiLU(), f);
  const Node merged = g.add(Concat(), {gap, f});
  Node d = g.add(Dropout(0.25f), merged);
  d = g.add(Tanh(), g.add(Dense(16, 8), d));
  const Node sum = g.add(Add(), {d, g.add(Sigmoid(), d), g.add(ReLU(), d)}, "sum");
  const Node out = g.add(Softmax(), g.add(Dense(8, 3), sum), "probabilities");
  const Node side = g.add(Dense(128, 2), flat, "side");
  g.set_outputs({out, side});
  TrainingRecipe r;
  r.loss = "cross_entropy";
  r.optimizer = "adam";
  r.learning_rate = 0.003;
  r.schedule = "cosine";
  r.weight_decay = 0.01;
  r.init = "he";
  r.batch_size = 64;
  r.epochs = 7;
  const std::string text = describe_model(g, r, "everything", "every kind of layer");
  const ModelDescription d2 = parse_model_description(text, "everything.json");
  same_graph(g, d2.network);
  BOOST_TEST(d2.name == "everything");
  BOOST_TEST(d2.summary == "every kind of layer");
  BOOST_TEST(*d2.training.loss == "cross_entropy");
  BOOST_TEST(*d2.training.learning_rate == 0.003);
  BOOST_TEST(*d2.training.weight_decay == 0.01);
  BOOST_TEST(*d2.training.epochs == 7);
  BOOST_TEST(describe_model(d2.network, d2.training, d2.name, d2.summary) == text);
}

BOOST_AUTO_TEST_CASE(options_left_out_are_the_defaults_or_taken_from_the_input) {
  const ModelDescription d = parse_model_description(R"({
    "inputs": [{"shape": [10, 10, 3]}],
    "layers": [
      {"type": "Conv2D", "out_channels": 8, "kernel": 3},
      {"type": "BatchNorm"},
      {"name": "act", "type": "ReLU"},
      {"type": "GlobalAvgPool2D"},
      {"type": "Dense", "out": 4}
    ]
  })");
  const Graph& g = d.network;
  BOOST_REQUIRE(g.size() == 5u);
  BOOST_TEST((g.layer(0).spec() == Conv2D(3, 8, 3).spec()));
  BOOST_TEST((g.layer(1).spec() == BatchNorm(8).spec()));
  BOOST_TEST((g.layer(4).spec() == Dense(8, 4).spec()));
  BOOST_TEST((g.out_shape() == Shape{4}));
  BOOST_TEST(g.node_name(g.input_node(0)) == "input0");
  BOOST_TEST(!d.training.loss.has_value());
}

BOOST_AUTO_TEST_CASE(a_layer_of_ones_own_round_trips_once_registered) {
  const std::string text = one_layer(R"("type": "TestScale", "args": [3])");
  expect_error<DescriptionError>([&] { parse_model_description(text, "mine.json"); },
                                 "mine.json: layer 0 'l' (TestScale): unknown layer type 'TestScale'");
  register_layer("TestScale", [](const LayerSpec& spec) {
    if (spec.args.size() != 1) throw std::invalid_argument("TestScale takes one argument");
    return std::make_unique<Scale>(spec.args[0]);
  });
  const ModelDescription d = parse_model_description(text, "mine.json");
  BOOST_TEST(d.network.layer(0).name() == "Scale(3)");
  BOOST_TEST(describe_model(d.network).find(R"("type":"TestScale","input":"x","args":[3])") != std::string::npos);
  expect_error<DescriptionError>([&] { parse_model_description(one_layer(R"("type": "TestScale", "factor": 3)")); },
                                 "unknown option 'factor' (a layer of your own takes 'args'");
}

BOOST_AUTO_TEST_CASE(bad_descriptions_are_one_clear_error_naming_the_node) {
  struct Case {
    std::string text, expected;
  };
  const std::string input = R"("inputs": [{"name": "x", "shape": [6, 6, 4]}])";
  const Case cases[] = {
      {"{\n  \"inputs\": [\n  {\"shape\": [3]},,\n]}", "net.json:3:18: not valid JSON: syntax error"},
      {"[1, 2]", "net.json: a description is a JSON object, got array"},
      // Found by fuzzing: a number too large for a double is no parse_error but out_of_range.
      {R"({"inputs": [{"shape": [1e999]}]})", "net.json: not a description JSON can hold: "},
      {"{" + input + R"(, "layers": [], "extra": 1})", "unknown key 'extra'"},
      {"{" + input + R"(, "layers": []})", "'layers' must be a non-empty array"},
      {R"({"layers": [{"type": "ReLU"}]})", "no 'inputs'"},
      {R"({"inputs": [{"shape": [0]}], "layers": [{"type": "ReLU"}]})", "input 0: extents are whole numbers"},
      {R"({"inputs": [{"shape": [1, 2, 3, 4]}], "layers": [{"type": "ReLU"}]})", "input 0: a shape of 1 to 3 extents"},
      {one_layer(R"("type": "Convolution")"), "layer 0 'l' (Convolution): unknown layer type 'Convolution'"},
      {one_layer(R"("kernel": 3)"), "layer 0 'l': needs a type"},
      {one_layer(R"("type": "Conv2D", "kernel": 3)"), "layer 0 'l' (Conv2D): needs the option 'out_channels'"},
      {one_layer(R"("type": "Conv2D", "out_channels": 2, "kernal": 3)"),
       "layer 0 'l' (Conv2D): unknown option 'kernal' (options: in_channels, out_channels, kernel, stride, padding)"},
      {one_layer(R"("type": "Conv2D", "out_channels": 2, "kernel": 2.5)"), "option 'kernel' must be a whole number"},
      {one_layer(R"("type": "Conv2D", "out_channels": 2, "kernel": 0)"), "layer 0 'l' (Conv2D): tessera::Conv2D"},
      {one_layer(R"("type": "Dropout", "p": "half")"), "option 'p' must be a number"},
      {one_layer(R"("type": "Dropout", "p": 1.5)"), "layer 0 'l' (Dropout): "},
      {one_layer(R"("type": "ReLU", "slope": 1)"), "unknown option 'slope' (it takes none)"},
      {one_layer(R"("type": "ReLU", "input": "y")"), "layer 0 'l' (ReLU): reads 'y', which is no input or layer"},
      {one_layer(R"("type": "Dense", "out": 3)"), "layer 0 'l' (Dense): Graph: node 1 'l' Dense(144, 3) cannot take"},
      {one_layer(R"("type": "BatchNorm", "channels": 3)"), "layer 0 'l' (BatchNorm): Graph: node 1 'l' BatchNorm"},
      {"{" + input + R"(, "layers": [{"name": "a", "type": "ReLU", "input": "b"}, {"name": "b", "type": "ReLU"}]})",
       "layer 0 'a' (ReLU): reads 'b', which is defined after it: a layer reads only the nodes before it, so "
       "connections cannot form a cycle"},
      {"{" + input + R"(, "layers": [{"name": "a", "type": "ReLU", "input": "a"}]})",
       "reads 'a', which is defined after it"},
      {"{" + input + R"(, "layers": [{"name": "x", "type": "ReLU"}]})",
       "layer 0 'x' (ReLU): the name 'x' is used twice"},
      {"{" + input + R"(, "layers": [{"type": "Add", "inputs": ["x"]}]})", "combines two or more inputs, got 1"},
      {"{" + input + R"(, "layers": [{"type": "ReLU", "input": "x", "inputs": ["x"]}]})", "give 'input' or 'inputs'"},
      {"{" + input + R"(, "layers": [{"name": "a", "type": "ReLU"}, {"type": "Sigmoid", "input": "x"}]})",
       "node 1 'a' ReLU leads to no output"},
      {"{" + input + R"(, "layers": [{"name": "a", "type": "ReLU"}], "outputs": ["b"]})", "outputs: no node named 'b'"},
      {"{" + input + R"(, "layers": [{"type": "ReLU"}], "training": {"loss": "hinge"}})",
       "training: 'loss' is one of mse, cross_entropy, l1, huber, bce, got 'hinge'"},
      {"{" + input + R"(, "layers": [{"type": "ReLU"}], "training": {"learning_rate": 0}})",
       "training: 'learning_rate' must be a number > 0"},
      {"{" + input + R"(, "layers": [{"type": "ReLU"}], "training": {"epochs": 2.5}})",
       "'epochs' must be a whole number"},
      {"{" + input + R"(, "layers": [{"type": "ReLU"}], "training": {"momentum": 0.9}})",
       "training: unknown key 'momentum'"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      expect_error<DescriptionError>([&] { parse_model_description(c.text, "net.json"); }, c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_file_is_read_and_a_missing_one_named) {
  test::TempDir dir;
  {
    std::ofstream f(dir / "net.json");
    f << one_layer(R"("type": "Flatten")");
  }
  BOOST_TEST((read_model_description(dir / "net.json").network.out_shape() == Shape{144}));
  expect_error<DescriptionError>([&] { read_model_description(dir / "none.json"); },
                                 "none.json: cannot open the model description");
}
