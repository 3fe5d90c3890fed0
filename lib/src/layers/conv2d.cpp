// Conv2D on the GEMM engine. The batch is cut into groups of whole images, fixed by the shapes alone;
// each group is one task, which gathers its images' receptive fields into a per-thread im2col matrix
// (never one for the whole batch) and multiplies it on its own thread. Forward skips im2col where it
// can (layers/im2col.hpp): stride-1 convolutions read shifted rows of the padded image, and small
// receptive fields are computed directly. Backward does the same per
// group, writing its share of dW and db to a partial of its own; the partials are then summed in group
// order, so the gradients do not depend on how many threads ran the groups.
#include "tessera/layers/conv2d.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <vector>

#include "gemm/driver.hpp"
#include "layers/batch_checks.hpp"
#include "layers/column_sums.hpp"
#include "layers/im2col.hpp"
#include "layers/output_affine.hpp"
#include "parallel.hpp"
#include "scratch_lease.hpp"
#include "simd/array_kernels.hpp"
#include "timing.hpp"

namespace tessera {

namespace detail {

struct ConvWorkspace {
  std::vector<float> partials;  // per group: dW, then db
  // While profiling, per group: seconds inside gemm and in the whole task.
  std::vector<double> gemm_seconds, task_seconds;
};

}  // namespace detail

namespace {

// Scratch shared by every Conv2D: none keeps its contents from one call to the next (backward
// gathers its patches again), so one set per thread (and nesting level, scratch_lease.hpp) serves a
// whole network and stays in L2 from one layer to the next; one set per layer made a small resnet's
// batch-1 forward touch more than its L2. Each task holds a lease while it runs. Grown on first use to
// the largest group, then reused.
struct ConvScratch {
  std::vector<float> col, dcol;
  // The padded image (im2col, shifted rows and small fields read it), and the product over the padded width.
  std::vector<float> padded, rows;
};
using ConvScratchLease = detail::ScratchLease<ConvScratch>;

// A group holds at least this many output pixels, so that each gemm call is tall enough to pay for
// its fixed costs and the partials are few: four 24×24 maps of a first MNIST convolution (K = 25)
// per call instead of one took its forward from 7.2 to 4.8 ms and its backward from 6.4 to 4.4 ms
// at batch 128 on one core ...
constexpr std::int64_t kGroupRows = 2048;
// ... but its im2col matrix stays within about two L2 caches. The image count is then rounded down to
// a power of two, which divides the usual batch sizes, so that threads get equal shares (groups of 10
// made 13 groups at batch 128: 7 and 6 on two threads).
constexpr std::int64_t kMaxColBytes = 2 << 20;

struct GroupPlan {
  std::int64_t images;  // per group (the last may have fewer)
  std::int64_t groups;
};

GroupPlan plan_groups(const detail::ConvGeometry& g, std::int64_t batch) {
  const std::int64_t by_rows = (kGroupRows + g.pixels() - 1) / g.pixels();
  const std::int64_t by_bytes = kMaxColBytes / std::max<std::int64_t>(1, g.pixels() * g.patch() * 4);
  const std::int64_t images = std::clamp<std::int64_t>(
      std::bit_floor(static_cast<std::uint64_t>(std::max<std::int64_t>(1, std::min(by_rows, by_bytes)))), 1,
      std::max<std::int64_t>(1, batch));
  return {images, (batch + images - 1) / images};
}

detail::ConvGeometry geometry_of(const Conv2D& conv) {
  const Shape& in = conv.in_shape();
  const Shape& out = conv.out_shape();
  return {in[0], in[1], in[2], conv.kernel(), conv.stride(), conv.padding(), out[0], out[1], out[2]};
}

float* grown(std::vector<float>& buffer, std::int64_t size) {
  if (static_cast<std::int64_t>(buffer.size()) < size) buffer.resize(static_cast<std::size_t>(size));
  return buffer.data();
}

// The rows a group multiplies: its images' im2col matrix, or the images themselves when pointwise.
const float* patches_of(const detail::ConvGeometry& g, const float* images, std::int64_t count, std::vector<float>& col,
                        std::vector<float>& scratch) {
  if (g.pointwise()) return images;
  float* out = grown(col, count * g.pixels() * g.patch() + detail::kIm2colSlack);
  float* padded = grown(scratch, detail::im2col_scratch_size(g));
  for (std::int64_t i = 0; i < count; ++i) {
    detail::im2col(g, images + i * g.image_size(), out + i * g.pixels() * g.patch(), padded);
  }
  return out;
}

// Times the groups of one parallel loop while profiling: the gemm calls' share of the tasks' time,
// applied to the loop's wall time, is what the layer spent in gemm.
class GroupTimer {
 public:
  GroupTimer(detail::ConvWorkspace& ws, std::int64_t groups, bool on) : ws_(ws), on_(on) {
    if (!on_) return;
    ws_.gemm_seconds.assign(static_cast<std::size_t>(groups), 0.0);
    ws_.task_seconds.assign(static_cast<std::size_t>(groups), 0.0);
    start_ = detail::now_seconds();
  }
  // Runs fn as (part of) group g's task; `gemm` when fn is a gemm call.
  template <class F>
  void time(std::int64_t g, bool gemm, F&& fn) {
    if (!on_) {
      fn();
      return;
    }
    const double t0 = detail::now_seconds();
    fn();
    const double t = detail::now_seconds() - t0;
    ws_.task_seconds[static_cast<std::size_t>(g)] += t;
    if (gemm) ws_.gemm_seconds[static_cast<std::size_t>(g)] += t;
  }
  // The estimate of the loop's seconds in gemm.
  double gemm_wall_seconds() const {
    if (!on_) return 0.0;
    double gemm = 0.0, task = 0.0;
    for (std::size_t i = 0; i < ws_.task_seconds.size(); ++i) gemm += ws_.gemm_seconds[i], task += ws_.task_seconds[i];
    return task > 0.0 ? (detail::now_seconds() - start_) * gemm / task : 0.0;
  }

 private:
  detail::ConvWorkspace& ws_;
  bool on_;
  double start_ = 0.0;
};

// The image zero-padded by g.pad into `padded` (group's task, timed), or the image itself when g.pad is 0.
const float* padded_image(const detail::ConvGeometry& g, const float* image, std::vector<float>& padded,
                          std::int64_t group, GroupTimer& timer) {
  if (g.pad == 0) return image;
  float* out = grown(padded, g.padded_size());
  timer.time(group, false, [&] { detail::pad_image(g, image, out); });
  return out;
}

// Forward of a convolution with a small receptive field (detail::uses_small_conv): directly from the
// padded image, image by image.
void forward_small(const detail::ConvGeometry& g, const GroupPlan& plan, std::int64_t batch, const float* x,
                   const float* w, const Epilogue& epilogue, GroupTimer& timer, float* y) {
  const detail::ArrayKernels& ak = detail::active_array_kernels();
  detail::for_each_task(plan.groups, [&](std::int64_t group) {
    const ConvScratchLease scratch;
    const std::int64_t first = group * plan.images, count = std::min(plan.images, batch - first);
    for (std::int64_t i = first; i < first + count; ++i) {
      const float* source = padded_image(g, x + i * g.image_size(), scratch->padded, group, timer);
      timer.time(group, true,
                 [&] { ak.small_conv(g, source, w, epilogue.bias, epilogue.activation, y + i * g.output_size()); });
    }
  });
}

// Forward without im2col (detail::uses_shifted_rows): per image, one product per kernel row, each
// reading the zero-padded image in place and adding to the last; the bias and activation come with
// the last one. The output pixels are then taken from the rows over the padded width.
//   x: batch × (h, w, c);  w: (kernel, kernel, c) × out, then the bias;  y: batch × (oh, ow, out)
void forward_shifted_rows(const detail::ConvGeometry& g, const GroupPlan& plan, std::int64_t batch, const float* x,
                          const float* w, const Epilogue& epilogue, GroupTimer& timer, float* y) {
  const std::int64_t shifted_rows = detail::shifted_row_count(g), pw = g.padded_width();
  const std::int64_t n = g.out_channels, row_k = g.kernel * g.c;
  detail::for_each_task(plan.groups, [&](std::int64_t group) {
    const ConvScratchLease scratch;
    const std::int64_t first = group * plan.images, count = std::min(plan.images, batch - first);
    float* rows = grown(scratch->rows, shifted_rows * n);
    for (std::int64_t i = first; i < first + count; ++i) {
      const float* source = padded_image(g, x + i * g.image_size(), scratch->padded, group, timer);
      timer.time(group, true, [&] {
        for (std::int64_t kh = 0; kh < g.kernel; ++kh) {
          detail::gemm_overlapping_rows(shifted_rows, n, row_k, source + kh * pw * g.c, g.c, w + kh * row_k * n, n,
                                        kh == 0 ? 0.0f : 1.0f, rows, n, kh + 1 == g.kernel ? epilogue : Epilogue{});
        }
      });
      timer.time(group, false, [&] {
        float* out = y + i * g.output_size();
        for (std::int64_t oh = 0; oh < g.oh; ++oh) {
          std::copy_n(rows + oh * pw * n, g.ow * n, out + oh * g.ow * n);
        }
      });
    }
  });
}

}  // namespace

Conv2D::Conv2D(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride,
               std::int64_t padding)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel), stride_(stride), padding_(padding) {
  constexpr std::int64_t kMax = std::int64_t{1} << 20;
  const bool sizes_ok = in_channels >= 1 && out_channels >= 1 && kernel >= 1 && stride >= 1 && in_channels <= kMax &&
                        out_channels <= kMax && kernel <= 4096 && stride <= 4096;
  // The weight count in double: within the bounds above, the integer product could overflow.
  const double weights = static_cast<double>(kernel) * static_cast<double>(kernel) * static_cast<double>(in_channels) *
                         static_cast<double>(out_channels);
  if (!sizes_ok || padding < 0 || padding >= kernel || weights > static_cast<double>(kMax << 20)) {
    throw std::invalid_argument(
        "tessera::Conv2D: channels, kernel and stride must be >= 1 and 0 <= padding < kernel (and the weights at "
        "most 2^40), got " +
        name());
  }
}

Conv2D::Conv2D(Conv2D&&) noexcept = default;
Conv2D& Conv2D::operator=(Conv2D&&) noexcept = default;
Conv2D::~Conv2D() = default;

std::string Conv2D::name() const {
  return "Conv2D(" + std::to_string(in_channels_) + ", " + std::to_string(out_channels_) + ", kernel " +
         std::to_string(kernel_) + ", stride " + std::to_string(stride_) + ", padding " + std::to_string(padding_) +
         ")";
}

Shape Conv2D::infer_out_shape(const Shape& in) const {
  if (in.rank() != 3 || in[2] != in_channels_) {
    throw std::invalid_argument(name() + " takes images of shape [height, width, " + std::to_string(in_channels_) +
                                "], got " + in.to_string());
  }
  const std::int64_t h = in[0] + 2 * padding_, w = in[1] + 2 * padding_;
  if (h < kernel_ || w < kernel_) {
    throw std::invalid_argument(name() + ": the kernel is larger than the padded image " + in.to_string());
  }
  return Shape{(h - kernel_) / stride_ + 1, (w - kernel_) / stride_ + 1, out_channels_};
}

double Conv2D::flops_per_example() const {
  if (!connected()) return 0.0;
  return 2.0 * static_cast<double>(out_shape().elements()) * static_cast<double>(patch_size());
}

void Conv2D::bind(float* values, float* gradients) {
  w_ = values;
  dw_ = gradients;
}

void Conv2D::require_bound() const {
  if (w_ == nullptr) {
    throw std::logic_error(name() + " has no parameters: add it to a Sequential (or bind() it) first");
  }
}

void Conv2D::initialize(Init init, Rng& rng) {
  require_bound();
  const std::int64_t weights = patch_size() * out_channels_;
  init_weights(init, w_, weights, fan_in(), fan_out(), rng);
  init_biases(init, w_ + weights, out_channels_, rng);
}

bool Conv2D::fuse(Activation activation) {
  fused_ = activation;
  return true;
}

void Conv2D::set_output_affine(std::span<const float> scale, std::span<const float> shift) {
  require_bound();
  if (!folded_) folded_ = std::make_unique<detail::FoldedParameters>();
  folded_->set(name(), w_, patch_size(), out_channels_, scale, shift);
}

void Conv2D::forward(const Tensor& x, Tensor& y) {
  require_bound();
  const std::int64_t batch = detail::check_forward(*this, x, y);
  if (!workspace_) workspace_ = std::make_unique<detail::ConvWorkspace>();
  const detail::ConvGeometry g = geometry_of(*this);
  const GroupPlan plan = plan_groups(g, batch);
  // The parameters, or for inference a copy with a BatchNorm folded in.
  const float* w = folded_ ? folded_->weights(w_) : w_;
  const Epilogue epilogue{w + patch_size() * out_channels_, fused_.value_or(Activation::Identity)};
  GroupTimer timer(*workspace_, plan.groups, profiling());
  if (detail::uses_small_conv(g)) {
    forward_small(g, plan, batch, x.data(), w, epilogue, timer, y.data());
  } else if (detail::uses_shifted_rows(g)) {
    forward_shifted_rows(g, plan, batch, x.data(), w, epilogue, timer, y.data());
  } else {
    detail::for_each_task(plan.groups, [&](std::int64_t group) {
      const ConvScratchLease scratch;
      const std::int64_t first = group * plan.images, count = std::min(plan.images, batch - first);
      const float* a = nullptr;
      timer.time(group, false,
                 [&] { a = patches_of(g, x.data() + first * g.image_size(), count, scratch->col, scratch->padded); });
      timer.time(group, true, [&] {
        gemm(Trans::No, Trans::No, count * g.pixels(), out_channels_, patch_size(), 1.0f, a, patch_size(), w,
             out_channels_, 0.0f, y.data() + first * g.output_size(), out_channels_, epilogue);
      });
    });
  }
  add_gemm_seconds(timer.gemm_wall_seconds());
}

void Conv2D::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx, bool accumulate) {
  require_bound();
  const std::int64_t batch = detail::check_backward(*this, x, y, dy, dx);
  if (!workspace_) workspace_ = std::make_unique<detail::ConvWorkspace>();
  detail::ConvWorkspace& ws = *workspace_;
  const detail::ConvGeometry g = geometry_of(*this);
  const GroupPlan plan = plan_groups(g, batch);
  const std::int64_t k = patch_size(), n = out_channels_, params = parameter_count();
  float* partials = grown(ws.partials, plan.groups * params);

  GroupTimer timer(ws, plan.groups, profiling());
  detail::for_each_task(plan.groups, [&](std::int64_t group) {
    const ConvScratchLease scratch;
    const std::int64_t first = group * plan.images, count = std::min(plan.images, batch - first);
    const std::int64_t rows = count * g.pixels();
    const float* d_out = dy.data() + first * g.output_size();
    float* partial = partials + group * params;
    const float* a = nullptr;
    timer.time(group, false,
               [&] { a = patches_of(g, x.data() + first * g.image_size(), count, scratch->col, scratch->padded); });
    timer.time(group, true, [&] { gemm(Trans::Yes, Trans::No, k, n, rows, 1.0f, a, k, d_out, n, 0.0f, partial, n); });
    timer.time(group, false, [&] { detail::column_sums(d_out, rows, n, n, partial + k * n, false); });
    if (dx == nullptr) return;
    float* d_in = dx->data() + first * g.image_size();
    if (g.pointwise()) {
      timer.time(group, true, [&] { gemm(Trans::No, Trans::Yes, rows, k, n, 1.0f, d_out, n, w_, n, 0.0f, d_in, k); });
      return;
    }
    // Image by image, so that the patch gradients are still in L2 when col2im adds them up.
    float* dcol = grown(scratch->dcol, g.pixels() * k);
    std::fill(d_in, d_in + count * g.image_size(), 0.0f);
    for (std::int64_t i = 0; i < count; ++i) {
      timer.time(group, true, [&] {
        gemm(Trans::No, Trans::Yes, g.pixels(), k, n, 1.0f, d_out + i * g.output_size(), n, w_, n, 0.0f, dcol, k);
      });
      timer.time(group, false, [&] { detail::col2im_add(g, dcol, d_in + i * g.image_size()); });
    }
  });
  add_gemm_seconds(timer.gemm_wall_seconds());

  // The groups' partials, summed in group order, whatever thread computed each.
  detail::for_each_chunk(params, detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
    float* sum = partials;  // group 0's partial collects the others
    for (std::int64_t group = 1; group < plan.groups; ++group) {
      const float* other = partials + group * params;
      for (std::int64_t i = begin; i < end; ++i) sum[i] += other[i];
    }
    for (std::int64_t i = begin; i < end; ++i) dw_[i] = accumulate ? dw_[i] + sum[i] : sum[i];
  });
}

Tensor Conv2D::weights() const {
  require_bound();
  return Tensor::view(w_, Shape{kernel_, kernel_, in_channels_, out_channels_});
}
Tensor Conv2D::bias() const {
  require_bound();
  return Tensor::view(w_ + patch_size() * out_channels_, Shape{out_channels_});
}
Tensor Conv2D::weight_gradients() const {
  require_bound();
  return Tensor::view(dw_, Shape{kernel_, kernel_, in_channels_, out_channels_});
}
Tensor Conv2D::bias_gradients() const {
  require_bound();
  return Tensor::view(dw_ + patch_size() * out_channels_, Shape{out_channels_});
}

}  // namespace tessera
