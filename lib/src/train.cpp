// The training loop and evaluation.
#include "tessera/train.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "parallel.hpp"
#include "progress.hpp"
#include "tessera/threading.hpp"
#include "timing.hpp"

namespace tessera {

namespace {

// The batch buffer for `net` and `data`: [batch, net input...], checked to hold one example per row.
Tensor batch_buffer(const Sequential& net, const data::Dataset& data, std::int64_t batch) {
  const Shape& in = net.in_shape();
  if (in.elements() != data.example_size()) {
    throw std::invalid_argument("the network takes inputs of shape " + in.to_string() + " (" +
                                std::to_string(in.elements()) + " values) but the data's examples are " +
                                data.example_shape().to_string() + " (" + std::to_string(data.example_size()) +
                                " values)");
  }
  if (net.out_shape().rank() != 1 || net.out_shape()[0] < data.classes()) {
    throw std::invalid_argument("the network's output " + net.out_shape().to_string() + " cannot score the data's " +
                                std::to_string(data.classes()) + " classes");
  }
  return Tensor(in.with_batch(batch));
}

std::int64_t count_correct(const Tensor& output, std::span<const std::int32_t> labels,
                           std::span<std::int32_t> predicted) {
  argmax_rows(output, predicted);
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  return correct;
}

}  // namespace

Trainer::Trainer(Sequential& net, const Loss& loss, Optimizer& optimizer, TrainerOptions options)
    : net_(net), loss_(loss), optimizer_(optimizer), options_(std::move(options)) {
  if (options_.epochs < 1)
    throw std::invalid_argument("Trainer: epochs must be >= 1, got " + std::to_string(options_.epochs));
  if (options_.batch_size < 1 || options_.eval_batch_size < 1) {
    throw std::invalid_argument("Trainer: batch sizes must be >= 1, got " + std::to_string(options_.batch_size) +
                                " and " + std::to_string(options_.eval_batch_size));
  }
  if (options_.checkpoint_every < 0 || (options_.checkpoint_every > 0 && options_.checkpoint.empty())) {
    throw std::invalid_argument("Trainer: checkpoint_every must be >= 0, and > 0 only with a checkpoint file; got " +
                                std::to_string(options_.checkpoint_every));
  }
  progress_.seed = options_.seed;
  progress_.batch_size = options_.batch_size;
  progress_.epochs = options_.epochs;
  if (options_.out == nullptr) options_.out = &std::cout;
  if (options_.processes != nullptr && options_.processes->rank() != 0) options_.progress = Progress::None;
  if (options_.processes != nullptr) net_.set_random_stream(static_cast<std::uint64_t>(options_.processes->rank()));
  if (options_.progress == Progress::Auto) {
    options_.progress = options_.out == &std::cout && ::isatty(STDOUT_FILENO) ? Progress::Bar : Progress::Lines;
  }
}

EpochStats Trainer::train_epoch(const data::Dataset& train, std::int64_t epoch) {
  const std::int64_t rank = options_.processes ? options_.processes->rank() : 0;
  const std::int64_t ranks = options_.processes ? options_.processes->size() : 1;
  const bool sharded = options_.sharded_data && options_.processes != nullptr;
  // The epoch's examples over all processes; each process's own part, shuffled, when sharded.
  const std::int64_t examples = sharded ? sharded_epoch_size(train.size()) : train.size();
  const std::int64_t batch = std::min(options_.batch_size, std::max<std::int64_t>(1, examples));
  Tensor x = batch_buffer(net_, train, batch);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch)), predicted(labels.size());
  const std::vector<std::int64_t> order = train.shuffled_order(
      sharded ? options_.seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(rank + 1) : options_.seed, epoch);
  const std::int64_t steps = (examples + batch - 1) / batch;
  TrainingProgress& at = progress_;
  if (at.epoch == epoch && at.step > 0) {
    if (at.examples_per_epoch != examples) {
      throw std::invalid_argument("the checkpoint was taken over " + std::to_string(at.examples_per_epoch) +
                                  " training examples, but this data has " + std::to_string(examples));
    }
  } else {
    at.start_epoch(epoch);
  }
  at.examples_per_epoch = examples;
  std::optional<detail::ProgressBar> bar;
  if (options_.progress == Progress::Bar) bar.emplace(*options_.out, epoch, options_.epochs, steps);

  net_.train();
  const double start = detail::now_seconds(), seconds_before = at.seconds;
  double saving = 0.0;  // checkpoint writes, left out of the epoch's time
  for (std::int64_t step = at.step; step < steps; ++step) {
    const std::int64_t first = step * batch;
    const std::int64_t n = std::min(batch, examples - first);
    // This process's examples of the global batch [first, first + n): a contiguous shard of it (all of
    // it in a single process), or, sharded, the positions ≡ rank (mod ranks), from its own part.
    const auto dealt = [&](std::int64_t end) { return (end + ranks - 1 - rank) / ranks; };  // of [0, end)
    const std::int64_t lo = sharded ? dealt(first) : first + n * rank / ranks;              // in `order`
    const std::int64_t local = sharded ? dealt(first + n) - lo : first + n * (rank + 1) / ranks - lo;
    const std::int64_t next = sharded ? dealt(first + n) : first + n + n * rank / ranks;
    optimizer_.zero_grad();
    double loss_sum = 0.0;  // over this shard's examples
    std::int64_t correct = 0;
    if (local > 0) {
      // The epoch's last batch may be smaller: views of the same buffers.
      Tensor xb = local == batch ? x.view() : x.rows(0, local);
      const std::span<std::int32_t> lb(labels.data(), static_cast<std::size_t>(local));
      train.gather(order, lo, xb, lb);
      train.prefetch(order, next, local);
      const Tensor& y = net_.forward(xb);
      loss_sum = static_cast<double>(loss_.compute(y, lb, &net_.output_gradient())) * static_cast<double>(local);
      correct = count_correct(y, lb, std::span<std::int32_t>(predicted.data(), lb.size()));
      net_.backward(net_.output_gradient());
    }
    if (options_.processes != nullptr) sum_across_processes(local, n, loss_sum, correct);
    if (!std::isfinite(loss_sum)) {
      if (bar) bar->clear();
      throw TrainingDiverged("training diverged at epoch " + std::to_string(epoch) + ", step " +
                             std::to_string(step + 1) + " of " + std::to_string(steps) + ": the loss is " +
                             (std::isnan(loss_sum) ? "NaN" : "infinite") + "; try a smaller learning rate");
    }
    optimizer_.step();
    at.correct += correct;
    at.loss_sum += loss_sum;
    at.examples += n;
    at.step = step + 1;
    if (options_.checkpoint_every > 0 && ((epoch - 1) * steps + at.step) % options_.checkpoint_every == 0) {
      const double before = detail::now_seconds();
      at.seconds = seconds_before + (before - start - saving);
      save_checkpoint(options_.checkpoint);
      saving += detail::now_seconds() - before;
    }
    if (bar) bar->update(at.step, at.loss_sum / static_cast<double>(at.examples), at.examples);
  }
  at.seconds = seconds_before + (detail::now_seconds() - start - saving);
  EpochStats stats;
  stats.epoch = epoch;
  stats.examples = at.examples;
  stats.seconds = at.seconds;
  const auto done = static_cast<double>(at.examples);
  stats.train_loss = at.examples > 0 ? at.loss_sum / done : 0.0;
  stats.train_accuracy = at.examples > 0 ? static_cast<double>(at.correct) / done : 0.0;
  stats.examples_per_second = stats.seconds > 0.0 ? done / stats.seconds : 0.0;
  stats.threads = max_threads();
  if (bar) bar->clear();
  return stats;
}

std::vector<EpochStats> Trainer::fit(const data::Dataset& train, const data::Dataset* test) {
  std::vector<EpochStats> history;
  const std::int64_t first = resumed_ ? progress_.epoch : 1;
  resumed_ = false;
  for (std::int64_t epoch = first; epoch <= options_.epochs; ++epoch) {
    EpochStats stats = train_epoch(train, epoch);
    if (test != nullptr && test->size() > 0) {
      const Evaluation e = evaluate(net_, loss_, *test, options_.eval_batch_size);
      stats.evaluated = true;
      stats.test_loss = e.loss;
      stats.test_accuracy = e.accuracy;
      net_.train();
    }
    if (options_.progress != Progress::None) {
      char line[256];
      int n =
          std::snprintf(line, sizeof line, "Epoch=%lld, Examples=%lld, AvgError=%.10f",
                        static_cast<long long>(stats.epoch), static_cast<long long>(stats.examples), stats.train_loss);
      if (stats.evaluated) {
        n += std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), ", TestAccuracy=%.4f",
                           stats.test_accuracy);
      }
      std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), ", Seconds=%.2f, ExamplesPerSecond=%.0f",
                    stats.seconds, stats.examples_per_second);
      *options_.out << line << "\n" << std::flush;
    }
    if (options_.on_epoch) options_.on_epoch(stats);
    history.push_back(stats);
    // A run resumed from here begins with the next epoch.
    progress_.start_epoch(epoch + 1);
    if (!options_.checkpoint.empty()) save_checkpoint(options_.checkpoint);
  }
  return history;
}

void Trainer::save_checkpoint(const std::filesystem::path& file) {
  // Every process holds the same state: one writes it.
  if (options_.processes != nullptr && options_.processes->rank() != 0) return;
  tessera::save_checkpoint(file, net_, optimizer_, progress_, options_.checkpoint_metadata);
}

std::int64_t Trainer::sharded_epoch_size(std::int64_t mine) {
  double size = static_cast<double>(mine);
  options_.processes->sum(&size, 1);
  const auto total = static_cast<std::int64_t>(size);
  const std::int64_t rank = options_.processes->rank(), ranks = options_.processes->size();
  const std::int64_t expected = total > rank ? (total - rank + ranks - 1) / ranks : 0;
  if (mine != expected) {
    throw std::invalid_argument("process " + std::to_string(rank) + " of " + std::to_string(ranks) + " holds " +
                                std::to_string(mine) + " of the " + std::to_string(total) +
                                " training examples, not its part (" + std::to_string(expected) +
                                "): read it with IdxPart{rank, size}");
  }
  if (options_.batch_size < ranks) {
    throw std::invalid_argument("a batch of " + std::to_string(options_.batch_size) + " cannot be dealt to " +
                                std::to_string(ranks) + " processes");
  }
  return total;
}

void Trainer::sum_across_processes(std::int64_t local, std::int64_t n, double& loss_sum, std::int64_t& correct) {
  // The losses average over each shard: weighting each shard's gradient by its share of the batch
  // makes the sum the gradient of the loss averaged over the whole batch.
  Tensor g = net_.gradients();
  if (local != n) {
    const float share = static_cast<float>(static_cast<double>(local) / static_cast<double>(n));
    float* p = g.data();
    detail::for_each_chunk(g.size(), detail::kElementwiseChunk, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) p[i] *= share;
    });
  }
  options_.processes->sum(g.data(), g.size());
  double figures[2] = {loss_sum, static_cast<double>(correct)};
  options_.processes->sum(figures, 2);
  loss_sum = figures[0];
  correct = static_cast<std::int64_t>(figures[1]);
}

void Trainer::resume(const Checkpoint& checkpoint) {
  const TrainingProgress& p = checkpoint.progress;
  const auto differs = [](const std::string& what, const auto& theirs, const auto& ours) {
    throw std::invalid_argument("the checkpoint was taken with " + what + " " + theirs + ", this trainer has " + ours);
  };
  if (p.seed != options_.seed) differs("seed", std::to_string(p.seed), std::to_string(options_.seed));
  if (p.batch_size != options_.batch_size) {
    differs("batch size", std::to_string(p.batch_size), std::to_string(options_.batch_size));
  }
  if (p.epochs != options_.epochs) differs("epochs", std::to_string(p.epochs), std::to_string(options_.epochs));
  if (checkpoint.optimizer != optimizer_.name()) differs("the optimizer", checkpoint.optimizer, optimizer_.name());
  const Sequential& theirs = checkpoint.network;
  bool same = theirs.size() == net_.size() && theirs.parameter_count() == net_.parameter_count();
  for (std::size_t i = 0; same && i < net_.size(); ++i) same = theirs.layer(i).spec() == net_.layer(i).spec();
  if (!same) {
    const auto describe = [](const Sequential& net) {
      std::string s;
      for (std::size_t i = 0; i < net.size(); ++i) s += (i ? ", " : "") + net.layer(i).name();
      return s;
    };
    differs("the network", describe(theirs), describe(net_));
  }
  // Everything is checked: now change the network and the optimizer.
  optimizer_.load_state(checkpoint.optimizer_state);
  // parameters() is not const only because it builds a network on first use; a loaded one is built.
  net_.parameters().copy_from(const_cast<Sequential&>(theirs).parameters());
  for (std::size_t i = 0; i < net_.size(); ++i) net_.layer(i).set_random_state(theirs.layer(i).random_state());
  progress_ = p;
  resumed_ = true;
}

Evaluation Trainer::evaluate(Sequential& net, const Loss& loss, const data::Dataset& data, std::int64_t batch_size) {
  if (batch_size < 1)
    throw std::invalid_argument("evaluate: batch size must be >= 1, got " + std::to_string(batch_size));
  Evaluation out;
  out.classes = static_cast<std::int32_t>(net.out_shape().rank() == 1 ? net.out_shape()[0] : 0);
  out.confusion.assign(static_cast<std::size_t>(out.classes) * static_cast<std::size_t>(out.classes), 0);
  if (data.size() == 0) return out;
  const std::int64_t batch = std::min(batch_size, data.size());
  Tensor x = batch_buffer(net, data, batch);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch)), predicted(labels.size());
  const std::vector<std::int64_t> order = data.sequential_order();
  net.eval();
  // A network's profile describes its training steps: evaluation's forwards are left out of it.
  struct PauseProfiling {
    Sequential& net;
    bool was = net.profiling();
    explicit PauseProfiling(Sequential& n) : net(n) { net.set_profiling(false); }
    ~PauseProfiling() { net.set_profiling(was); }
    PauseProfiling(const PauseProfiling&) = delete;
    PauseProfiling& operator=(const PauseProfiling&) = delete;
  } pause(net);
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  for (std::int64_t first = 0; first < data.size(); first += batch) {
    const std::int64_t n = std::min(batch, data.size() - first);
    Tensor xb = n == batch ? x.view() : x.rows(0, n);
    const std::span<std::int32_t> lb(labels.data(), static_cast<std::size_t>(n));
    data.gather(order, first, xb, lb);
    const Tensor& y = net.forward(xb);
    loss_sum += static_cast<double>(loss.compute(y, lb, nullptr)) * static_cast<double>(n);
    const std::span<std::int32_t> pb(predicted.data(), lb.size());
    correct += count_correct(y, lb, pb);
    for (std::size_t i = 0; i < lb.size(); ++i) {
      ++out.confusion[static_cast<std::size_t>(lb[i]) * static_cast<std::size_t>(out.classes) +
                      static_cast<std::size_t>(pb[i])];
    }
  }
  out.examples = data.size();
  out.loss = loss_sum / static_cast<double>(out.examples);
  out.accuracy = static_cast<double>(correct) / static_cast<double>(out.examples);
  return out;
}

}  // namespace tessera
