// Dropout: the share dropped, the scaling, masks fixed by the seed whatever the thread count, the
// gradient through the same mask, evaluation mode, and the argument checks.
#define BOOST_TEST_MODULE dropout
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "support/expect_error.hpp"
#include "support/threads.hpp"
#include "tessera/layers/dropout.hpp"

using namespace tessera;

namespace {
Dropout seeded(float p, std::int64_t width, std::uint64_t seed) {
  Dropout d(p);
  d.connect(Shape{width});
  Rng rng(seed);
  d.initialize(Init::XavierUniform, rng);
  return d;
}
}  // namespace

BOOST_AUTO_TEST_CASE(drops_about_p_and_scales_the_rest) {
  for (float p : {0.1f, 0.5f, 0.9f}) {
    Dropout d = seeded(p, 1000, 1);
    Tensor x(Shape{100, 1000}), y(x.shape());
    for (std::int64_t i = 0; i < x.size(); ++i) x[i] = 1.0f + static_cast<float>(i % 7);
    d.forward(x, y);
    std::int64_t dropped = 0, wrong = 0;
    for (std::int64_t i = 0; i < x.size(); ++i) {
      if (y[i] == 0.0f) {
        ++dropped;
      } else {
        wrong += std::abs(y[i] - x[i] / (1.0f - p)) > 1e-5f * y[i];
      }
    }
    const double share = static_cast<double>(dropped) / static_cast<double>(x.size());
    BOOST_TEST(std::abs(share - static_cast<double>(p)) < 0.01, "p " << p << ": dropped " << share);
    BOOST_TEST(wrong == 0);
  }
}

BOOST_AUTO_TEST_CASE(masks_follow_the_seed_at_any_thread_count) {
  Tensor x(Shape{64, 3000});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 11) - 5.0f;
  std::vector<Tensor> runs;
  for (int threads : {1, 2, 7}) {
    test::run_on_threads(threads, [&] {
      Dropout d = seeded(0.3f, 3000, 42);
      Tensor y(x.shape());
      d.forward(x, y);  // the second mask differs from the first, the same way each time
      d.forward(x, y);
      runs.push_back(y);
    });
  }
  for (std::size_t i = 1; i < runs.size(); ++i) {
    BOOST_TEST(std::memcmp(runs[0].data(), runs[i].data(), static_cast<std::size_t>(x.size()) * sizeof(float)) == 0);
  }
  Dropout d = seeded(0.3f, 3000, 42);
  Tensor first(x.shape());
  d.forward(x, first);
  BOOST_TEST(std::memcmp(first.data(), runs[0].data(), static_cast<std::size_t>(x.size()) * sizeof(float)) != 0);
  Dropout other = seeded(0.3f, 3000, 43);
  Tensor y(x.shape());
  other.forward(x, y);
  BOOST_TEST(std::memcmp(first.data(), y.data(), static_cast<std::size_t>(x.size()) * sizeof(float)) != 0);
}

BOOST_AUTO_TEST_CASE(backward_uses_the_forward_mask_and_evaluation_is_the_identity) {
  Dropout d = seeded(0.5f, 50, 3);
  Tensor x(Shape{4, 50}), y(x.shape()), dy(x.shape()), dx(x.shape());
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = 1.0f, dy[i] = static_cast<float>(i);
  d.forward(x, y);
  d.backward(x, y, dy, &dx, false);
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < x.size(); ++i) wrong += dx[i] != dy[i] * y[i];  // y is the mask here
  BOOST_TEST(wrong == 0);
  d.set_training(false);
  d.forward(x, y);
  d.backward(x, y, dy, &dx, false);
  for (std::int64_t i = 0; i < x.size(); ++i) wrong += y[i] != x[i] || dx[i] != dy[i];
  BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_CASE(bad_probabilities_throw) {
  test::expect_invalid([] { Dropout(1.0f); }, "p must be in [0, 1)");
  test::expect_invalid([] { Dropout(-0.1f); }, "p must be in [0, 1)");
  test::expect_invalid([] { Dropout(std::nanf("")); }, "p must be in [0, 1)");
}

BOOST_AUTO_TEST_CASE(the_random_state_resumes_the_mask_sequence) {
  Tensor x(Shape{8, 500});
  x.fill(1.0f);
  Dropout d = seeded(0.4f, 500, 9);
  Tensor y(x.shape()), z(x.shape());
  d.forward(x, y);
  const std::vector<std::uint64_t> state = d.random_state();
  BOOST_TEST(state.size() == 2u);
  BOOST_TEST(state[1] == 1u);  // one mask drawn
  d.forward(x, y);             // the second mask
  Dropout resumed = seeded(0.4f, 500, 1234);
  resumed.set_random_state(state);
  resumed.forward(x, z);
  BOOST_TEST(std::memcmp(y.data(), z.data(), static_cast<std::size_t>(y.size()) * sizeof(float)) == 0);
  test::expect_invalid([&] { resumed.set_random_state({1, 2, 3}); }, "a random state is {seed, draws}, got 3 values");
}

BOOST_AUTO_TEST_CASE(each_process_of_a_data_parallel_run_draws_its_own_masks) {
  Tensor x(Shape{4, 300});
  x.fill(1.0f);
  Tensor y0(x.shape()), y1(x.shape()), again(x.shape());
  Dropout a = seeded(0.5f, 300, 5), b = seeded(0.5f, 300, 5), c = seeded(0.5f, 300, 5);
  b.set_random_stream(1);
  c.set_random_stream(0);
  a.forward(x, y0);
  b.forward(x, y1);
  c.forward(x, again);
  BOOST_TEST(std::memcmp(y0.data(), y1.data(), static_cast<std::size_t>(x.size()) * sizeof(float)) != 0);
  BOOST_TEST(std::memcmp(y0.data(), again.data(), static_cast<std::size_t>(x.size()) * sizeof(float)) == 0);
}
