// Conv2D: forward against a direct double-precision convolution on many shapes and every ISA,
// gradients by central differences (strides 1 and 2, paddings 0 and 2, odd sizes, several channel
// counts), accumulation, bit-identical results across thread counts, and the argument checks.
#define BOOST_TEST_MODULE conv2d
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "layers/im2col.hpp"
#include "support/activation_reference.hpp"
#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/isa.hpp"
#include "support/threads.hpp"
#include "tessera/gemm.hpp"
#include "tessera/layers/conv2d.hpp"

using namespace tessera;
using tessera::test::check_gradient;
using tessera::test::expect_invalid;
using tessera::test::fill_uniform;
using tessera::test::weighted_sum;

namespace {

struct Case {
  std::int64_t batch, h, w, in, out, kernel, stride, pad;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << "batch " << c.batch << ", " << c.h << "×" << c.w << "×" << c.in << " → " << c.out << ", kernel "
            << c.kernel << ", stride " << c.stride << ", padding " << c.pad;
}

// A Conv2D with its own parameter buffers, connected to c's image size.
struct BoundConv {
  Conv2D layer;
  Tensor params, grads;
  BoundConv(const Case& c, std::uint64_t seed)
      : layer(c.in, c.out, c.kernel, c.stride, c.pad),
        params(Shape{layer.parameter_count()}),
        grads(Shape{layer.parameter_count()}) {
    layer.connect(Shape{c.h, c.w, c.in});
    layer.bind(params.data(), grads.data());
    Rng rng(seed);
    layer.initialize(Init::Normal, rng);  // nonzero biases too
  }
  Tensor input(std::int64_t batch) const { return Tensor(layer.in_shape().with_batch(batch)); }
  Tensor output(std::int64_t batch) const { return Tensor(layer.out_shape().with_batch(batch)); }
};

// The convolution written out: out[n, oy, ox, co] = b[co] + Σ W[ky, kx, ci, co]·x[n, iy, ix, ci].
double direct(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b, std::int64_t n, std::int64_t oy,
              std::int64_t ox, std::int64_t co, double* magnitude) {
  double z = static_cast<double>(b[co]);
  *magnitude = std::abs(z);
  for (std::int64_t ky = 0; ky < c.kernel; ++ky) {
    for (std::int64_t kx = 0; kx < c.kernel; ++kx) {
      const std::int64_t iy = oy * c.stride - c.pad + ky, ix = ox * c.stride - c.pad + kx;
      if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
      for (std::int64_t ci = 0; ci < c.in; ++ci) {
        const double p = static_cast<double>(x[((n * c.h + iy) * c.w + ix) * c.in + ci]) *
                         static_cast<double>(w[((ky * c.kernel + kx) * c.in + ci) * c.out + co]);
        z += p;
        *magnitude += std::abs(p);
      }
    }
  }
  return z;
}

const std::vector<Case> kShapes{{1, 1, 1, 1, 1, 1, 1, 0},
                                {2, 5, 5, 1, 1, 5, 1, 0},
                                {3, 7, 5, 2, 3, 3, 1, 1},
                                {2, 9, 9, 3, 4, 3, 2, 0},
                                {2, 11, 7, 3, 5, 5, 2, 2},
                                {3, 6, 6, 5, 7, 1, 1, 0},
                                {2, 8, 8, 4, 6, 1, 2, 0},
                                {2, 13, 13, 1, 32, 5, 1, 0},
                                {17, 12, 12, 32, 64, 5, 1, 0},
                                {1, 28, 28, 1, 32, 5, 1, 2},
                                {5, 10, 10, 17, 13, 4, 3, 3},
                                {2, 9, 6, 2, 3, 4, 3, 1},
                                {1, 3, 8, 1, 4, 3, 2, 2},
                                // Read as shifted rows of the padded image, without im2col (checked below):
                                {2, 28, 28, 16, 16, 3, 1, 1},
                                {1, 30, 20, 8, 5, 3, 1, 0},
                                {3, 33, 40, 4, 17, 5, 1, 2},
                                {1, 40, 40, 16, 16, 5, 1, 4}};

detail::ConvGeometry geometry(const Case& c) {
  const std::int64_t oh = (c.h + 2 * c.pad - c.kernel) / c.stride + 1, ow = (c.w + 2 * c.pad - c.kernel) / c.stride + 1;
  return {c.h, c.w, c.in, c.kernel, c.stride, c.pad, oh, ow, c.out};
}

// Fuses act into conv, fills x (batch c.batch) with uniform values and returns conv's output for it.
Tensor forward_fused(BoundConv& conv, const Case& c, Activation act, std::mt19937_64& rng, Tensor& x) {
  if (act != Activation::Identity) BOOST_TEST(conv.layer.fuse(act));
  x = conv.input(c.batch);
  Tensor y = conv.output(c.batch);
  fill_uniform(x, rng);
  conv.layer.forward(x, y);
  return y;
}

}  // namespace

BOOST_DATA_TEST_CASE(forward_matches_a_direct_convolution, boost::unit_test::data::make(test::supported_isas()), isa) {
  const test::IsaScope scope(isa);
  std::mt19937_64 rng(1);
  for (const Case& c : kShapes) {
    for (Activation act : {Activation::Identity, Activation::ReLU, Activation::Tanh}) {
      BoundConv conv(c, 7);
      Tensor x;
      const Tensor y = forward_fused(conv, c, act, rng, x);
      const Tensor w = conv.layer.weights(), b = conv.layer.bias();
      const Shape& out = conv.layer.out_shape();
      double worst = 0.0;
      for (std::int64_t n = 0; n < c.batch; ++n) {
        for (std::int64_t oy = 0; oy < out[0]; ++oy) {
          for (std::int64_t ox = 0; ox < out[1]; ++ox) {
            for (std::int64_t co = 0; co < c.out; ++co) {
              double magnitude = 0.0;
              const double z = direct(c, x, w, b, n, oy, ox, co, &magnitude);
              const float got = y[((n * out[0] + oy) * out[1] + ox) * c.out + co];
              worst = std::max(
                  worst, std::abs(static_cast<double>(got) - test::reference_activation(act, z)) / (magnitude + 1.0));
            }
          }
        }
      }
      BOOST_TEST(worst < 1e-5, c << ", activation " << static_cast<int>(act) << ": relative error " << worst);
    }
  }
}

// The forward test above covers the three ways of computing a convolution: make sure it still does.
BOOST_AUTO_TEST_CASE(shapes_cover_im2col_shifted_rows_and_small_fields) {
  int shifted = 0, small = 0;
  for (const Case& c : kShapes) {
    const detail::ConvGeometry g = geometry(c);
    BOOST_TEST(!(detail::uses_small_conv(g) && detail::uses_shifted_rows(g)), c);
    shifted += detail::uses_shifted_rows(g) ? 1 : 0;
    small += detail::uses_small_conv(g) ? 1 : 0;
  }
  BOOST_TEST(shifted == 4);
  BOOST_TEST(small == 7);
  BOOST_TEST(static_cast<std::size_t>(shifted + small) < kShapes.size());
  // Stride 2 and 1×1 kernels never read shifted rows; nor does a first convolution's 3-float kernel
  // row, which is a small field. A strided 1×1 kernel is not one either, however few its channels.
  BOOST_TEST(!detail::uses_shifted_rows(geometry({1, 28, 28, 16, 32, 3, 2, 1})));
  BOOST_TEST(!detail::uses_shifted_rows(geometry({1, 28, 28, 16, 32, 1, 1, 0})));
  BOOST_TEST(!detail::uses_shifted_rows(geometry({1, 28, 28, 1, 16, 3, 1, 1})));
  BOOST_TEST(detail::uses_small_conv(geometry({1, 28, 28, 1, 16, 3, 1, 1})));
  BOOST_TEST(!detail::uses_small_conv(geometry({1, 28, 28, 16, 32, 1, 2, 0})));
  // Nor a small image, where the dropped rows would be many (7²: 61 rows for 49 pixels).
  BOOST_TEST(!detail::uses_shifted_rows(geometry({1, 7, 7, 64, 64, 3, 1, 1})));
}

// A small field is computed directly, summing the taps in im2col's order with FMAs from zero and
// then adding the bias and activation as the GEMM epilogue does: bit for bit what im2col and gemm's
// tiled kernels give.
BOOST_DATA_TEST_CASE(small_fields_match_im2col_and_gemm_bitwise, boost::unit_test::data::make(test::supported_isas()),
                     isa) {
  const test::IsaScope scope(isa);
  std::mt19937_64 rng(12);
  for (const Case& c : kShapes) {
    const detail::ConvGeometry g = geometry(c);
    // A single output pixel or channel makes gemm stream a dot product, summed in another order.
    if (!detail::uses_small_conv(g) || g.pixels() == 1 || c.out == 1) continue;
    for (Activation act : {Activation::Identity, Activation::ReLU, Activation::Sigmoid}) {
      BoundConv conv(c, 3);
      Tensor x;
      const Tensor y = forward_fused(conv, c, act, rng, x);
      std::vector<float> col(static_cast<std::size_t>(g.pixels() * g.patch() + detail::kIm2colSlack));
      std::vector<float> scratch(static_cast<std::size_t>(detail::im2col_scratch_size(g)));
      std::vector<float> expected(static_cast<std::size_t>(g.output_size()));
      for (std::int64_t n = 0; n < c.batch; ++n) {
        detail::im2col(g, x.data() + n * g.image_size(), col.data(), scratch.data());
        gemm(Trans::No, Trans::No, g.pixels(), c.out, g.patch(), 1.0f, col.data(), g.patch(), conv.params.data(), c.out,
             0.0f, expected.data(), c.out, Epilogue{conv.params.data() + g.patch() * c.out, act});
        BOOST_TEST(std::memcmp(expected.data(), y.data() + n * g.output_size(), expected.size() * sizeof(float)) == 0,
                   c << ", activation " << static_cast<int>(act) << ", image " << n);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(output_shapes) {
  const auto out = [](std::int64_t h, std::int64_t w, std::int64_t k, std::int64_t s, std::int64_t p) {
    Conv2D conv(2, 3, k, s, p);
    conv.connect(Shape{h, w, 2});
    return conv.out_shape();
  };
  BOOST_TEST((out(28, 28, 5, 1, 0) == Shape{24, 24, 3}));
  BOOST_TEST((out(28, 28, 5, 1, 2) == Shape{28, 28, 3}));
  BOOST_TEST((out(9, 7, 3, 2, 0) == Shape{4, 3, 3}));  // rounded down
  BOOST_TEST((out(5, 5, 5, 3, 0) == Shape{1, 1, 3}));
  BOOST_TEST((out(1, 1, 3, 1, 1) == Shape{1, 1, 3}));
}

BOOST_AUTO_TEST_CASE(gradients_match_central_differences) {
  std::mt19937_64 rng(2);
  for (const Case& c : {Case{2, 5, 5, 1, 2, 3, 1, 0}, Case{2, 7, 5, 2, 3, 3, 2, 0}, Case{1, 7, 7, 3, 2, 5, 1, 2},
                        Case{2, 9, 7, 2, 4, 5, 2, 2}, Case{3, 4, 4, 5, 3, 1, 1, 0}, Case{2, 6, 6, 3, 2, 2, 2, 1},
                        Case{9, 12, 12, 4, 6, 5, 1, 0}}) {
    BoundConv conv(c, 11);
    Tensor x = conv.input(c.batch), y = conv.output(c.batch), r = conv.output(c.batch), dx = conv.input(c.batch);
    fill_uniform(x, rng);
    fill_uniform(r, rng);
    conv.layer.forward(x, y);
    conv.layer.backward(x, y, r, &dx, false);
    const auto f = [&] {
      conv.layer.forward(x, y);
      return weighted_sum(y, r);
    };
    std::ostringstream what;
    what << c;
    check_gradient(what.str() + " dW and db", conv.params.data(), conv.grads.data(), conv.params.size(), f);
    check_gradient(what.str() + " dx", x.data(), dx.data(), x.size(), f);
  }
}

BOOST_AUTO_TEST_CASE(backward_accumulates_when_asked) {
  std::mt19937_64 rng(3);
  const Case c{4, 8, 8, 3, 5, 3, 1, 1};
  BoundConv conv(c, 5);
  Tensor x = conv.input(c.batch), y = conv.output(c.batch), dy = conv.output(c.batch), dx = conv.input(c.batch);
  fill_uniform(x, rng);
  fill_uniform(dy, rng);
  conv.layer.forward(x, y);
  conv.layer.backward(x, y, dy, nullptr, false);
  const Tensor once = conv.grads.clone();
  conv.layer.backward(x, y, dy, &dx, true);
  for (std::int64_t i = 0; i < once.size(); ++i) BOOST_TEST(conv.grads[i] == 2.0f * once[i]);
}

BOOST_AUTO_TEST_CASE(bit_identical_at_1_2_and_7_threads) {
  // 40 images of 8×8 output pixels: several groups of images, so the split really changes.
  std::mt19937_64 rng(4);
  // The second reads shifted rows (20 images of 20²), the third is a small field.
  for (const Case& c :
       {Case{40, 12, 12, 6, 16, 5, 1, 0}, Case{20, 20, 20, 8, 16, 3, 1, 1}, Case{24, 14, 14, 1, 16, 3, 1, 1}}) {
    BoundConv conv(c, 9);
    BOOST_TEST(conv.layer.fuse(Activation::ReLU));
    Tensor x = conv.input(c.batch), dy = conv.output(c.batch);
    fill_uniform(x, rng);
    fill_uniform(dy, rng);
    std::vector<Tensor> outputs, grads, dxs;
    for (int threads : {1, 2, 7}) {
      test::run_on_threads(threads, [&] {
        Tensor y = conv.output(c.batch), dx = conv.input(c.batch);
        conv.layer.forward(x, y);
        conv.layer.backward(x, y, dy, &dx, false);
        outputs.push_back(y);
        grads.push_back(conv.grads.clone());
        dxs.push_back(dx);
      });
    }
    const auto same = [](const Tensor& a, const Tensor& b) {
      return std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(float)) == 0;
    };
    for (std::size_t i = 1; i < outputs.size(); ++i) {
      BOOST_TEST(same(outputs[0], outputs[i]));
      BOOST_TEST(same(grads[0], grads[i]));
      BOOST_TEST(same(dxs[0], dxs[i]));
    }
  }
}

// Convolutions share per-thread scratch: layers run at once from several threads (each its own
// network, on one TBB arena, whose waiting threads steal each other's tasks) must still each compute
// what they compute alone, whichever way they read the image.
BOOST_AUTO_TEST_CASE(layers_run_from_several_threads_at_once_compute_what_they_compute_alone) {
  std::mt19937_64 rng(8);
  // Batches of several groups, each a parallel loop, and one group whose product is parallel itself
  // (its thread, waiting inside, runs the others' tasks while its own im2col matrix is in use).
  const std::vector<Case> cases{{8, 28, 28, 16, 32, 3, 2, 1},
                                {96, 12, 12, 6, 16, 5, 1, 0},
                                {24, 20, 20, 8, 16, 3, 1, 1},
                                {64, 14, 14, 1, 16, 3, 1, 1},
                                {64, 13, 11, 4, 8, 3, 2, 1}};
  std::vector<std::unique_ptr<BoundConv>> convs;
  std::vector<Tensor> xs, alone;
  for (const Case& c : cases) {
    convs.push_back(std::make_unique<BoundConv>(c, 21));
    xs.push_back(convs.back()->input(c.batch));
    fill_uniform(xs.back(), rng);
    Tensor y = convs.back()->output(c.batch);
    convs.back()->layer.forward(xs.back(), y);
    alone.push_back(y);
  }
  std::vector<int> mismatches(cases.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    threads.emplace_back([&, i] {
      Tensor y = convs[i]->output(cases[i].batch);
      for (int round = 0; round < 30; ++round) {
        convs[i]->layer.forward(xs[i], y);
        if (std::memcmp(y.data(), alone[i].data(), static_cast<std::size_t>(y.size()) * sizeof(float)) != 0) {
          ++mismatches[i];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (std::size_t i = 0; i < cases.size(); ++i) BOOST_TEST(mismatches[i] == 0, cases[i]);
}

BOOST_AUTO_TEST_CASE(bad_arguments_and_shapes_throw) {
  expect_invalid([] { Conv2D(0, 1, 3); }, "channels, kernel and stride must be >= 1");
  expect_invalid([] { Conv2D(1, 1, 0); }, "Conv2D(1, 1, kernel 0");
  expect_invalid([] { Conv2D(1, 1, 3, 0); }, "stride 0");
  expect_invalid([] { Conv2D(1, 1, 3, 1, 3); }, "0 <= padding < kernel");
  expect_invalid([] { Conv2D(1, 1, 3, 1, -1); }, "padding -1");
  expect_invalid([] { Conv2D(1 << 20, 1 << 20, 4096); }, "the weights at most 2^40");
  expect_invalid(
      [] {
        Conv2D(3, 4, 3).connect(Shape{8, 8, 2});
      },
      "takes images of shape [height, width, 3], got [8, 8, 2]");
  expect_invalid([] { Conv2D(1, 4, 3).connect(Shape{64}); }, "got [64]");
  expect_invalid([] { Conv2D(1, 4, 5, 1, 1).connect(Shape{2, 9, 1}); }, "kernel is larger than the padded image");
  BoundConv conv(Case{2, 6, 6, 1, 2, 3, 1, 0}, 1);
  Tensor x(Shape{2, 6, 6, 2}), y(Shape{2, 4, 4, 2});
  expect_invalid([&] { conv.layer.forward(x, y); }, "input must have shape [2, 6, 6, 1]");
  Conv2D unbound(1, 1, 1);
  unbound.connect(Shape{2, 2, 1});
  Tensor ux(Shape{1, 2, 2, 1}), uy(Shape{1, 2, 2, 1});
  BOOST_CHECK_THROW(unbound.forward(ux, uy), std::logic_error);
}
