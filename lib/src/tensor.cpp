// Shape and Tensor: aligned storage, views and the checks on reshaping and slicing.
#include "tessera/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace tessera {

namespace {
[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("tessera::Tensor: " + what); }
}  // namespace

Shape::Shape(std::initializer_list<std::int64_t> extents) {
  if (extents.size() > kMaxRank) fail("a shape has at most 4 extents, got " + std::to_string(extents.size()));
  for (std::int64_t e : extents) {
    if (e < 0) fail("extents must be >= 0, got " + std::to_string(e));
    extents_[static_cast<std::size_t>(rank_++)] = e;
  }
  check_size();
}

void Shape::check_size() const {
  // In double: the product itself could overflow an integer. 2^62 floats is far beyond any memory.
  double n = 1.0;
  for (int i = 0; i < rank_; ++i) n *= static_cast<double>(extents_[static_cast<std::size_t>(i)]);
  if (n > 0x1p62) fail("the shape " + to_string() + " holds more than 2^62 elements");
}

std::int64_t Shape::elements() const noexcept {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= extents_[static_cast<std::size_t>(i)];
  return n;
}

Shape Shape::with_batch(std::int64_t batch) const {
  if (rank_ == kMaxRank) fail("cannot add a batch extent to the 4-dimensional shape " + to_string());
  if (batch < 0) fail("batch must be >= 0, got " + std::to_string(batch));
  Shape out;
  out.rank_ = rank_ + 1;
  out.extents_[0] = batch;
  std::copy_n(extents_.begin(), rank_, out.extents_.begin() + 1);
  out.check_size();
  return out;
}

Shape Shape::without_batch() const {
  if (rank_ == 0) fail("a rank-0 shape has no batch extent");
  Shape out;
  out.rank_ = rank_ - 1;
  std::copy_n(extents_.begin() + 1, out.rank_, out.extents_.begin());
  return out;
}

Shape Shape::with_extent(int axis, std::int64_t extent) const {
  if (axis < 0 || axis >= rank_) fail("no axis " + std::to_string(axis) + " in " + to_string());
  if (extent < 1) fail("an extent must be >= 1, got " + std::to_string(extent));
  Shape out = *this;
  out.extents_[static_cast<std::size_t>(axis)] = extent;
  out.check_size();
  return out;
}

bool operator==(const Shape& a, const Shape& b) noexcept {
  return a.rank_ == b.rank_ && std::equal(a.extents_.begin(), a.extents_.begin() + a.rank_, b.extents_.begin());
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(extents_[static_cast<std::size_t>(i)]);
  }
  return s + "]";
}

void Tensor::AlignedDelete::operator()(float* p) const noexcept {
  ::operator delete[](p, std::align_val_t{kTensorAlignment});
}

Tensor::Tensor(const Shape& shape) : shape_(shape) {
  const std::int64_t n = size();
  if (n > 0) {
    // Rounded up to whole cache lines so vector loops may read a full last line.
    const std::size_t bytes =
        (static_cast<std::size_t>(n) * sizeof(float) + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    auto* p = static_cast<float*>(::operator new[](bytes, std::align_val_t{kTensorAlignment}));
    std::memset(p, 0, bytes);
    storage_.reset(p);
    data_ = p;
  }
}

Tensor Tensor::view(float* data, const Shape& shape) {
  if (data == nullptr && shape.elements() > 0) fail("a view of " + shape.to_string() + " needs data, got null");
  Tensor t;
  t.shape_ = shape;
  t.data_ = data;
  return t;
}

Tensor::Tensor(const Tensor& other) : shape_(other.shape_), data_(other.data_) {
  if (other.owns_data()) *this = other.clone();
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) *this = Tensor(other);
  return *this;
}

Tensor Tensor::clone() const {
  Tensor copy(shape_);
  copy.copy_from(*this);
  return copy;
}

Tensor Tensor::rows(std::int64_t first, std::int64_t count) const {
  if (rank() == 0) fail("rows() needs a tensor of rank >= 1");
  if (first < 0 || count < 0 || first + count > rows()) {
    fail("rows [" + std::to_string(first) + ", " + std::to_string(first + count) + ") are outside a tensor of " +
         std::to_string(rows()) + " rows");
  }
  Shape s = shape_.without_batch().with_batch(count);
  return Tensor::view(data_ + first * row_size(), s);
}

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape.elements() != size()) {
    fail("cannot view " + shape_.to_string() + " (" + std::to_string(size()) + " elements) as " + shape.to_string());
  }
  return Tensor::view(data_, shape);
}

void Tensor::fill(float value) noexcept { std::fill_n(data_, size(), value); }

void Tensor::copy_from(const Tensor& source) {
  if (source.size() != size()) {
    fail("copy_from: " + source.shape().to_string() + " does not fit " + shape_.to_string());
  }
  if (size() > 0) std::memmove(data_, source.data(), static_cast<std::size_t>(size()) * sizeof(float));
}

}  // namespace tessera
