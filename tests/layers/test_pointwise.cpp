// LeakyReLU, ELU, GELU, SiLU: values against double-precision references, dx by central differences,
// their settings back from a spec, and the rule that only a derivative computed from the output may
// be fused: such a layer between two Dense layers keeps its input, and a network's gradients through
// it match central differences; a layer that offers an epilogue without that property is refused.
#define BOOST_TEST_MODULE pointwise
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <random>

#include "support/expect_error.hpp"
#include "support/finite_difference.hpp"
#include "support/network_gradients.hpp"
#include "tessera/tessera.hpp"

using namespace tessera;

namespace {
struct Case {
  std::function<std::unique_ptr<Layer>()> make;
  std::function<double(double)> reference;
  bool kinked;  // a kink at 0 (LeakyReLU, ELU): central differences across it are skipped
};

std::vector<Case> cases() {
  return {
      {[] { return std::make_unique<LeakyReLU>(0.2f); }, [](double x) { return x > 0 ? x : 0.2 * x; }, true},
      {[] { return std::make_unique<ELU>(1.5f); }, [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); }, true},
      {[] { return std::make_unique<GELU>(); }, [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); },
       false},
      {[] { return std::make_unique<SiLU>(); }, [](double x) { return x / (1.0 + std::exp(-x)); }, false},
  };
}
}  // namespace

BOOST_AUTO_TEST_CASE(values_match_double_references) {
  for (const Case& c : cases()) {
    auto layer = c.make();
    layer->connect(Shape{3, 7});
    Tensor x(Shape{5, 3, 7}), y(x.shape());
    std::mt19937_64 rng(1);
    test::fill_uniform(x, rng, -6.0f, 6.0f);
    layer->forward(x, y);
    double worst = 0.0;
    for (std::int64_t i = 0; i < x.size(); ++i) {
      const double expected = c.reference(static_cast<double>(x[i]));
      worst = std::max(worst, std::abs(static_cast<double>(y[i]) - expected) / (1.0 + std::abs(expected)));
    }
    BOOST_TEST(worst < 1e-6, layer->name() << ": worst relative error " << worst);
    BOOST_TEST(!layer->derivative_from_output());
    BOOST_TEST(!layer->epilogue_activation().has_value());
  }
}

BOOST_AUTO_TEST_CASE(gradients_match_central_differences) {
  for (const Case& c : cases()) {
    auto layer = c.make();
    layer->connect(Shape{40});
    Tensor x(Shape{3, 40}), y(x.shape()), r(x.shape()), dx(x.shape());
    std::mt19937_64 rng(2);
    test::fill_uniform(x, rng, -4.0f, 4.0f);
    test::fill_uniform(r, rng);
    layer->forward(x, y);
    layer->backward(x, y, r, &dx, false);
    // LeakyReLU and ELU have a kink at 0: skip the rare point within h of it.
    test::check_gradient(layer->name() + " dx", x.data(), dx.data(), x.size(),
                         [&] {
                           layer->forward(x, y);
                           return test::weighted_sum(y, r);
                         },
                         {1e-3, 1e-4, 1e-3, 1e-6});
  }
}

BOOST_AUTO_TEST_CASE(settings_come_back_from_the_spec) {
  const auto leaky = make_layer(LeakyReLU(0.037f).spec());
  BOOST_TEST(dynamic_cast<const LeakyReLU&>(*leaky).slope() == 0.037f);
  BOOST_TEST(leaky->name() == "LeakyReLU(0.037)");
  const auto elu = make_layer(ELU(0.3f).spec());
  BOOST_TEST(dynamic_cast<const ELU&>(*elu).alpha() == 0.3f);
  BOOST_TEST(make_layer({"GELU", {}})->name() == "GELU");
  BOOST_TEST(make_layer({"SiLU", {}})->name() == "SiLU");
  test::expect_invalid([] { LeakyReLU(-0.1f); }, "slope must be finite and >= 0");
  test::expect_invalid([] { ELU(0.0f); }, "alpha must be finite and > 0");
  test::expect_invalid([] { make_layer({"GELU", {1}}); }, "takes 0 arguments");
}

BOOST_AUTO_TEST_CASE(a_network_through_them_has_the_right_gradients) {
  for (const Case& c : cases()) {
    // A whole network in float: a wider step, the usual tolerances, and points next to a kink skipped.
    const test::Tolerance kNetwork{1e-2, 2e-3, 1e-2, c.kinked ? 5e-4 : 0.0};
    Sequential net;
    net.add(Dense(5, 6)).add(c.make()).add(Dense(6, 3)).add(c.make());
    net.initialize(3, Init::Normal);
    test::check_network_gradients(net, net.layer(1).name() + " network", 8, kNetwork);
  }
}

namespace {
// A layer that offers its activation to a GEMM epilogue although its backward needs its input.
class Dishonest final : public Layer {
 public:
  std::string name() const override { return "Dishonest"; }
  LayerSpec spec() const override { return {"Dishonest", {}}; }
  std::optional<Activation> epilogue_activation() const override { return Activation::ReLU; }
  void forward(const Tensor& x, Tensor& y) override { y.copy_from(x); }
  void backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx, bool) override {
    if (dx) dx->copy_from(dy);
  }

 protected:
  Shape infer_out_shape(const Shape& in) const override { return in; }
};
}  // namespace

BOOST_AUTO_TEST_CASE(only_a_derivative_from_the_output_may_be_fused) {
  Sequential net;
  net.add(Dense(3, 3)).add(Dishonest()).add(Dense(3, 2));
  test::expect_error<std::logic_error>([&] { net.initialize(1); },
                                       "Dishonest offers its activation to a GEMM epilogue, but its derivative "
                                       "needs its input");
}
