// Shape and Tensor: the float32 arrays (up to 4 dimensions, row-major, 64-byte aligned) that layers,
// losses and optimizers pass around. A Tensor either owns its storage or is a view of someone else's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

namespace tessera {

// Up to four extents, outermost first. Layers describe one example (no batch dimension); tensors
// that carry a batch have it as their first extent.
class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  // Throws std::invalid_argument for more than four extents, a negative one, or more than 2^62
  // elements in all.
  Shape(std::initializer_list<std::int64_t> extents);

  int rank() const noexcept { return rank_; }
  std::int64_t operator[](int axis) const noexcept { return extents_[static_cast<std::size_t>(axis)]; }
  // The product of the extents (1 for rank 0).
  std::int64_t elements() const noexcept;
  // This shape with `batch` put in front: {batch, extents...}. Throws if the rank would exceed 4 or the
  // elements 2^62.
  Shape with_batch(std::int64_t batch) const;
  // This shape without its first extent.
  Shape without_batch() const;
  // This shape with extent `axis` (0 ≤ axis < rank) replaced by `extent` (≥ 1).
  Shape with_extent(int axis, std::int64_t extent) const;

  friend bool operator==(const Shape& a, const Shape& b) noexcept;
  // "[128, 784]"
  std::string to_string() const;

 private:
  void check_size() const;

  std::array<std::int64_t, kMaxRank> extents_{};
  int rank_ = 0;
};

class Tensor {
 public:
  // An empty tensor: rank 0, no data.
  Tensor() = default;
  // Owning, zero-filled, 64-byte aligned (no data for a rank-0 shape).
  explicit Tensor(const Shape& shape);
  // A view of `data` (not owned; it must outlive the view and hold shape.elements() floats).
  static Tensor view(float* data, const Shape& shape);

  // Copying an owning tensor copies its data; copying a view makes another view of the same data.
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  ~Tensor() = default;

  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return shape_.rank(); }
  std::int64_t dim(int axis) const noexcept { return shape_[axis]; }
  // Elements held: 0 for the empty (rank-0) tensor.
  std::int64_t size() const noexcept { return rank() == 0 ? 0 : shape_.elements(); }
  bool empty() const noexcept { return size() == 0; }
  bool owns_data() const noexcept { return static_cast<bool>(storage_); }

  // For a batch: the number of examples (first extent) and the floats per example (the rest).
  std::int64_t rows() const noexcept { return rank() == 0 ? 1 : shape_[0]; }
  std::int64_t row_size() const noexcept { return rows() == 0 ? 0 : size() / rows(); }

  float* data() noexcept { return data_; }
  const float* data() const noexcept { return data_; }
  float& operator[](std::int64_t i) noexcept { return data_[i]; }
  float operator[](std::int64_t i) const noexcept { return data_[i]; }
  // Element (row, column) of the tensor seen as rows() × row_size().
  float& at(std::int64_t row, std::int64_t col) noexcept { return data_[row * row_size() + col]; }
  float at(std::int64_t row, std::int64_t col) const noexcept { return data_[row * row_size() + col]; }

  // An owning copy, whether this tensor owns its data or is a view.
  Tensor clone() const;
  // A view of the whole tensor.
  Tensor view() const { return Tensor::view(data_, shape_); }
  // A view of rows [first, first + count) (examples of a batch). Throws when out of range.
  Tensor rows(std::int64_t first, std::int64_t count) const;
  // A view with another shape of the same number of elements. Throws otherwise.
  Tensor reshaped(const Shape& shape) const;

  void fill(float value) noexcept;
  // Copies the elements of `source`, which must have the same number of elements.
  void copy_from(const Tensor& source);

 private:
  struct AlignedDelete {
    void operator()(float* p) const noexcept;
  };

  Shape shape_;
  float* data_ = nullptr;
  std::unique_ptr<float[], AlignedDelete> storage_;
};

// The alignment of every owning Tensor and of the network's flat buffers: one cache line, one
// AVX-512 register.
inline constexpr std::size_t kTensorAlignment = 64;

}  // namespace tessera
