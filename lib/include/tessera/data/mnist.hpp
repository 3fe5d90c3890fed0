// MNIST-style data: a pair of IDX files (images and labels) as a Dataset of byte images scaled to
// [0, 1] with class labels, and the four files of a train/test folder.
#pragma once

#include <filesystem>

#include "tessera/data/dataset.hpp"
#include "tessera/data/idx.hpp"

namespace tessera::data {

// An images file (idx3: count × rows × cols, or idx2/idx4) and its labels file (idx1: count). The
// class count is one more than the largest label. Throws DataError naming the file that is wrong.
// With `part`, only that part of the examples is read (read_idx).
Dataset read_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels,
                         const IdxPart& part = {});

// The four MNIST-style files in `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, in the usual spellings, raw or gzip). Both sets get
// the larger class count. Throws DataError naming the missing or bad file. With `train_part`, only
// that part of the training set is read (each process of a data-parallel run reads its own; the test
// set is read whole).
Split load_mnist(const std::filesystem::path& dir, const IdxPart& train_part = {});

}  // namespace tessera::data
