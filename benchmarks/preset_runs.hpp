// What bench_train and bench_scaling measure of the app's presets: epochs of training and batched
// inference, each on the thread count the caller has set up.
#pragma once

#include <cstdint>
#include <vector>

#include "../apps/tessera/presets.hpp"
#include "tessera/tessera.hpp"

namespace tessera::bench {

// Examples/s of each of `epochs` epochs of training `preset` over `train` at this batch size.
std::vector<double> epoch_rates(const data::Dataset& train, const tessera_app::Preset& preset, std::int64_t batch,
                                int epochs);

// Images/s of each of `repeats` passes of inference over `test` in batches of `batch` (whole batches
// only).
std::vector<double> inference_rates(const data::Dataset& test, const tessera_app::Preset& preset, std::int64_t batch,
                                    int repeats);

// The preset's network, initialised, for inference over `data`.
Graph inference_network(const data::Dataset& data, const tessera_app::Preset& preset);

}  // namespace tessera::bench
