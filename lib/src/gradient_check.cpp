// Central differences in double of a float function against analytic gradients, for one array or for
// a whole network's parameters and inputs.
#include "tessera/gradient_check.hpp"

#include <cmath>
#include <random>
#include <sstream>

namespace tessera {

namespace {
constexpr std::size_t kMismatchesKept = 5;
}  // namespace

std::string GradientCheckReport::summary() const {
  std::ostringstream os;
  for (const GradientMismatch& m : mismatches) {
    os << m.what << "[" << m.index << "]: analytic " << m.analytic << ", central difference " << m.numeric << "\n";
  }
  os << failures << " of " << checked << " gradients differ, " << skipped << " points skipped at kinks\n";
  return os.str();
}

void GradientCheckReport::merge(const GradientCheckReport& other) {
  checked += other.checked;
  skipped += other.skipped;
  failures += other.failures;
  mismatches.insert(mismatches.end(), other.mismatches.begin(), other.mismatches.end());
}

GradientCheckReport check_array_gradient(const std::string& what, float* values, const float* analytic, std::int64_t n,
                                         const std::function<double()>& f, const GradientCheckOptions& options) {
  GradientCheckReport report;
  const std::int64_t stride = n > options.samples && options.samples > 0 ? n / options.samples : 1;
  const double f0 = options.kink > 0.0 ? f() : 0.0;
  for (std::int64_t i = 0; i < n; i += stride) {
    const float v = values[i];
    const float up = static_cast<float>(static_cast<double>(v) + options.step);
    const float down = static_cast<float>(static_cast<double>(v) - options.step);
    values[i] = up;
    const double fp = f();
    values[i] = down;
    const double fm = f();
    values[i] = v;
    if (options.kink > 0.0 && std::abs((fp - f0) - (f0 - fm)) > options.kink) {
      ++report.skipped;
      continue;
    }
    const double numeric = (fp - fm) / (static_cast<double>(up) - static_cast<double>(down));
    const double a = static_cast<double>(analytic[i]);
    ++report.checked;
    if (!(std::abs(numeric - a) <= options.atol + options.rtol * std::abs(a))) {
      if (++report.failures <= static_cast<std::int64_t>(kMismatchesKept)) {
        report.mismatches.push_back({what, i, a, numeric});
      }
    }
  }
  return report;
}

GradientCheckReport check_network_gradients(Graph& net, std::int64_t batch, const GradientCheckOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<float> input_values(options.input_low, options.input_high);
  std::uniform_real_distribution<float> weights(-1.0f, 1.0f);
  const auto filled = [&](const Shape& shape, std::uniform_real_distribution<float>& dist) {
    Tensor t(shape.with_batch(batch));
    for (std::int64_t i = 0; i < t.size(); ++i) t[i] = dist(rng);
    return t;
  };
  std::vector<Tensor> xs, rs, dxs;
  for (std::size_t k = 0; k < net.input_count(); ++k)
    xs.push_back(filled(net.node_shape(net.input_node(k)), input_values));
  for (std::size_t k = 0; k < net.output_count(); ++k)
    rs.push_back(filled(net.node_shape(net.output_node(k)), weights));
  const auto loss = [&] {
    const std::span<const Tensor> ys = net.forward_all(xs);
    double sum = 0.0;
    for (std::size_t k = 0; k < ys.size(); ++k) {
      for (std::int64_t i = 0; i < ys[k].size(); ++i)
        sum += static_cast<double>(ys[k][i]) * static_cast<double>(rs[k][i]);
    }
    return sum;
  };
  net.zero_grad();
  net.forward_all(xs);
  std::vector<Tensor*> dx_ptrs;
  for (const Tensor& x : xs) dxs.emplace_back(x.shape());
  for (Tensor& dx : dxs) dx_ptrs.push_back(&dx);
  net.backward_all(rs, dx_ptrs);
  const Tensor grads = net.gradients().clone();
  Tensor params = net.parameters();
  GradientCheckReport report =
      check_array_gradient("parameters", params.data(), grads.data(), params.size(), loss, options);
  for (std::size_t k = 0; k < xs.size(); ++k) {
    report.merge(
        check_array_gradient("input " + std::to_string(k), xs[k].data(), dxs[k].data(), xs[k].size(), loss, options));
  }
  return report;
}

}  // namespace tessera
