// The training loop and evaluation: classification and regression figures, validation, early
// stopping with the best epoch's parameters put back, data-parallel sums.
#include "tessera/train.hpp"

#include <unistd.h>

#include <algorithm>
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

// Checks that `data`'s examples are `net`'s inputs and its targets what `loss` can score of `net`'s
// outputs; throws std::invalid_argument naming what does not fit.
void check_fits(const Graph& net, const Loss& loss, const data::Dataset& data) {
  const Shape& in = net.in_shape();
  if (in.elements() != data.example_size()) {
    throw std::invalid_argument("the network takes inputs of shape " + in.to_string() + " (" +
                                std::to_string(in.elements()) + " values) but the data's examples are " +
                                data.example_shape().to_string() + " (" + std::to_string(data.example_size()) +
                                " values)");
  }
  if (net.out_shape().rank() != 1) {
    throw std::invalid_argument("the network's output " + net.out_shape().to_string() +
                                " is not a vector per example, which a loss scores");
  }
  loss.check_targets(data.target_kind(), data.target_width(), data.classes(), net.out_shape()[0]);
}

// The batch buffer for `net` and `data`, checked as check_fits does: [batch, net input...].
Tensor batch_buffer(const Graph& net, const Loss& loss, const data::Dataset& data, std::int64_t batch) {
  check_fits(net, loss, data);
  return Tensor(net.in_shape().with_batch(batch));
}

// Predicted classes: the largest output, or with a single output (a logit) class 1 where it is > 0.
void predict_classes(const Tensor& output, std::span<std::int32_t> predicted) {
  if (output.row_size() == 1) {
    for (std::size_t i = 0; i < predicted.size(); ++i) predicted[i] = output[static_cast<std::int64_t>(i)] > 0.0f;
    return;
  }
  argmax_rows(output, predicted);
}

// Per batch, in double and in a fixed order: correct predictions, or the absolute and squared
// errors over every output (and, when `squared_per_output` is not null, the squared errors added to
// it output by output, for R²).
struct ErrorSums {
  std::int64_t correct = 0;
  double abs = 0.0, squared = 0.0;
};

ErrorSums error_sums(const Tensor& output, const TargetBatch& targets, std::span<std::int32_t> predicted,
                     double* squared_per_output = nullptr) {
  ErrorSums sums;
  if (targets.kind == TargetKind::Classes) {
    predict_classes(output, predicted);
    for (std::size_t i = 0; i < targets.classes.size(); ++i) sums.correct += predicted[i] == targets.classes[i];
    return sums;
  }
  for (std::int64_t i = 0; i < output.size(); ++i) {
    const double d = static_cast<double>(output[i]) - static_cast<double>(targets.values[static_cast<std::size_t>(i)]);
    sums.abs += std::fabs(d);
    sums.squared += d * d;
    if (squared_per_output != nullptr) squared_per_output[i % output.row_size()] += d * d;
  }
  return sums;
}

void set_error_metrics(Metrics& m, TargetKind task, double examples, const ErrorSums& sums, std::int64_t width) {
  if (examples <= 0.0) return;
  if (task == TargetKind::Classes) {
    m.accuracy = static_cast<double>(sums.correct) / examples;
    return;
  }
  const double values = examples * static_cast<double>(width);
  m.rmse = std::sqrt(sums.squared / values);
  m.mae = sums.abs / values;
}

}  // namespace

// A shard's figures for one step, summed across processes in data-parallel runs.
struct Trainer::BatchFigures {
  double loss_sum = 0.0;  // over the shard's examples
  ErrorSums errors;
};

Trainer::Trainer(Graph& net, std::shared_ptr<const Loss> owned, const Loss& loss, Optimizer& optimizer,
                 TrainerOptions options)
    : net_(net), owned_loss_(std::move(owned)), loss_(loss), optimizer_(optimizer), options_(std::move(options)) {
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
  if (!(options_.validation_fraction >= 0.0 && options_.validation_fraction < 1.0)) {
    throw std::invalid_argument("Trainer: validation_fraction must be in [0, 1), got " +
                                std::to_string(options_.validation_fraction));
  }
  if (options_.early_stopping < 0) {
    throw std::invalid_argument("Trainer: early_stopping must be >= 0 epochs, got " +
                                std::to_string(options_.early_stopping));
  }
  if (options_.validation_fraction > 0.0 && options_.sharded_data && options_.processes != nullptr) {
    throw std::invalid_argument(
        "Trainer: with sharded data each process holds another part of the training set, so a validation "
        "fraction held out of it would differ between processes; pass the validation set to fit() instead");
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
  Tensor x = batch_buffer(net_, loss_, train, batch);
  TargetBuffer targets = train.target_buffer(batch);
  std::vector<std::int32_t> predicted(static_cast<std::size_t>(batch));
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
    BatchFigures figures;
    if (local > 0) {
      // The epoch's last batch may be smaller: views of the same buffers.
      Tensor xb = local == batch ? x.view() : x.rows(0, local);
      train.gather(order, lo, xb, targets);
      train.prefetch(order, next, local);
      const TargetBatch tb = targets.batch(local);
      const Tensor& y = net_.forward(xb);
      figures.loss_sum =
          static_cast<double>(loss_.compute(y, tb, &net_.output_gradient())) * static_cast<double>(local);
      figures.errors = error_sums(y, tb, std::span<std::int32_t>(predicted.data(), static_cast<std::size_t>(local)));
      net_.backward(net_.output_gradient());
    }
    if (options_.processes != nullptr) sum_across_processes(local, n, figures);
    if (!std::isfinite(figures.loss_sum)) {
      if (bar) bar->clear();
      throw TrainingDiverged("training diverged at epoch " + std::to_string(epoch) + ", step " +
                             std::to_string(step + 1) + " of " + std::to_string(steps) + ": the loss is " +
                             (std::isnan(figures.loss_sum) ? "NaN" : "infinite") + "; try a smaller learning rate");
    }
    optimizer_.step();
    at.correct += figures.errors.correct;
    at.abs_error_sum += figures.errors.abs;
    at.squared_error_sum += figures.errors.squared;
    at.loss_sum += figures.loss_sum;
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
  stats.task = train.target_kind();
  stats.seconds = at.seconds;
  const auto done = static_cast<double>(at.examples);
  stats.train.loss = at.examples > 0 ? at.loss_sum / done : 0.0;
  set_error_metrics(stats.train, stats.task, done, ErrorSums{at.correct, at.abs_error_sum, at.squared_error_sum},
                    train.target_width());
  stats.examples_per_second = stats.seconds > 0.0 ? done / stats.seconds : 0.0;
  stats.threads = max_threads();
  if (bar) bar->clear();
  return stats;
}

namespace {

void print_epoch_line(std::ostream& out, const EpochStats& stats) {
  std::string line;
  char part[160];
  // Each piece formatted by a literal format, then appended.
  const auto add = [&](int written) { line.append(part, static_cast<std::size_t>(std::clamp(written, 0, 159))); };
  add(std::snprintf(part, sizeof part, "Epoch=%lld, Examples=%lld, AvgError=%.10f", static_cast<long long>(stats.epoch),
                    static_cast<long long>(stats.examples), stats.train.loss));
  const bool classes = stats.task == TargetKind::Classes;
  if (stats.validated) {
    add(std::snprintf(part, sizeof part, ", ValidationLoss=%.6f", stats.validation.loss));
    if (classes)
      add(std::snprintf(part, sizeof part, ", ValidationAccuracy=%.4f", stats.validation.accuracy));
    else
      add(std::snprintf(part, sizeof part, ", ValidationRMSE=%.6g", stats.validation.rmse));
  }
  if (stats.evaluated) {
    if (classes)
      add(std::snprintf(part, sizeof part, ", TestAccuracy=%.4f", stats.test.accuracy));
    else
      add(std::snprintf(part, sizeof part, ", TestRMSE=%.6g, TestR2=%.4f", stats.test.rmse, stats.test.r2));
  }
  add(std::snprintf(part, sizeof part, ", Seconds=%.2f, ExamplesPerSecond=%.0f", stats.seconds,
                    stats.examples_per_second));
  out << line << "\n" << std::flush;
}

}  // namespace

std::vector<EpochStats> Trainer::fit(const data::Dataset& train, const data::Dataset* test,
                                     const data::Dataset* validation) {
  // A validation set held out of the training data: the same split on every run of this seed.
  std::optional<data::Dataset::Halves> held_out;
  const data::Dataset* training = &train;
  if (validation == nullptr && options_.validation_fraction > 0.0) {
    held_out = train.split(options_.validation_fraction, options_.seed);
    training = &held_out->first;
    validation = &held_out->second;
  }
  if (options_.early_stopping > 0 && (validation == nullptr || validation->size() == 0)) {
    throw std::invalid_argument("early stopping needs a validation set: pass one to fit(), or set validation_fraction");
  }
  // Checked before the first step, not at it.
  check_fits(net_, loss_, *training);
  if (test != nullptr && test->size() > 0) check_fits(net_, loss_, *test);
  if (validation != nullptr && validation->size() > 0) check_fits(net_, loss_, *validation);

  std::vector<EpochStats> history;
  const std::int64_t first = resumed_ ? progress_.epoch : 1;
  resumed_ = false;
  for (std::int64_t epoch = first; epoch <= options_.epochs; ++epoch) {
    EpochStats stats = train_epoch(*training, epoch);
    const auto evaluate_on = [&](const data::Dataset& set, Metrics& into) {
      into = evaluate(net_, loss_, set, options_.eval_batch_size);
      net_.train();
    };
    if (validation != nullptr && validation->size() > 0) {
      evaluate_on(*validation, stats.validation);
      stats.validated = true;
    }
    if (test != nullptr && test->size() > 0) {
      evaluate_on(*test, stats.test);
      stats.evaluated = true;
    }
    bool stop = stats.validated && track_best(stats);
    if (options_.progress != Progress::None) print_epoch_line(*options_.out, stats);
    if (options_.on_epoch && options_.on_epoch(stats) == EpochAction::Stop) stop = true;
    history.push_back(stats);
    const bool last = stop || epoch == options_.epochs;
    if (last && options_.early_stopping > 0 && options_.restore_best && restore_best_parameters() &&
        options_.progress != Progress::None) {
      *options_.out << (epoch < options_.epochs ? "Stopped early after epoch " + std::to_string(epoch) + ": " : "")
                    << "restored the parameters of epoch " << progress_.best_epoch << ", the lowest validation loss ("
                    << progress_.best_loss << ")\n"
                    << std::flush;
    }
    // A run resumed from here begins with the next epoch (or, stopped, finds the run complete).
    progress_.start_epoch(last ? options_.epochs + 1 : epoch + 1);
    if (!options_.checkpoint.empty()) save_checkpoint(options_.checkpoint);
    if (last) break;
  }
  return history;
}

bool Trainer::track_best(EpochStats& stats) {
  TrainingProgress& p = progress_;
  const bool best = p.best_epoch == 0 || stats.validation.loss < p.best_loss;
  if (best) {
    p.best_epoch = stats.epoch;
    p.best_loss = stats.validation.loss;
    if (options_.early_stopping > 0 && options_.restore_best) {
      const Tensor params = net_.parameters();
      p.best_parameters.assign(params.data(), params.data() + params.size());
    }
  }
  stats.best = best;
  return options_.early_stopping > 0 && stats.epoch - p.best_epoch >= options_.early_stopping;
}

std::int64_t Trainer::final_epoch() const noexcept {
  // track_best stops at the first epoch `early_stopping` past the best one.
  if (options_.early_stopping > 0 && progress_.best_epoch > 0) {
    return std::min(options_.epochs, progress_.best_epoch + options_.early_stopping);
  }
  return options_.epochs;
}

bool Trainer::restore_best_parameters() {
  const std::vector<float>& best = progress_.best_parameters;
  Tensor params = net_.parameters();
  if (best.empty() || static_cast<std::int64_t>(best.size()) != params.size()) return false;
  std::copy(best.begin(), best.end(), params.data());
  return true;
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

void Trainer::sum_across_processes(std::int64_t local, std::int64_t n, BatchFigures& figures) {
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
  double sums[4] = {figures.loss_sum, static_cast<double>(figures.errors.correct), figures.errors.abs,
                    figures.errors.squared};
  options_.processes->sum(sums, 4);
  figures.loss_sum = sums[0];
  figures.errors = {static_cast<std::int64_t>(sums[1]), sums[2], sums[3]};
  if (net_.buffer_count() > 0) average_buffers(local);
}

void Trainer::average_buffers(std::int64_t local) {
  Tensor b = net_.buffers();
  const auto n = static_cast<std::size_t>(b.size());
  buffer_sums_.resize(n + 1);  // sized on the first step, then reused
  const bool contributes = local > 0;
  for (std::size_t i = 0; i < n; ++i)
    buffer_sums_[i] = contributes ? static_cast<double>(b[static_cast<std::int64_t>(i)]) : 0.0;
  buffer_sums_[n] = contributes ? 1.0 : 0.0;
  options_.processes->sum(buffer_sums_.data(), static_cast<std::int64_t>(n + 1));
  const double count = buffer_sums_[n];
  for (std::size_t i = 0; i < n; ++i) b[static_cast<std::int64_t>(i)] = static_cast<float>(buffer_sums_[i] / count);
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
  const Graph& theirs = checkpoint.network;
  bool same = theirs.size() == net_.size() && theirs.parameter_count() == net_.parameter_count();
  for (std::size_t i = 0; same && i < net_.size(); ++i) same = theirs.layer(i).spec() == net_.layer(i).spec();
  if (!same) {
    const auto describe = [](const Graph& net) {
      std::string s;
      for (std::size_t i = 0; i < net.size(); ++i) s += (i ? ", " : "") + net.layer(i).name();
      return s;
    };
    differs("the network", describe(theirs), describe(net_));
  }
  // Everything is checked: now change the network and the optimizer.
  optimizer_.load_state(checkpoint.optimizer_state);
  // parameters() is not const only because it builds a network on first use; a loaded one is built.
  net_.parameters().copy_from(const_cast<Graph&>(theirs).parameters());
  if (net_.buffer_count() > 0) net_.buffers().copy_from(const_cast<Graph&>(theirs).buffers());
  for (std::size_t i = 0; i < net_.size(); ++i) net_.layer(i).set_random_state(theirs.layer(i).random_state());
  progress_ = p;
  resumed_ = true;
}

Evaluation Trainer::evaluate(Graph& net, const Loss& loss, const data::Dataset& data, std::int64_t batch_size) {
  if (batch_size < 1)
    throw std::invalid_argument("evaluate: batch size must be >= 1, got " + std::to_string(batch_size));
  Evaluation out;
  out.task = data.target_kind();
  const std::int64_t outputs = net.out_shape().rank() == 1 ? net.out_shape()[0] : 0;
  const bool classes = out.task == TargetKind::Classes;
  if (classes) {
    out.classes = static_cast<std::int32_t>(outputs == 1 ? 2 : outputs);
    out.confusion.assign(static_cast<std::size_t>(out.classes) * static_cast<std::size_t>(out.classes), 0);
  }
  if (data.size() == 0) return out;
  const std::int64_t batch = std::min(batch_size, data.size());
  Tensor x = batch_buffer(net, loss, data, batch);
  TargetBuffer targets = data.target_buffer(batch);
  std::vector<std::int32_t> predicted(static_cast<std::size_t>(batch));
  const std::vector<std::int64_t> order = data.sequential_order();
  // R²'s total sum of squares about each output's mean, from the targets alone (two passes in double).
  const std::int64_t width = data.target_width();
  std::vector<double> mean(classes ? 0 : static_cast<std::size_t>(width)), residual(mean.size()), total(mean.size());
  if (!classes) {
    const std::span<const float> v = data.targets().values();
    for (std::size_t i = 0; i < v.size(); ++i) mean[i % mean.size()] += static_cast<double>(v[i]);
    for (double& m : mean) m /= static_cast<double>(data.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double d = static_cast<double>(v[i]) - mean[i % mean.size()];
      total[i % mean.size()] += d * d;
    }
  }
  net.eval();
  // A network's profile describes its training steps: evaluation's forwards are left out of it.
  struct PauseProfiling {
    Graph& net;
    bool was = net.profiling();
    explicit PauseProfiling(Graph& n) : net(n) { net.set_profiling(false); }
    ~PauseProfiling() { net.set_profiling(was); }
    PauseProfiling(const PauseProfiling&) = delete;
    PauseProfiling& operator=(const PauseProfiling&) = delete;
  } pause(net);
  double loss_sum = 0.0;
  ErrorSums sums;
  for (std::int64_t first = 0; first < data.size(); first += batch) {
    const std::int64_t n = std::min(batch, data.size() - first);
    Tensor xb = n == batch ? x.view() : x.rows(0, n);
    data.gather(order, first, xb, targets);
    const TargetBatch tb = targets.batch(n);
    const Tensor& y = net.forward(xb);
    loss_sum += static_cast<double>(loss.compute(y, tb, nullptr)) * static_cast<double>(n);
    const std::span<std::int32_t> pb(predicted.data(), static_cast<std::size_t>(n));
    const ErrorSums s = error_sums(y, tb, pb, classes ? nullptr : residual.data());
    sums.correct += s.correct;
    sums.abs += s.abs;
    sums.squared += s.squared;
    if (classes) {
      for (std::size_t i = 0; i < pb.size(); ++i) {
        ++out.confusion[static_cast<std::size_t>(tb.classes[i]) * static_cast<std::size_t>(out.classes) +
                        static_cast<std::size_t>(pb[i])];
      }
    }
  }
  out.examples = data.size();
  out.loss = loss_sum / static_cast<double>(out.examples);
  set_error_metrics(out, out.task, static_cast<double>(out.examples), sums, width);
  if (!classes) {
    double r2 = 0.0;
    for (std::size_t j = 0; j < mean.size(); ++j) {
      r2 += total[j] > 0.0 ? 1.0 - residual[j] / total[j] : (residual[j] == 0.0 ? 1.0 : 0.0);
    }
    out.r2 = r2 / static_cast<double>(mean.size());
  }
  return out;
}

}  // namespace tessera
