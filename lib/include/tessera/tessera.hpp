// Everything a training program needs, in one include.
#pragma once

#include "tessera/data/dataset.hpp"
#include "tessera/data/idx.hpp"
#include "tessera/gemm.hpp"
#include "tessera/init.hpp"
#include "tessera/layers/activations.hpp"
#include "tessera/layers/dense.hpp"
#include "tessera/layers/layer.hpp"
#include "tessera/loss.hpp"
#include "tessera/network.hpp"
#include "tessera/optim.hpp"
#include "tessera/random.hpp"
#include "tessera/schedule.hpp"
#include "tessera/serialize.hpp"
#include "tessera/tensor.hpp"
#include "tessera/threading.hpp"
#include "tessera/train.hpp"
