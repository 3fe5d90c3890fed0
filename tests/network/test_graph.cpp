// Graph: shape errors naming both nodes, gradients by central differences for branches, a node used
// three times, Add and Concat of several inputs, several inputs and outputs, BatchNorm in train mode;
// fusion only where an output has one use; gradient buffers shared by liveness; a chain graph
// bit-identical to Sequential; bit-identical training at 1, 2, 3 and 7 threads; no allocation in a
// step; train/eval of BatchNorm and Dropout inside a graph.
#define BOOST_TEST_MODULE graph
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "support/allocation_counter.hpp"
#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/network_gradients.hpp"
#include "support/same_bits.hpp"
#include "support/temp_dir.hpp"
#include "support/threads.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;
using tessera::test::expect_error;
using tessera::test::fill_uniform;

namespace {

using tessera::test::same_bits;

std::vector<std::int32_t> labels_for(std::int64_t n, std::int32_t classes) {
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>((i * 7 + 3) % classes);
  return labels;
}

// A small residual image network: conv → BN → ReLU, a block with a strided 1×1 skip, pooled, dense.
Graph residual_network() {
  Graph g;
  const Node x = g.input(Shape{8, 8, 2}, "image");
  Node h = g.add(Conv2D(2, 4, 3, 1, 1), x, "stem");
  h = g.add(ReLU(), g.add(BatchNorm(4), h));
  Node r = g.add(Conv2D(4, 6, 3, 2, 1), h);
  r = g.add(ReLU(), g.add(BatchNorm(6), r));
  r = g.add(BatchNorm(6), g.add(Conv2D(6, 6, 3, 1, 1), r));
  const Node skip = g.add(BatchNorm(6), g.add(Conv2D(4, 6, 1, 2, 0), h));
  h = g.add(ReLU(), g.add(Add(), {r, skip}));
  h = g.add(GlobalAvgPool2D(), h);
  g.add(Dense(6, 3), h, "logits");
  return g;
}

void sgd_steps(Graph& net, int steps, std::uint64_t seed) {
  net.initialize(seed, Init::He);
  SGD opt(net, SGDOptions(0.05f).momentum(0.9f));
  const SoftmaxCrossEntropy ce;
  std::mt19937_64 rng(seed);
  Tensor x(net.in_shape().with_batch(16));
  const auto labels = labels_for(16, 3);
  for (int s = 0; s < steps; ++s) {
    fill_uniform(x, rng);
    opt.zero_grad();
    ce.compute(net.forward(x), labels, &net.output_gradient());
    net.backward(net.output_gradient());
    opt.step();
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(shapes_are_checked_when_a_node_is_added_naming_both_nodes) {
  Graph g;
  const Node x = g.input(Shape{5}, "features");
  const Node a = g.add(Dense(5, 3), x, "a");
  const Node b = g.add(Dense(5, 4), x, "b");
  expect_error<std::invalid_argument>(
      [&] {
        g.add(Add(), {a, b});
      },
      "node 3 Add cannot take node 1 'a' Dense(5, 3) (shape [3]), node 2 'b' "
      "Dense(5, 4) (shape [4]): Add takes inputs of one shape");
  expect_error<std::invalid_argument>([&] { g.add(Dense(4, 2), a, "c"); },
                                      "node 3 'c' Dense(4, 2) cannot take node 1 'a' Dense(5, 3) (shape [3])");
  expect_error<std::invalid_argument>([&] { g.add(Add(), {a}); }, "combines two or more inputs, got 1");
  expect_error<std::invalid_argument>([&] { g.add(Dense(3, 3), {a, a}); }, "it takes one input, given 2");
  expect_error<std::invalid_argument>([&] { g.add(ReLU(), Node{17}); }, "names node 17, which is not (yet)");
  expect_error<std::invalid_argument>([&] { g.add(ReLU(), a, "b"); }, "a node named 'b' exists already");
  expect_error<std::invalid_argument>([&] { g.input(Shape{2}, "features"); }, "a node named 'features'");
  const Node c = g.add(Concat(), {a, b, a});
  BOOST_TEST((g.node_shape(c) == Shape{10}));
  BOOST_TEST(g.find("a").index == a.index);
  expect_error<std::invalid_argument>([&] { g.find("nothing"); }, "no node named 'nothing'");
  Graph images;
  const Node i = images.input(Shape{4, 4, 3});
  const Node j = images.input(Shape{4, 5, 3});
  expect_error<std::invalid_argument>([&] { images.add(Concat(), {i, j}); }, "differ only in their last extent");
}

BOOST_AUTO_TEST_CASE(a_node_that_leads_to_no_output_is_refused_when_built) {
  Graph g;
  const Node x = g.input(Shape{4});
  g.add(Dense(4, 2), x, "dead end");
  g.add(Dense(4, 3), x);
  expect_error<std::logic_error>([&] { g.parameters(); }, "'dead end' Dense(4, 2) leads to no output");
  expect_error<std::logic_error>([&] { g.forward(Tensor(Shape{2, 4})); }, "leads to no output");
}

BOOST_AUTO_TEST_CASE(branches_and_a_residual_add_match_central_differences) {
  Graph g;
  const Node x = g.input(Shape{6});
  const Node h = g.add(Tanh(), g.add(Dense(6, 5), x));
  const Node left = g.add(Sigmoid(), g.add(Dense(5, 5), h));
  const Node right = g.add(Dense(5, 5), h);
  g.add(Dense(5, 3), g.add(Add(), {left, right, h}));
  g.initialize(3);
  test::check_network_gradients(g, "branches", 4);
}

BOOST_AUTO_TEST_CASE(a_node_used_three_times_sums_its_gradients) {
  // h feeds a Dense, an Add (twice) and a Concat: its gradient has four contributions.
  Graph g;
  const Node x = g.input(Shape{4});
  const Node h = g.add(Tanh(), g.add(Dense(4, 4), x));
  const Node d = g.add(Dense(4, 4), h);
  const Node sum = g.add(Add(), {d, h, h});
  g.add(Dense(8, 2), g.add(Concat(), {sum, h}));
  g.initialize(5);
  test::check_network_gradients(g, "three uses", 3);
}

BOOST_AUTO_TEST_CASE(several_inputs_and_outputs_match_central_differences) {
  Graph g;
  const Node a = g.input(Shape{3}, "a");
  const Node b = g.input(Shape{2}, "b");
  const Node both = g.add(Concat(), {a, b});
  const Node h = g.add(Sigmoid(), g.add(Dense(5, 4), both));
  const Node out1 = g.add(Dense(4, 2), h, "first");
  const Node out2 = g.add(Add(), {g.add(Dense(4, 3), h), g.add(Dense(3, 3), a)}, "second");
  g.set_outputs({out1, out2, h});  // an output that is also read inside
  g.initialize(8);
  BOOST_TEST(g.output_count() == 3u);
  expect_error<std::logic_error>([&] { (void)g.out_shape(); }, "of 3 outputs");
  test::check_network_gradients(g, "two inputs, three outputs", 3);
}

BOOST_AUTO_TEST_CASE(images_through_convolution_batch_norm_in_train_mode_and_concat_channels) {
  Graph g;
  const Node x = g.input(Shape{5, 5, 2});
  const Node c1 = g.add(Conv2D(2, 3, 3, 1, 1), x);
  const Node bn = g.add(BatchNorm(3), c1);
  const Node c2 = g.add(Conv2D(2, 2, 1), x);
  const Node cat = g.add(Concat(), {bn, c2, x});
  BOOST_TEST((g.node_shape(cat) == Shape{5, 5, 7}));
  g.add(Dense(7, 2), g.add(GlobalAvgPool2D(), g.add(SiLU(), cat)));
  g.initialize(2, Init::He);
  g.train();
  test::check_network_gradients(g, "conv, batch norm (train), concat", 4, {1e-2, 3e-3, 2e-2});
}

BOOST_AUTO_TEST_CASE(the_residual_network_matches_central_differences_in_train_mode) {
  Graph g = residual_network();
  g.initialize(4, Init::He);
  g.train();
  // ReLU's kinks: a small step, and points within it of a kink skipped.
  test::Tolerance tol{1e-3, 3e-3, 2e-2};
  tol.kink = 1e-5;
  test::check_network_gradients(g, "residual", 4, tol);
}

BOOST_AUTO_TEST_CASE(an_activation_is_fused_only_where_its_input_has_one_use) {
  Graph g;
  const Node x = g.input(Shape{6});
  const Node shared = g.add(Dense(6, 4), x, "shared");
  const Node relu = g.add(ReLU(), shared);  // shared is read by the Add too: no fusing
  const Node single = g.add(Dense(4, 4), relu, "single");
  const Node relu2 = g.add(ReLU(), single);                    // single has one use: fused
  const Node gelu = g.add(GELU(), g.add(Dense(4, 4), relu2));  // never fused: its derivative needs x
  g.add(Dense(4, 2), g.add(Add(), {shared, gelu}));
  g.initialize(6);
  const auto profile = g.profile();
  BOOST_TEST(profile[1].name == "ReLU");
  BOOST_TEST(profile[3].name == "ReLU (fused)");
  BOOST_TEST(profile[5].name == "GELU");
  test::Tolerance tol{1e-3, 3e-3, 2e-2};
  tol.kink = 1e-5;
  test::check_network_gradients(g, "fusion", 5, tol);
}

BOOST_AUTO_TEST_CASE(a_relu_after_an_add_is_fused_and_changes_no_bit) {
  // The same residual sum twice: once with the ReLU fused into the Add, once with the sum also an
  // output (two uses: not fused). Outputs and gradients bit-identical, gradients right.
  const auto build = [](bool fused) {
    Graph g;
    const Node x = g.input(Shape{6}, "x");
    const Node a = g.add(Dense(6, 5), x, "a");
    const Node sum = g.add(Add(), {a, g.add(Dense(6, 5), x, "b")}, "sum");
    const Node relu = g.add(ReLU(), sum, "relu");
    const Node out = g.add(Dense(5, 3), relu, "out");
    g.set_outputs(fused ? std::vector<Node>{out} : std::vector<Node>{out, sum});
    g.initialize(9, Init::Normal);
    return g;
  };
  Graph fused = build(true), plain = build(false);
  BOOST_TEST(fused.profile()[3].name == "ReLU (fused)");
  BOOST_TEST(plain.profile()[3].name == "ReLU");
  Tensor x(Shape{7, 6});
  std::mt19937_64 rng(4);
  fill_uniform(x, rng, -2.0f, 2.0f);
  const Tensor y = fused.forward(x).clone();
  BOOST_TEST(same_bits(y, plain.forward_all(std::span<const Tensor>(&x, 1))[0]));
  Tensor dy(y.shape());
  fill_uniform(dy, rng);
  Tensor zero_sum(Shape{7, 5});
  zero_sum.fill(0.0f);
  fused.backward(dy);
  const Tensor d_outputs[2] = {dy.view(), zero_sum.view()};
  plain.backward_all(d_outputs);
  BOOST_TEST(same_bits(fused.gradients(), plain.gradients()));
  test::Tolerance tol{1e-3, 3e-3, 2e-2};
  tol.kink = 1e-5;
  test::check_network_gradients(fused, "Add + ReLU", 5, tol);
}

BOOST_AUTO_TEST_CASE(a_deep_chain_shares_two_gradient_buffers) {
  Graph g;
  Node h = g.input(Shape{16});
  for (int i = 0; i < 12; ++i) h = g.add(Tanh(), g.add(Dense(16, 16), h));
  g.add(Dense(16, 4), h);
  Tensor x(Shape{8, 16});
  g.forward(x);
  // Twelve activations of 16 (each Tanh fused into its Dense) and one of 4, two shared gradient
  // buffers of 16, the output's gradient of 4.
  BOOST_TEST(g.profile()[1].name == "Tanh (fused)");
  BOOST_TEST(g.activation_floats() == 8 * (12 * 16 + 4 + 2 * 16 + 4));
}

BOOST_AUTO_TEST_CASE(a_chain_graph_trains_bit_identically_to_sequential) {
  Sequential seq(Dense(10, 8), ReLU(), Dense(8, 8), Sigmoid(), Dense(8, 3));
  Graph g;
  Node h = g.input(Shape{10});
  h = g.add(Dense(10, 8), h);
  h = g.add(ReLU(), h);
  h = g.add(Dense(8, 8), h);
  h = g.add(Sigmoid(), h);
  g.add(Dense(8, 3), h);
  for (Graph* net : {static_cast<Graph*>(&seq), &g}) {
    net->initialize(1);
    Adam opt(*net, AdamOptions());
    const SoftmaxCrossEntropy ce;
    std::mt19937_64 rng(2);
    Tensor x(Shape{12, 10});
    for (int s = 0; s < 4; ++s) {
      fill_uniform(x, rng);
      opt.zero_grad();
      ce.compute(net->forward(x), labels_for(12, 3), &net->output_gradient());
      net->backward(net->output_gradient());
      opt.step();
    }
  }
  BOOST_TEST(same_bits(seq.parameters(), g.parameters()));
  BOOST_TEST(g.profile()[1].name == "ReLU (fused)");
}

BOOST_AUTO_TEST_CASE(residual_training_is_bit_identical_at_1_2_3_and_7_threads) {
  std::vector<Tensor> results;
  for (int threads : {1, 2, 3, 7}) {
    test::run_on_threads(threads, [&] {
      Graph g = residual_network();
      sgd_steps(g, 3, 11);
      results.push_back(g.parameters().clone());
      results.push_back(g.buffers().clone());
    });
  }
  for (std::size_t i = 2; i < results.size(); ++i) {
    BOOST_TEST(same_bits(results[i % 2], results[i]), "run " << i / 2 << " differs from 1 thread");
  }
}

BOOST_AUTO_TEST_CASE(a_training_step_of_a_graph_allocates_nothing) {
  Graph g = residual_network();
  g.initialize(1, Init::He);
  Adam opt(g, AdamOptions());
  const SoftmaxCrossEntropy ce;
  std::mt19937_64 rng(3);
  Tensor x(Shape{16, 8, 8, 2});
  fill_uniform(x, rng);
  const auto labels = labels_for(16, 3);
  const Tensor last = x.rows(0, 5);
  const std::vector<std::int32_t> last_labels(labels.begin(), labels.begin() + 5);
  const auto step = [&](const Tensor& in, const std::vector<std::int32_t>& l) {
    opt.zero_grad();
    ce.compute(g.forward(in), l, &g.output_gradient());
    g.backward(g.output_gradient());
    opt.step();
  };
  step(x, labels);
  step(last, last_labels);
  if (!test::AllocationCounter::available()) {
    BOOST_TEST_MESSAGE("allocation counting skipped: ThreadSanitizer owns operator new");
    return;
  }
  long allocations = 0;
  {
    test::AllocationCounter counter;
    for (int s = 0; s < 3; ++s) step(x, labels);
    step(last, last_labels);
    allocations = counter.count();
  }
  BOOST_TEST(allocations == 0);
}

BOOST_AUTO_TEST_CASE(batch_norm_and_dropout_inside_a_graph_follow_train_and_eval) {
  Graph g;
  const Node x = g.input(Shape{4});
  const Node bn = g.add(BatchNorm(4), x);
  const Node drop = g.add(Dropout(0.5f), bn);
  g.add(Add(), {drop, x});
  g.initialize(1);
  Tensor in(Shape{6, 4});
  std::mt19937_64 rng(5);
  fill_uniform(in, rng, 1.0f, 3.0f);
  g.train();
  const Tensor a = g.forward(in).clone();
  const Tensor b = g.forward(in).clone();
  BOOST_TEST(!same_bits(a, b));  // new dropout masks
  const Tensor stats = g.buffers().clone();
  g.eval();
  const Tensor c = g.forward(in).clone();
  const Tensor d = g.forward(in).clone();
  BOOST_TEST(same_bits(c, d));
  BOOST_TEST(same_bits(stats, g.buffers()));  // eval leaves the running statistics alone
  // In eval mode: running statistics, no dropout: y = (x − mean)/sqrt(var + eps) + x per feature.
  const Tensor running = g.buffers();
  for (std::int64_t i = 0; i < 4; ++i) {
    const float mean = running[i], var = running[4 + i];
    const float expected = (in[i] - mean) / std::sqrt(var + 1e-5f) + in[i];
    BOOST_TEST(c[i] == expected, boost::test_tools::tolerance(1e-5f));
  }
}

BOOST_AUTO_TEST_CASE(a_graph_survives_a_model_file_round_trip) {
  test::TempDir dir;
  Graph g = residual_network();
  sgd_steps(g, 2, 3);
  save_model(dir / "graph.tsr", g, {{"note", "graph"}});
  LoadedModel m = load_model(dir / "graph.tsr");
  BOOST_REQUIRE(m.network.node_count() == g.node_count());
  for (std::size_t i = 0; i < g.node_count(); ++i) {
    const Node n{i};
    BOOST_TEST(m.network.node_name(n) == g.node_name(n));
    BOOST_TEST((m.network.node_shape(n) == g.node_shape(n)));
    BOOST_TEST(m.network.node_inputs(n).size() == g.node_inputs(n).size());
  }
  BOOST_TEST(same_bits(m.network.parameters(), g.parameters()));
  BOOST_TEST(same_bits(m.network.buffers(), g.buffers()));
  g.eval();
  m.network.eval();
  Tensor x(Shape{3, 8, 8, 2});
  std::mt19937_64 rng(1);
  fill_uniform(x, rng);
  const Tensor expected = g.forward(x).clone();
  BOOST_TEST(same_bits(m.network.forward(x), expected));
}

BOOST_AUTO_TEST_CASE(the_readme_residual_network_builds_and_checks_out) {
  // README's "Using the library" example, as written there.
  Graph net;
  const Node image = net.input(Shape{28, 28, 1}, "image");
  const auto conv_bn = [&](Node x, std::int64_t in, std::int64_t out, std::int64_t stride) {
    return net.add(BatchNorm(out), net.add(Conv2D(in, out, 3, stride, /*padding=*/1), x));
  };
  Node h = net.add(ReLU(), conv_bn(image, 1, 16, 1));
  Node r = conv_bn(net.add(ReLU(), conv_bn(h, 16, 32, 2)), 32, 32, 1);
  Node skip = net.add(BatchNorm(32), net.add(Conv2D(16, 32, 1, 2), h));
  h = net.add(ReLU(), net.add(Add(), {r, skip}));
  net.add(Dense(32, 10), net.add(GlobalAvgPool2D(), h), "logits");
  net.initialize(42, Init::He);
  BOOST_TEST((net.out_shape() == Shape{10}));
  BOOST_TEST((net.node_shape(skip) == Shape{14, 14, 32}));
  Tensor x(Shape{2, 28, 28, 1});
  std::mt19937_64 rng(1);
  fill_uniform(x, rng);
  BOOST_TEST((net.forward(x).shape() == Shape{2, 10}));
}

BOOST_AUTO_TEST_CASE(batch_norm_is_folded_into_the_layer_before_it_for_inference) {
  // g folds both BatchNorms in eval mode; h, the same layers with each BatchNorm's input also read by
  // something else, cannot: the same parameters must give the same predictions to float rounding.
  const auto build = [](bool foldable) {
    Graph net;
    const Node x = net.input(Shape{6, 6, 2});
    const Node conv = net.add(Conv2D(2, 3, 3, 1, 1), x);
    const Node bn = net.add(BatchNorm(3), conv);
    const Node pooled = net.add(GlobalAvgPool2D(), net.add(ReLU(), bn));
    const Node dense = net.add(Dense(3, 4), pooled);
    const Node out = net.add(BatchNorm(4), dense);
    if (!foldable) net.set_outputs({out, conv, dense});
    return net;
  };
  Graph g = build(true), h = build(false);
  g.initialize(3, Init::He);
  Tensor x(Shape{5, 6, 6, 2});
  std::mt19937_64 rng(8);
  fill_uniform(x, rng);
  g.train();
  for (int i = 0; i < 3; ++i) g.forward(x);  // running statistics away from their start
  for (std::int64_t i = 0; i < g.parameter_count(); ++i) g.parameters()[i] += 0.01f * static_cast<float>(i % 7);
  h.parameters().copy_from(g.parameters());
  h.buffers().copy_from(g.buffers());
  g.eval();
  h.eval();
  const Tensor folded = g.forward(x).clone();
  const Tensor plain = h.forward_all(std::span<const Tensor>(&x, 1))[0].clone();
  BOOST_TEST(g.profile()[1].name == "BatchNorm(3, momentum 0.1, eps 1e-05) (folded)");
  BOOST_TEST(g.profile()[5].name == "BatchNorm(4, momentum 0.1, eps 1e-05) (folded)");
  BOOST_TEST(h.profile()[1].name == "BatchNorm(3, momentum 0.1, eps 1e-05)");
  for (std::int64_t i = 0; i < folded.size(); ++i) {
    BOOST_TEST(folded[i] == plain[i], boost::test_tools::tolerance(1e-4f));
  }
  // Parameters written in eval mode are what the next forward folds.
  g.parameters()[0] += 1.0f;
  h.parameters()[0] += 1.0f;
  const Tensor again = g.forward(x).clone();
  const Tensor plain_again = h.forward_all(std::span<const Tensor>(&x, 1))[0].clone();
  BOOST_TEST(!same_bits(again, folded));
  for (std::int64_t i = 0; i < again.size(); ++i) {
    BOOST_TEST(again[i] == plain_again[i], boost::test_tools::tolerance(1e-4f));
  }
  // A backward in eval mode sees the unfolded layers (and their gradients are right).
  test::Tolerance tol{1e-3, 3e-3, 2e-2};
  tol.kink = 1e-5;
  test::check_network_gradients(g, "eval mode, folded", 3, tol);
  // Back in training mode, nothing is folded.
  g.train();
  g.forward(x);
  BOOST_TEST(g.profile()[1].name == "BatchNorm(3, momentum 0.1, eps 1e-05)");
}

BOOST_AUTO_TEST_CASE(merge_layers_check_their_tensors) {
  Add add;
  const Shape shapes[2] = {Shape{3}, Shape{3}};
  add.connect_inputs(shapes);
  Tensor a(Shape{2, 3}), b(Shape{2, 3}), y(Shape{2, 3}), wrong(Shape{2, 4});
  const Tensor xs[2] = {a.view(), b.view()};
  Tensor* dxs[2] = {&a, &wrong};
  expect_error<std::invalid_argument>([&] { add.backward_inputs(xs, y, y, dxs); }, "Add: dx 1 must have shape [2, 3]");
  const Tensor bad_xs[2] = {a.view(), wrong.view()};
  expect_error<std::invalid_argument>([&] { add.forward_inputs(bad_xs, y); }, "Add: input 1 must have shape [2, 3]");
  expect_error<std::logic_error>([&] { add.forward(a, y); }, "run it in a Graph");
  Concat cat;
  expect_error<std::logic_error>([&] { cat.forward_inputs(xs, y); }, "not connected");
  expect_error<std::invalid_argument>([&] { Sequential(Dense(3, 3), Add()); },
                                      "combines several inputs; build a Graph");
}
