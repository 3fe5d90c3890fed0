// The public API's argument checks in one table (docs/api-checks.md lists what is checked and what
// is not, and why): each bad call throws the documented exception with a message naming the problem,
// and none crashes. The areas' own tests check their arguments in more detail; this is the audit.
#define BOOST_TEST_MODULE argument_checks
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

using namespace tessera;

namespace {

enum class Expect { Invalid, OutOfRange, Logic };

struct BadCall {
  const char* what;
  Expect expect;
  const char* fragment;
  std::function<void()> call;
};

data::Dataset tiny_data() {
  return data::Dataset(std::vector<std::uint8_t>(8), std::vector<std::uint8_t>{1, 2}, Shape{4}, 10);
}

// Constructs a Trainer of a small network with `options` (the constructor checks them).
void make_trainer(const TrainerOptions& options) {
  Sequential net(Dense(4, 10));
  SGD sgd(net, SGDOptions(0.1f));
  const SoftmaxCrossEntropy loss;
  const Trainer trainer(net, loss, sgd, options);
}

// Gathers a batch of order.size() examples of `width` pixels from tiny_data(), from position `first`.
void gather_from(std::vector<std::int64_t> order, std::int64_t first, std::int64_t width) {
  Tensor x(Shape{static_cast<std::int64_t>(order.size()), width});
  std::vector<std::int32_t> labels(order.size());
  tiny_data().gather(order, first, x, labels);
}

void check(const BadCall& c) {
  BOOST_TEST_CONTEXT(c.what) {
    try {
      c.call();
      BOOST_ERROR("no exception");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST((c.expect == Expect::Invalid), "std::invalid_argument: " << e.what());
      BOOST_TEST(std::string(e.what()).find(c.fragment) != std::string::npos, e.what());
    } catch (const std::out_of_range& e) {
      BOOST_TEST((c.expect == Expect::OutOfRange), "std::out_of_range: " << e.what());
      BOOST_TEST(std::string(e.what()).find(c.fragment) != std::string::npos, e.what());
    } catch (const std::logic_error& e) {
      BOOST_TEST((c.expect == Expect::Logic), "std::logic_error: " << e.what());
      BOOST_TEST(std::string(e.what()).find(c.fragment) != std::string::npos, e.what());
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(tensors_and_shapes) {
  std::vector<BadCall> calls{
      {"negative extent", Expect::Invalid, "extents must be >= 0",
       [] {
         Shape{3, -1};
       }},
      {"five extents", Expect::Invalid, "at most 4 extents",
       [] {
         Shape{1, 2, 3, 4, 5};
       }},
      {"2^80 elements", Expect::Invalid, "more than 2^62 elements",
       [] {
         Shape{std::int64_t{1} << 40, std::int64_t{1} << 40};
       }},
      {"batch past 2^62", Expect::Invalid, "more than 2^62", [] { Shape{std::int64_t{1} << 40}.with_batch(1 << 30); }},
      {"null view", Expect::Invalid, "needs data, got null", [] { Tensor::view(nullptr, Shape{3}); }},
      {"rows before 0", Expect::Invalid, "outside a tensor of 4 rows",
       [] {
         Tensor(Shape{4, 2}).rows(-1, 2);
       }},
      {"rows past the end", Expect::Invalid, "outside a tensor of 4 rows",
       [] {
         Tensor(Shape{4, 2}).rows(3, 2);
       }},
      {"reshape to another size", Expect::Invalid, "cannot view", [] { Tensor(Shape{6}).reshaped(Shape{5}); }},
      {"copy_from another size", Expect::Invalid, "does not fit", [] { Tensor(Shape{4}).copy_from(Tensor(Shape{5})); }},
  };
  for (const auto& c : calls) check(c);
}

BOOST_AUTO_TEST_CASE(gemm_and_isa) {
  std::vector<float> buf(64);
  float* p = buf.data();
  std::vector<BadCall> calls{
      {"m < 0", Expect::Invalid, "m must be >= 0",
       [p] { gemm(Trans::No, Trans::No, -1, 2, 2, 1.f, p, 2, p, 2, 0.f, p, 2); }},
      {"lda < k", Expect::Invalid, "lda must be >= max(1, k)",
       [p] { gemm(Trans::No, Trans::No, 2, 2, 3, 1.f, p, 2, p, 2, 0.f, p, 2); }},
      {"null a", Expect::Invalid, "a must not be null",
       [p] { gemm(Trans::No, Trans::No, 2, 2, 2, 1.f, nullptr, 2, p, 2, 0.f, p, 2); }},
      {"null c", Expect::Invalid, "c must not be null",
       [p] { gemm(Trans::No, Trans::No, 2, 2, 2, 1.f, p, 2, p, 2, 0.f, nullptr, 2); }},
      {"unknown ISA value", Expect::Invalid, "unknown ISA value 7", [] { set_gemm_isa(static_cast<Isa>(7)); }},
  };
  for (const auto& c : calls) check(c);
}

BOOST_AUTO_TEST_CASE(initialisation_random_numbers_schedules_threads) {
  std::vector<float> buf(16);
  float* p = buf.data();
  std::vector<BadCall> calls{
      {"init_weights null", Expect::Invalid, "a null buffer for 10 values",
       [] {
         Rng r(1);
         init_weights(Init::He, nullptr, 10, 2, 5, r);
       }},
      {"init_weights count < 0", Expect::Invalid, "count must be >= 0",
       [p] {
         Rng r(1);
         init_weights(Init::He, p, -3, 2, 5, r);
       }},
      {"init_weights fan_in 0", Expect::Invalid, "fan_in and fan_out must be >= 1",
       [p] {
         Rng r(1);
         init_weights(Init::XavierUniform, p, 10, 0, 5, r);
       }},
      {"init_biases null", Expect::Invalid, "a null buffer",
       [] {
         Rng r(1);
         init_biases(Init::Normal, nullptr, 4, r);
       }},
      {"Rng::below(0)", Expect::Invalid, "n must be > 0", [] { Rng(1).below(0); }},
      {"step schedule every 0", Expect::Invalid, "every must be >= 1", [] { LRSchedule::step(0, 0.5f); }},
      {"cosine over 0 steps", Expect::Invalid, "total must be >= 1", [] { LRSchedule::cosine(0); }},
      {"ThreadLimit(0)", Expect::Invalid, "max_threads must be >= 1", [] { ThreadLimit limit(0); }},
  };
  for (const auto& c : calls) check(c);
}

BOOST_AUTO_TEST_CASE(layers_and_networks) {
  std::vector<BadCall> calls{
      {"Dense(0, 3)", Expect::Invalid, "in and out must be >= 1", [] { Dense d(0, 3); }},
      {"Conv2D padding -1", Expect::Invalid, "0 <= padding < kernel", [] { Conv2D c(1, 1, 3, 1, -1); }},
      {"MaxPool2D(0)", Expect::Invalid, "size must be >= 1", [] { MaxPool2D m(0); }},
      {"Dropout(1)", Expect::Invalid, "p must be in [0, 1)", [] { Dropout d(1.0f); }},
      {"Normalize stddev 0", Expect::Invalid, "stddev finite and > 0", [] { Normalize n(0.f, 0.f); }},
      {"Normalize NaN mean", Expect::Invalid, "mean must be finite",
       [] { Normalize n(std::numeric_limits<float>::quiet_NaN(), 1.f); }},
      {"unknown activation", Expect::Invalid, "unknown activation 9",
       [] { make_activation(static_cast<Activation>(9)); }},
      {"unknown layer kind", Expect::Invalid, "unknown layer kind 'Foo'",
       [] {
         make_layer(LayerSpec{"Foo", {}});
       }},
      {"empty input shape", Expect::Invalid, "at least one element", [] { Sequential n{Shape{}}; }},
      {"layers that do not chain", Expect::Invalid, "cannot follow layer 0",
       [] { Sequential(Dense(2, 3)).add(Dense(4, 1)); }},
      {"kernel larger than the image", Expect::Invalid, "the kernel is larger than the padded image",
       [] {
         Sequential(Shape{2, 2, 1}).add(Conv2D(1, 1, 3));
       }},
      {"forward of the wrong shape", Expect::Invalid, "input must have shape [4, 2]",
       [] {
         Sequential(Dense(2, 3)).forward(Tensor(Shape{4, 5}));
       }},
      {"backward of the wrong shape", Expect::Invalid, "d_output must have the shape of the last output",
       [] {
         Sequential n(Dense(2, 3));
         n.forward(Tensor(Shape{4, 2}));
         n.backward(Tensor(Shape{5, 3}));
       }},
      {"d_input of the wrong shape", Expect::Invalid, "d_input must have the shape of the input",
       [] {
         Sequential n(Dense(2, 3));
         n.forward(Tensor(Shape{4, 2}));
         Tensor dx(Shape{4, 7});
         n.backward(Tensor(Shape{4, 3}), &dx);
       }},
      {"a layer's forward with a wrong output", Expect::Invalid, "output must have shape [4, 3]",
       [] {
         Sequential n(Dense(2, 3));
         n.parameters();
         Tensor x(Shape{4, 2}), y(Shape{4, 4});
         n.layer(0).forward(x, y);
       }},
      {"a layer's backward with a wrong gradient", Expect::Invalid, "output gradient must have shape [4, 3]",
       [] {
         Sequential n(Dense(2, 3));
         n.parameters();
         Tensor x(Shape{4, 2}), y(Shape{4, 3}), dy(Shape{3, 3});
         n.layer(0).backward(x, y, dy, nullptr, false);
       }},
      {"a random state for a layer without one", Expect::Invalid, "has no random state",
       [] { Dense(2, 2).set_random_state({1}); }},
      // Misuse of state rather than a bad argument: std::logic_error; indices: std::out_of_range.
      {"backward before forward", Expect::Logic, "call forward first",
       [] {
         Sequential(Dense(2, 3)).backward(Tensor(Shape{4, 3}));
       }},
      {"a layer outside a network", Expect::Logic, "has no parameters",
       [] {
         Dense d(2, 3);
         Tensor x(Shape{1, 2}), y(Shape{1, 3});
         d.forward(x, y);
       }},
      {"an empty network", Expect::Logic, "the network has no layers",
       [] {
         Sequential().forward(Tensor(Shape{1, 2}));
       }},
      {"layer index", Expect::OutOfRange, "index 5 but the network has 1 layers",
       [] { Sequential(Dense(2, 3)).layer(5); }},
  };
  for (const auto& c : calls) check(c);
}

BOOST_AUTO_TEST_CASE(losses_optimizers_training) {
  std::vector<BadCall> calls{
      {"labels for another batch", Expect::Invalid, "3 labels for a batch of 4",
       [] {
         std::vector<std::int32_t> lb(3);
         SoftmaxCrossEntropy().compute(Tensor(Shape{4, 3}), lb, nullptr);
       }},
      {"label out of range", Expect::Invalid, "label 3 of example 1 is outside [0, 3)",
       [] {
         std::vector<std::int32_t> lb{0, 3};
         SoftmaxCrossEntropy().compute(Tensor(Shape{2, 3}), lb, nullptr);
       }},
      {"negative label", Expect::Invalid, "label -1 of example 1",
       [] {
         std::vector<std::int32_t> lb{0, -1};
         MSE().compute(Tensor(Shape{2, 3}), lb, nullptr);
       }},
      {"d_output of another shape", Expect::Invalid, "d_output must have the output's shape",
       [] {
         std::vector<std::int32_t> lb{0, 1};
         Tensor d(Shape{2, 4});
         SoftmaxCrossEntropy().compute(Tensor(Shape{2, 3}), lb, &d);
       }},
      {"MSE target of another shape", Expect::Invalid, "target must have the output's shape",
       [] {
         MSE().compute(Tensor(Shape{2, 3}), Tensor(Shape{2, 4}), nullptr);
       }},
      {"argmax_rows span size", Expect::Invalid, "argmax_rows: output must have shape [B, n] with B = 3",
       [] {
         std::vector<std::int32_t> c(3);
         argmax_rows(Tensor(Shape{2, 3}), c);
       }},
      {"SGD lr 0", Expect::Invalid, "learning rate must be > 0",
       [] {
         Tensor p(Shape{3}), g(Shape{3});
         SGD s(p, g, SGDOptions(0.f));
       }},
      {"Adam over mismatched buffers", Expect::Invalid, "differ in size",
       [] {
         Tensor p(Shape{3}), g(Shape{4});
         Adam a(p, g, AdamOptions());
       }},
      {"an Adam state into SGD", Expect::Invalid, "cannot take the state of a Adam optimizer",
       [] {
         Tensor p(Shape{3}), g(Shape{3});
         Adam a(p, g, AdamOptions());
         SGD s(p, g, SGDOptions(0.1f));
         s.load_state(a.state());
       }},
      {"Trainer batch 0", Expect::Invalid, "batch sizes must be >= 1",
       [] {
         TrainerOptions o;
         o.batch_size = 0;
         make_trainer(o);
       }},
      {"checkpoint_every without a file", Expect::Invalid, "only with a checkpoint file",
       [] {
         TrainerOptions o;
         o.checkpoint_every = 3;
         make_trainer(o);
       }},
      {"evaluate batch 0", Expect::Invalid, "batch size must be >= 1",
       [] {
         Sequential n(Dense(4, 10));
         SoftmaxCrossEntropy l;
         Trainer::evaluate(n, l, tiny_data(), 0);
       }},
  };
  for (const auto& c : calls) check(c);
}

BOOST_AUTO_TEST_CASE(data_sets) {
  std::vector<BadCall> calls{
      {"images and labels disagree", Expect::Invalid, "10 image bytes are not 3 images",
       [] { data::Dataset(std::vector<std::uint8_t>(10), std::vector<std::uint8_t>(3), Shape{4}, 10); }},
      {"a label above the classes", Expect::Invalid, "label 200 of example 1 is not below the class count 10",
       [] {
         data::Dataset(std::vector<std::uint8_t>(8), std::vector<std::uint8_t>{1, 200}, Shape{4}, 10);
       }},
      {"head(-1)", Expect::Invalid, "n must be >= 0", [] { tiny_data().head(-1); }},
      {"set_classes(0)", Expect::Invalid, "the class count must be >= 1", [] { tiny_data().set_classes(0); }},
      {"gather: an order entry outside the data", Expect::Invalid, "order[1] = 7 is not an example of the 2",
       [] {
         gather_from({0, 7}, 0, 4);
       }},
      {"gather: a batch of the wrong width", Expect::Invalid, "does not fit examples of 4 pixels",
       [] {
         gather_from({0, 1}, 0, 5);
       }},
      {"gather past the order's end", Expect::Invalid, "from position 1 of 2",
       [] {
         gather_from({0, 1}, 1, 4);
       }},
      {"image(5)", Expect::OutOfRange, "example 5 of 2", [] { tiny_data().image(5); }},
      {"label(-1)", Expect::OutOfRange, "example -1 of 2", [] { tiny_data().label(-1); }},
      {"float examples that are not whole examples", Expect::Invalid, "5 values are not 2 examples of shape [2]",
       [] {
         data::Dataset(std::vector<float>(5), Shape{2}, data::Targets::values({1, 2}));
       }},
      {"a NaN feature", Expect::Invalid, "value 1 of example 0 is not finite",
       [] {
         data::Dataset(std::vector<float>{1, NAN}, Shape{2}, data::Targets::classes({0}));
       }},
      {"an example of rank 4", Expect::Invalid, "an example shape has 1 to 3 extents",
       [] {
         data::Dataset(std::vector<float>(1), Shape{1, 1, 1, 1}, data::Targets::classes({0}));
       }},
      {"a negative label", Expect::Invalid, "label -2 of example 1 is negative",
       [] {
         data::Targets::classes({0, -2});
       }},
      {"class names not one per class", Expect::Invalid, "1 class names for 2 classes",
       [] {
         data::Targets::classes({0, 1}, 0, {"a"});
       }},
      {"an infinite value target", Expect::Invalid, "value 1 of example 0 is not finite",
       [] {
         data::Targets::values({1.0f, INFINITY}, 2);
       }},
      {"value targets that are not whole rows", Expect::Invalid, "3 values are not whole rows of width 2",
       [] {
         data::Targets::values({1, 2, 3}, 2);
       }},
      {"set_classes of value targets", Expect::Invalid, "these targets are values",
       [] { data::Targets::values({1}).set_classes(3); }},
      {"label() of value targets", Expect::Logic, "the targets are values",
       [] { data::Dataset(std::vector<float>{1}, Shape{1}, data::Targets::values({1})).label(0); }},
      {"features() of bytes", Expect::Logic, "this data set holds bytes", [] { tiny_data().features(0); }},
      {"a split that leaves a part empty", Expect::Invalid, "leaves a part empty", [] { tiny_data().split(0.1, 1); }},
      {"subset of a non-example", Expect::Invalid, "3 is not an example of the 2",
       [] {
         tiny_data().subset(std::vector<std::int64_t>{0, 3});
       }},
      {"part 2 of 2", Expect::Invalid, "is not a part",
       [] {
         tiny_data().part({2, 2, 0});
       }},
      {"gather into a buffer of the other kind", Expect::Invalid,
       "a target buffer of values (width 1) for targets of classes",
       [] {
         Tensor x(Shape{1, 4});
         TargetBuffer t(TargetKind::Values, 1);
         tiny_data().gather(tiny_data().sequential_order(), 0, x, t);
       }},
      {"gather into a buffer too small", Expect::Invalid, "with room for 1 targets",
       [] {
         Tensor x(Shape{2, 4});
         TargetBuffer t = tiny_data().target_buffer(1);
         tiny_data().gather(tiny_data().sequential_order(), 0, x, t);
       }},
  };
  for (const auto& c : calls) check(c);
  // A hint never fails: entries outside the data are skipped.
  const std::vector<std::int64_t> order{-5, 1, 1000};
  tiny_data().prefetch(order, 0, 3);
}
