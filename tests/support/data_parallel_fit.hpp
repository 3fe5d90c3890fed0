// One training recipe for the data-parallel tests (threads as processes, and MPI): Adam at 2e-3 with
// softmax cross-entropy, quiet, tested on the committed sample's test set after each epoch.
#pragma once

#include <cstdint>
#include <vector>

#include "support/mnist_sample.hpp"
#include "tessera/tessera.hpp"

namespace tessera::test {

// Trains `net` on `train` for `epochs` of `batch` examples, across `processes` when not null (each
// holding only its part of the data when `sharded`).
inline std::vector<EpochStats> fit_data_parallel(Graph& net, const data::Dataset& train, std::int64_t epochs,
                                                 std::int64_t batch, ProcessGroup* processes, bool sharded) {
  Adam opt(net, AdamOptions(2e-3f));
  SoftmaxCrossEntropy loss;
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.progress = Progress::None;
  o.processes = processes;
  o.sharded_data = sharded;
  return Trainer(net, loss, opt, o).fit(train, &mnist_sample().test);
}

}  // namespace tessera::test
