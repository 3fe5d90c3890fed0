// tessera::gemm against the double-precision reference: every small size, every block-size edge of
// every ISA, large products, padded leading dimensions, BLAS edge cases, argument checks, bitwise
// equality across thread counts and the fused epilogue.
#define BOOST_TEST_MODULE gemm
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "gemm/driver.hpp"
#include "gemm/kernel_set.hpp"
#include "support/activation_reference.hpp"
#include "support/allocation_counter.hpp"
#include "support/expect_error.hpp"
#include "support/gemm_reference.hpp"
#include "support/isa.hpp"
#include "support/threads.hpp"
#include "tessera/gemm.hpp"
#include "tessera/threading.hpp"

namespace bdata = boost::unit_test::data;
using namespace tessera;
using tessera::test::expect_invalid;
using tessera::test::IsaScope;
using tessera::test::Matrix;
using tessera::test::supported_isas;

// Run with TESSERA_ISA naming a path this CPU lacks (test_gemm_forced_*): skipped, not failed.
struct SkipUnsupportedForcedIsa {
  SkipUnsupportedForcedIsa() { tessera::test::skip_if_forced_isa_unsupported(); }
};
BOOST_TEST_GLOBAL_FIXTURE(SkipUnsupportedForcedIsa);

namespace gemm_test {

struct Case {
  Trans ta = Trans::No, tb = Trans::No;
  std::int64_t m = 1, n = 1, k = 1;
  float alpha = 1.0f, beta = 0.0f;
  std::int64_t pad = 0;  // extra leading-dimension width of every operand
};

std::string describe(const Case& c) {
  std::ostringstream s;
  s << "ta=" << (c.ta == Trans::Yes ? 'T' : 'N') << " tb=" << (c.tb == Trans::Yes ? 'T' : 'N') << " m=" << c.m
    << " n=" << c.n << " k=" << c.k << " alpha=" << c.alpha << " beta=" << c.beta << " pad=" << c.pad
    << " isa=" << to_string(gemm_isa());
  return s.str();
}

struct Operands {
  Matrix a, b, c;
};

Operands make_operands(const Case& cs, std::mt19937_64& rng) {
  Operands o{Matrix(cs.ta == Trans::Yes ? cs.k : cs.m, cs.ta == Trans::Yes ? cs.m : cs.k, cs.pad),
             Matrix(cs.tb == Trans::Yes ? cs.n : cs.k, cs.tb == Trans::Yes ? cs.k : cs.n, cs.pad),
             Matrix(cs.m, cs.n, cs.pad)};
  o.a.fill_uniform(rng);
  o.b.fill_uniform(rng);
  o.c.fill_uniform(rng);
  return o;
}

void call_gemm(const Case& cs, const Operands& o, Matrix& c, const Epilogue& ep = {}) {
  gemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, o.a.data.data(), o.a.ld, o.b.data.data(), o.b.ld, cs.beta,
       c.data.data(), c.ld, ep);
}

// Checks every element of C against the reference within the stated bound and that the padding
// between rows was left alone; reports the first bad element.
void check_against(const Case& cs, const Operands& o, const Matrix& result, const test::Reference& ref) {
  for (std::int64_t i = 0; i < cs.m; ++i) {
    for (std::int64_t j = 0; j < result.ld; ++j) {
      const float got = result.at(i, j);
      if (j >= cs.n) {
        if (std::memcmp(&got, &o.c.data[static_cast<std::size_t>(i * o.c.ld + j)], sizeof got) != 0) {
          BOOST_FAIL("padding overwritten at (" << i << "," << j << ") " << describe(cs));
        }
        continue;
      }
      const auto idx = static_cast<std::size_t>(i * cs.n + j);
      const double err = std::abs(static_cast<double>(got) - ref.exact[idx]);
      if (!(err <= test::error_bound(cs.k, ref.magnitude[idx]))) {
        BOOST_FAIL("C(" << i << "," << j << ") = " << got << ", expected " << ref.exact[idx] << ", error " << err
                        << " > bound " << test::error_bound(cs.k, ref.magnitude[idx]) << "; " << describe(cs));
      }
    }
  }
}

void check_case(const Case& cs, std::mt19937_64& rng) {
  const Operands o = make_operands(cs, rng);
  Matrix c = o.c;
  call_gemm(cs, o, c);
  check_against(cs, o, c, test::reference_gemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, o.a, o.b, cs.beta, o.c));
}

constexpr Trans kTrans[] = {Trans::No, Trans::Yes};
constexpr float kAlphas[] = {1.0f, -0.5f, 0.0f};
constexpr float kBetas[] = {0.0f, 1.0f, 0.3f};

}  // namespace gemm_test
using namespace gemm_test;

BOOST_AUTO_TEST_SUITE(dispatch)

// Runs first, before any test switches ISA: TESSERA_ISA, when set, decides the initial choice.
BOOST_AUTO_TEST_CASE(environment_forces_isa) {
  const char* forced = std::getenv("TESSERA_ISA");
  if (forced != nullptr && *forced != '\0') {
    BOOST_TEST(std::string(to_string(gemm_isa())) == forced);
  } else {
    const Isa best = isa_supported(Isa::Avx512) ? Isa::Avx512 : isa_supported(Isa::Avx2) ? Isa::Avx2 : Isa::Generic;
    BOOST_TEST(std::string(to_string(gemm_isa())) == std::string(to_string(best)));
  }
}

BOOST_AUTO_TEST_CASE(generic_always_supported_and_switchable) {
  BOOST_TEST(isa_supported(Isa::Generic));
  for (Isa isa : supported_isas()) {
    IsaScope scope(isa);
    BOOST_TEST(std::string(to_string(gemm_isa())) == std::string(to_string(isa)));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(correctness)

// Every value 1..33 of each of m, n and k, the other two drawn at random, for every transpose pair,
// alpha and beta, with padded leading dimensions.
BOOST_DATA_TEST_CASE(every_small_size, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  std::mt19937_64 rng(1234 + static_cast<unsigned>(isa));
  std::uniform_int_distribution<std::int64_t> other(1, 70), pad(0, 5);
  for (int dim = 0; dim < 3; ++dim) {
    for (std::int64_t v = 1; v <= 33; ++v) {
      for (Trans ta : kTrans) {
        for (Trans tb : kTrans) {
          for (float alpha : kAlphas) {
            for (float beta : kBetas) {
              Case cs{ta, tb, other(rng), other(rng), other(rng), alpha, beta, pad(rng)};
              (dim == 0 ? cs.m : dim == 1 ? cs.n : cs.k) = v;
              check_case(cs, rng);
            }
          }
        }
      }
    }
  }
}

// Sizes just below, at and just above every block size and packing threshold of the ISA, in each of
// m, n and k.
BOOST_DATA_TEST_CASE(block_size_edges, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  const detail::BlockSizes bs = detail::active_kernel_set().blocks;
  std::mt19937_64 rng(99 + static_cast<unsigned>(isa));
  std::uniform_int_distribution<std::int64_t> other(1, 40), pad(0, 3);
  int combo = 0;
  for (int block : {bs.mr, bs.nr, bs.kc, bs.nc_l2, bs.mc_l3, bs.nc_l3, bs.direct_a_max_cols, bs.direct_b_max_rows}) {
    for (int offset : {-1, 0, 1}) {
      for (int dim = 0; dim < 3; ++dim) {
        ++combo;
        Case cs{kTrans[combo % 2], kTrans[(combo / 2) % 2], other(rng),        other(rng),
                other(rng),        kAlphas[combo % 2],      kBetas[combo % 3], pad(rng)};
        (dim == 0 ? cs.m : dim == 1 ? cs.n : cs.k) = block + offset;
        check_case(cs, rng);
      }
    }
  }
}

// Where an ISA has a second, narrower tile (AVX-512's 16×16): the driver's choice by shape, and every
// driver path on it (normal and swapped orientation; A and B read in place, packed, or B packed by
// the kernels; depth panels at the narrow tile's own block edges), against the reference.
BOOST_DATA_TEST_CASE(narrow_tile, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  const detail::KernelSet& wide = detail::active_kernel_set();
  if (wide.narrow == nullptr) {
    BOOST_TEST_MESSAGE("skipped: " << wide.name << " has no narrow tile");
    return;
  }
  const detail::KernelSet& narrow = *wide.narrow;
  BOOST_TEST(narrow.isa == wide.isa);
  // A 16-channel convolution at 28² (im2col product) takes the narrow tile; 64 channels keep the wide one.
  BOOST_TEST(detail::choose_kernels(wide, 784, 16, 144).kernels == &narrow);
  BOOST_TEST(!detail::choose_kernels(wide, 784, 16, 144).swapped);
  BOOST_TEST(detail::choose_kernels(wide, 49, 64, 576).kernels == &wide);
  const detail::BlockSizes& bs = narrow.blocks;
  std::mt19937_64 rng(77);
  std::uniform_int_distribution<std::int64_t> pad(0, 3);
  int normal = 0, swapped = 0, combo = 0;
  for (std::int64_t m : std::initializer_list<std::int64_t>{2, 15, 17, 33, bs.direct_b_max_rows + 1, 300, 784}) {
    for (std::int64_t n : {2, 9, 16}) {
      for (std::int64_t k : std::initializer_list<std::int64_t>{1, 9, bs.kc, bs.kc + 1, 2 * bs.kc + 3}) {
        ++combo;
        Case cs{kTrans[combo % 2], kTrans[(combo / 2) % 2], m, n, k, kAlphas[combo % 2], kBetas[combo % 3], pad(rng)};
        for (bool swap_sides : {false, true}) {
          if (swap_sides) std::swap(cs.m, cs.n);
          const detail::KernelChoice choice = detail::choose_kernels(wide, cs.m, cs.n, cs.k);
          if (choice.kernels != &narrow) continue;
          (choice.swapped ? swapped : normal) += 1;
          check_case(cs, rng);
        }
      }
    }
  }
  BOOST_TEST_MESSAGE(narrow.name << ": " << normal << " products unswapped, " << swapped << " swapped");
  BOOST_TEST(normal > 20);
  BOOST_TEST(swapped > 20);
}

// A few large products, one reference each, checked on every ISA and with all threads.
BOOST_AUTO_TEST_CASE(large_products) {
  std::mt19937_64 rng(7);
  for (const Case& cs : {Case{Trans::No, Trans::No, 1000, 1100, 1200, 1.0f, 0.3f, 3},
                         Case{Trans::Yes, Trans::Yes, 1001, 997, 1203, -0.5f, 1.0f, 1}}) {
    const Operands o = make_operands(cs, rng);
    const test::Reference ref = test::reference_gemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, o.a, o.b, cs.beta, o.c);
    for (Isa isa : supported_isas()) {
      IsaScope scope(isa);
      Matrix c = o.c;
      call_gemm(cs, o, c);
      check_against(cs, o, c, ref);
    }
  }
}

// The dense-layer shapes of DESIGN.md: forward (NN), weight gradient (TN) and input gradient (NT).
BOOST_DATA_TEST_CASE(dense_layer_shapes, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  std::mt19937_64 rng(31);
  const std::int64_t layers[][2] = {{784, 512}, {512, 256}, {256, 10}, {784, 100}, {100, 50}, {50, 10}};
  for (std::int64_t batch : {32, 128}) {
    for (const auto& l : layers) {
      check_case(Case{Trans::No, Trans::No, batch, l[1], l[0], 1.0f, 0.0f, 0}, rng);
      check_case(Case{Trans::Yes, Trans::No, l[0], l[1], batch, 1.0f, 0.0f, 0}, rng);
      check_case(Case{Trans::No, Trans::Yes, batch, l[0], l[1], 1.0f, 0.0f, 0}, rng);
    }
  }
}

BOOST_DATA_TEST_CASE(beta_zero_ignores_nan_and_inf_in_c, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  std::mt19937_64 rng(5);
  for (const Case& cs :
       {Case{Trans::No, Trans::No, 37, 45, 29, 1.0f, 0.0f, 2}, Case{Trans::No, Trans::Yes, 64, 10, 100, 1.0f, 0.0f, 0},
        Case{Trans::Yes, Trans::No, 13, 7, 5, 0.0f, 0.0f, 1}}) {
    Operands o = make_operands(cs, rng);
    for (std::size_t i = 0; i < o.c.data.size(); ++i) {
      o.c.data[i] = i % 2 ? std::numeric_limits<float>::quiet_NaN() : -std::numeric_limits<float>::infinity();
    }
    Matrix c = o.c;
    call_gemm(cs, o, c);
    check_against(cs, o, c, test::reference_gemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, o.a, o.b, 0.0f, o.c));
  }
}

BOOST_AUTO_TEST_CASE(zero_sizes_and_alpha_zero) {
  float c[4] = {1, 2, 3, 4};
  const float a[4] = {1, 1, 1, 1};
  // m, n or k = 0 are valid; with k = 0 or alpha = 0, C is only scaled by beta.
  gemm(Trans::No, Trans::No, 0, 2, 2, 1.0f, nullptr, 2, nullptr, 2, 0.0f, nullptr, 2);
  gemm(Trans::No, Trans::No, 2, 0, 2, 1.0f, nullptr, 2, nullptr, 1, 0.0f, nullptr, 1);
  gemm(Trans::No, Trans::No, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, c, 2);
  BOOST_TEST(c[0] == 0.5f);
  BOOST_TEST(c[3] == 2.0f);
  gemm(Trans::No, Trans::No, 2, 2, 2, 0.0f, a, 2, a, 2, 2.0f, c, 2);
  BOOST_TEST(c[0] == 1.0f);
  BOOST_TEST(c[3] == 4.0f);
  c[1] = std::numeric_limits<float>::quiet_NaN();
  gemm(Trans::No, Trans::No, 2, 2, 2, 0.0f, a, 2, a, 2, 0.0f, c, 2);
  for (float x : c) BOOST_TEST(x == 0.0f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(arguments)

BOOST_AUTO_TEST_CASE(invalid_arguments_throw_naming_them) {
  std::vector<float> x(100, 1.0f);
  float* p = x.data();
  expect_invalid([&] { gemm(Trans::No, Trans::No, -1, 2, 2, 1, p, 2, p, 2, 0, p, 2); }, "m must be");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, -1, 2, 1, p, 2, p, 2, 0, p, 2); }, "n must be");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 2, -3, 1, p, 2, p, 2, 0, p, 2); }, "k must be");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 3, 4, 1, p, 3, p, 3, 0, p, 3); }, "lda");
  expect_invalid([&] { gemm(Trans::Yes, Trans::No, 5, 3, 4, 1, p, 4, p, 3, 0, p, 3); }, "lda");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 3, 4, 1, p, 4, p, 2, 0, p, 3); }, "ldb");
  expect_invalid([&] { gemm(Trans::No, Trans::Yes, 2, 3, 4, 1, p, 4, p, 3, 0, p, 3); }, "ldb");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 3, 4, 1, p, 4, p, 3, 0, p, 2); }, "ldc");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 3, 4, 1, nullptr, 4, p, 3, 0, p, 3); }, "a must not be null");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 3, 4, 1, p, 4, nullptr, 3, 0, p, 3); }, "b must not be null");
  expect_invalid([&] { gemm(Trans::No, Trans::No, 2, 3, 4, 1, p, 4, p, 3, 0, nullptr, 3); }, "c must not be null");
  expect_invalid([] { set_gemm_isa(static_cast<Isa>(42)); }, "unknown ISA value 42");
  expect_invalid([] { ThreadLimit limit(0); }, "max_threads");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(threads)

// The same product at 1, 2, 3, 7 and 16 threads (task arenas of that size, so the split really
// changes even on a 2-core machine) and under a ThreadLimit of 1: bit-identical results.
BOOST_DATA_TEST_CASE(bitwise_identical_across_thread_counts, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  std::mt19937_64 rng(11);
  for (const Case& cs :
       {Case{Trans::No, Trans::No, 300, 500, 700, 1.0f, 0.3f, 1},
        Case{Trans::Yes, Trans::No, 784, 512, 128, 1.0f, 0.0f, 0},
        Case{Trans::No, Trans::Yes, 128, 784, 100, -0.5f, 1.0f, 0},
        Case{Trans::No, Trans::No, 256, 10, 256, 1.0f, 0.0f, 0},
        // single rows and columns: the streamed path, split over outputs
        Case{Trans::No, Trans::No, 1, 1000, 700, 1.0f, 0.0f, 0},
        Case{Trans::No, Trans::Yes, 1, 777, 300, 0.5f, 1.0f, 0}, Case{Trans::No, Trans::No, 900, 1, 300, 1.0f, 0.0f, 0},
        Case{Trans::Yes, Trans::No, 1500, 1, 100, 1.0f, 0.3f, 0}}) {
    const Operands o = make_operands(cs, rng);
    Matrix serial = o.c;
    {
      ThreadLimit one(1);
      BOOST_TEST(max_threads() == 1);
      call_gemm(cs, o, serial);
    }
    for (int threads : {1, 2, 3, 7, 16}) {
      Matrix c = o.c;
      test::run_on_threads(threads, [&] {
        BOOST_TEST(max_threads() == threads);
        call_gemm(cs, o, c);
      });
      BOOST_TEST((std::memcmp(c.data.data(), serial.data.data(), c.data.size() * sizeof(float)) == 0),
                 "threads=" << threads << " differs from 1 thread; " << describe(cs));
    }
  }
}

// Packing buffers are per thread and reused: once a shape has run, running it again (serially or
// on all threads, with the epilogue) allocates nothing.
BOOST_DATA_TEST_CASE(steady_state_allocates_nothing, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  std::mt19937_64 rng(17);
  for (const Case& cs : {Case{Trans::No, Trans::No, 128, 512, 784, 1.0f, 0.0f, 0},
                         Case{Trans::Yes, Trans::No, 784, 100, 128, 1.0f, 1.0f, 0},
                         Case{Trans::No, Trans::Yes, 256, 10, 50, 1.0f, 0.0f, 0}}) {
    const Operands o = make_operands(cs, rng);
    Matrix bias(1, cs.n);
    Matrix c = o.c;
    const Epilogue ep{bias.data.data(), Activation::Sigmoid};
    for (int warm = 0; warm < 3; ++warm) call_gemm(cs, o, c, ep);
    if (!test::AllocationCounter::available()) {
      BOOST_TEST_MESSAGE("allocation counting skipped: ThreadSanitizer owns operator new");
      continue;
    }
    long allocations = 0;
    {
      test::AllocationCounter counter;
      for (int run = 0; run < 5; ++run) call_gemm(cs, o, c, ep);
      allocations = counter.count();
    }
    BOOST_TEST(allocations == 0, describe(cs));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(epilogue)

// act(alpha·A·B + beta·C + bias) against the reference product followed by an unfused bias and
// activation, for narrow (swapped) and wide shapes and the alpha = 0 path.
BOOST_DATA_TEST_CASE(fused_matches_unfused, bdata::make(supported_isas()), isa) {
  IsaScope scope(isa);
  std::mt19937_64 rng(3);
  for (Activation act : {Activation::Identity, Activation::ReLU, Activation::Sigmoid, Activation::Tanh}) {
    for (bool with_bias : {false, true}) {
      for (const Case& cs : {Case{Trans::No, Trans::No, 128, 10, 256, 1.0f, 0.0f, 0},
                             // swapped products: the epilogue runs over each task's region
                             Case{Trans::No, Trans::No, 128, 100, 784, 1.0f, 0.0f, 0},
                             Case{Trans::No, Trans::No, 1000, 24, 300, 1.0f, 0.0f, 3},
                             // single rows and columns: the streamed path
                             Case{Trans::No, Trans::No, 1, 100, 784, 1.0f, 0.0f, 0},
                             Case{Trans::No, Trans::No, 37, 1, 50, 1.0f, 0.5f, 0},
                             Case{Trans::No, Trans::Yes, 67, 93, 41, 1.0f, 0.5f, 2},
                             Case{Trans::Yes, Trans::No, 200, 700, 500, 1.0f, 0.0f, 1},
                             Case{Trans::No, Trans::No, 5, 9, 3, 0.0f, 1.0f, 0}}) {
        const Operands o = make_operands(cs, rng);
        Matrix bias(1, cs.n);
        bias.fill_uniform(rng, -2.0f, 2.0f);
        Matrix c = o.c;
        call_gemm(cs, o, c, Epilogue{with_bias ? bias.data.data() : nullptr, act});
        const test::Reference ref =
            test::reference_gemm(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, o.a, o.b, cs.beta, o.c);
        for (std::int64_t i = 0; i < cs.m; ++i) {
          for (std::int64_t j = 0; j < cs.n; ++j) {
            const auto idx = static_cast<std::size_t>(i * cs.n + j);
            const double pre = ref.exact[idx] + (with_bias ? static_cast<double>(bias.at(0, j)) : 0.0);
            // Product bound plus the activation's own float error (a few ulp; slope at most 1).
            const double bound = test::error_bound(cs.k, ref.magnitude[idx]) + 4e-7 * (1.0 + std::abs(pre));
            const double err = std::abs(static_cast<double>(c.at(i, j)) - test::reference_activation(act, pre));
            if (!(err <= bound)) {
              BOOST_FAIL("C(" << i << "," << j << ") = " << c.at(i, j) << ", expected "
                              << test::reference_activation(act, pre) << " act=" << static_cast<int>(act)
                              << " bias=" << with_bias << "; " << describe(cs));
            }
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
