// Optimizers: a few steps against values worked out by hand (Adam's from its formula in double), for
// buffer sizes around the vector width and the thread chunk, on every ISA; the schedules; option checks.
#define BOOST_TEST_MODULE optim
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <xmmintrin.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.hpp"
#include "support/isa.hpp"
#include "tessera/optim.hpp"

namespace bdata = boost::unit_test::data;
using namespace tessera;
using tessera::test::expect_invalid;
using tessera::test::IsaScope;

namespace {

// Sizes: one element, around a vector width, and past two thread chunks with a partial vector.
const std::int64_t kSizes[] = {1, 15, 16, 17, 2 * 16384 + 5};

// Runs `make(params, grads)`'s optimizer for len(grads_per_step) steps, all elements starting at p0 with
// the same gradient each step, and checks every element against expected[step].
template <class Make>
void check_steps(const std::string& what, Make make, float p0, const std::vector<float>& grads_per_step,
                 const std::vector<double>& expected) {
  for (Isa isa : test::supported_isas()) {
    IsaScope scope(isa);
    for (std::int64_t n : kSizes) {
      Tensor params(Shape{n}), grads(Shape{n});
      params.fill(p0);
      auto opt = make(params, grads);
      for (std::size_t s = 0; s < grads_per_step.size(); ++s) {
        grads.fill(grads_per_step[s]);
        opt.step();
        int wrong = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          if (std::abs(static_cast<double>(params[i]) - expected[s]) > 1e-6 * std::max(1.0, std::abs(expected[s]))) {
            ++wrong;
          }
        }
        BOOST_TEST(wrong == 0, what << " on " << to_string(isa) << ", n=" << n << ", step " << s + 1 << ": " << wrong
                                    << " elements differ from " << expected[s] << " (first " << params[0] << ", last "
                                    << params[n - 1] << ")");
      }
      BOOST_TEST(opt.step_count() == static_cast<std::int64_t>(grads_per_step.size()));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(sgd_by_hand) {
  // p −= 0.1·0.5 twice.
  check_steps("SGD", [](Tensor& p, Tensor& g) { return SGD(p, g, SGDOptions(0.1f)); }, 1.0f, {0.5f, 0.5f}, {0.95, 0.9});
  // v = 0.5, p = 0.95; v = 0.9·0.5 + 0.5 = 0.95, p = 0.95 − 0.095.
  check_steps("SGD momentum", [](Tensor& p, Tensor& g) { return SGD(p, g, SGDOptions(0.1f).momentum(0.9f)); }, 1.0f,
              {0.5f, 0.5f}, {0.95, 0.855});
  // Nesterov: direction g + 0.9·v: 0.95 then 0.5 + 0.855 = 1.355.
  check_steps("SGD Nesterov",
              [](Tensor& p, Tensor& g) { return SGD(p, g, SGDOptions(0.1f).momentum(0.9f).nesterov(true)); }, 1.0f,
              {0.5f, 0.5f}, {0.905, 0.7695});
  // Weight decay 0.1: g' = 0.5 + 0.1·1 = 0.6 → 0.94; then g' = 0.5 + 0.094 = 0.594 → 0.8806.
  check_steps("SGD weight decay", [](Tensor& p, Tensor& g) { return SGD(p, g, SGDOptions(0.1f).weight_decay(0.1f)); },
              1.0f, {0.5f, 0.5f}, {0.94, 0.8806});
}

BOOST_AUTO_TEST_CASE(adam_by_hand) {
  // The first step moves every parameter by lr whatever the gradient's size: 1 − 0.1.
  check_steps("Adam", [](Tensor& p, Tensor& g) { return Adam(p, g, AdamOptions(0.1f)); }, 1.0f, {0.5f, -0.25f, 1.0f},
              {0.900000002, 0.8733662987078463, 0.8075551396770898});
  // Decoupled decay: p ·= 1 − 0.1·0.5 before the Adam step.
  check_steps("AdamW", [](Tensor& p, Tensor& g) { return Adam(p, g, AdamOptions(0.1f).weight_decay(0.5f)); }, 1.0f,
              {0.5f, -0.25f}, {0.8500000019999999, 0.7808662986078463});
}

BOOST_AUTO_TEST_CASE(schedules) {
  const LRSchedule step = LRSchedule::step(2, 0.5f);
  const double step_expected[] = {1, 1, 0.5, 0.5, 0.25};
  for (int t = 0; t < 5; ++t) BOOST_TEST(step.factor(t) == step_expected[t]);
  const LRSchedule cosine = LRSchedule::cosine(4, 0.1f);
  BOOST_TEST(cosine.factor(0) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(cosine.factor(2) == 0.55, boost::test_tools::tolerance(1e-7));
  BOOST_TEST(cosine.factor(4) == 0.1, boost::test_tools::tolerance(1e-7));
  BOOST_TEST(cosine.factor(100) == 0.1, boost::test_tools::tolerance(1e-7));
  BOOST_TEST(LRSchedule::constant().factor(123) == 1.0);
  BOOST_TEST(step.to_string() == "step(2, 0.5)");

  // The optimizer applies the factor of its own step count: 0.1, 0.1, 0.05 with g = 1.
  Tensor p(Shape{3}), g(Shape{3});
  g.fill(1.0f);
  SGD opt(p, g, SGDOptions(0.1f).schedule(step));
  BOOST_TEST(opt.learning_rate() == 0.1f);
  opt.step();
  opt.step();
  BOOST_TEST(opt.learning_rate() == 0.05f);
  opt.step();
  BOOST_TEST(p[0] == -0.25f, boost::test_tools::tolerance(1e-6f));
}

// A weight whose gradient stays exactly zero has its first moment decay by β1 a step: after about 810
// steps it would be subnormal, and subnormal arithmetic is ~100× slower. Tessera flushes it to zero,
// and leaves the caller's floating-point mode as it was.
BOOST_AUTO_TEST_CASE(subnormal_moments_are_flushed_to_zero) {
  for (Isa isa : test::supported_isas()) {
    IsaScope scope(isa);
    Tensor p(Shape{40}), g(Shape{40});
    g.fill(1.0f);
    Adam opt(p, g, AdamOptions(1e-3f));
    opt.step();
    g.fill(0.0f);
    const unsigned mode = _mm_getcsr();
    for (int step = 0; step < 850; ++step) opt.step();
    BOOST_TEST(_mm_getcsr() == mode);
    for (std::int64_t i = 0; i < 40; ++i) {
      BOOST_TEST(std::fpclassify(opt.first_moment()[i]) != FP_SUBNORMAL, to_string(isa) << " element " << i);
    }
    BOOST_TEST(opt.first_moment()[0] == 0.0f);
  }
}

BOOST_AUTO_TEST_CASE(zero_grad_clears_plain_buffers) {
  Tensor p(Shape{20}), g(Shape{20});
  g.fill(3.0f);
  SGD opt(p, g, SGDOptions(0.5f));
  opt.zero_grad();
  for (std::int64_t i = 0; i < 20; ++i) BOOST_TEST(g[i] == 0.0f);
}

BOOST_AUTO_TEST_CASE(invalid_options_throw_clear_errors) {
  Tensor p(Shape{4}), g(Shape{4}), g5(Shape{5});
  expect_invalid([&] { SGD(p, g, SGDOptions(0.0f)); }, "learning rate must be > 0");
  expect_invalid([&] { SGD(p, g, SGDOptions(NAN)); }, "learning rate");
  expect_invalid([&] { SGD(p, g, SGDOptions(0.1f).momentum(1.0f)); }, "momentum must be in [0, 1)");
  expect_invalid([&] { SGD(p, g, SGDOptions(0.1f).nesterov(true)); }, "Nesterov momentum needs momentum > 0");
  expect_invalid([&] { SGD(p, g, SGDOptions(0.1f).weight_decay(-1.0f)); }, "weight_decay");
  expect_invalid([&] { Adam(p, g, AdamOptions(0.1f).betas(0.9f, 1.0f)); }, "betas");
  expect_invalid([&] { Adam(p, g, AdamOptions(0.1f).eps(0.0f)); }, "eps");
  expect_invalid([&] { Adam(p, g5, AdamOptions()); }, "differ in size");
  expect_invalid([] { LRSchedule::step(0, 0.5f); }, "every");
  expect_invalid([] { LRSchedule::cosine(10, 2.0f); }, "min_factor");
  SGD opt(p, g, SGDOptions(0.1f));
  expect_invalid([&] { opt.set_base_learning_rate(-1.0f); }, "learning rate");
}

BOOST_AUTO_TEST_CASE(a_saved_state_resumes_the_same_steps) {
  const auto run = [](auto& opt, Tensor& params, Tensor& grads, int steps) {
    for (int s = 0; s < steps; ++s) {
      for (std::int64_t i = 0; i < grads.size(); ++i) grads[i] = std::sin(static_cast<float>(i + 3 * s));
      opt.step();
    }
    return params.clone();
  };
  for (int kind = 0; kind < 2; ++kind) {
    Tensor p1(Shape{40}), g1(Shape{40}), p2(Shape{40}), g2(Shape{40});
    p1.fill(0.5f);
    std::unique_ptr<Optimizer> a, b;
    if (kind == 0) {
      a = std::make_unique<Adam>(p1, g1, AdamOptions(0.01f));
      b = std::make_unique<Adam>(p2, g2, AdamOptions(0.01f));
    } else {
      a = std::make_unique<SGD>(p1, g1, SGDOptions(0.01f).momentum(0.9f));
      b = std::make_unique<SGD>(p2, g2, SGDOptions(0.01f).momentum(0.9f));
    }
    run(*a, p1, g1, 3);
    const OptimizerState saved = a->state();
    BOOST_TEST(saved.steps == 3);
    BOOST_TEST(saved.buffers.size() == (kind == 0 ? 2u : 1u));
    p2.copy_from(p1);
    b->load_state(saved);
    const Tensor expected = run(*a, p1, g1, 4);
    const Tensor got = run(*b, p2, g2, 4);
    BOOST_TEST(std::memcmp(expected.data(), got.data(), 40 * sizeof(float)) == 0, a->kind());
  }
}

BOOST_AUTO_TEST_CASE(a_state_of_another_optimizer_is_refused) {
  Tensor p(Shape{10}), g(Shape{10}), q(Shape{11}), h(Shape{11});
  Adam adam(p, g, AdamOptions());
  SGD sgd(p, g, SGDOptions(0.1f));
  SGD momentum(p, g, SGDOptions(0.1f).momentum(0.5f));
  Adam bigger(q, h, AdamOptions());
  expect_invalid([&] { sgd.load_state(adam.state()); }, "SGD: cannot take the state of a Adam optimizer");
  expect_invalid([&] { sgd.load_state(momentum.state()); }, "the state has 1 buffers, this optimizer 0");
  expect_invalid([&] { bigger.load_state(adam.state()); }, "state buffer 0 holds 10 values for 11 parameters");
  OptimizerState bad = adam.state();
  bad.steps = -1;
  expect_invalid([&] { adam.load_state(bad); }, "a negative step count");
}
