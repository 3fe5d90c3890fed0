// The training loop: epochs over a Dataset with a network, a loss and an optimizer; evaluation after
// each epoch; progress on a terminal, one line per epoch otherwise; divergence stops with an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "tessera/checkpoint.hpp"
#include "tessera/data/dataset.hpp"
#include "tessera/loss.hpp"
#include "tessera/network.hpp"
#include "tessera/optim.hpp"
#include "tessera/process_group.hpp"
#include "tessera/targets.hpp"

namespace tessera {

// The loss became NaN or infinite: the message names the epoch and the step.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Figures of a model over a data set. Classification (class targets): loss and accuracy.
// Regression (value targets): loss, RMSE and MAE over every output, and (evaluations only) R², the
// coefficient of determination 1 − SSE/SST per output, averaged over the outputs (scikit-learn's
// "uniform average"; an output whose targets are all equal counts 1 when predicted exactly, else 0).
struct Metrics {
  double loss = 0.0;
  double accuracy = 0.0;
  double rmse = 0.0;
  double mae = 0.0;
  double r2 = 0.0;
};

struct EpochStats {
  std::int64_t epoch = 0;                 // from 1
  std::int64_t examples = 0;              // trained in this epoch
  TargetKind task = TargetKind::Classes;  // classes: classification; values: regression
  Metrics train;                          // over the epoch's training batches, as trained (r2 not set)
  bool evaluated = false;                 // whether `test` is set
  Metrics test;
  bool validated = false;  // whether `validation` is set
  Metrics validation;
  bool best = false;     // this epoch's validation loss is the lowest so far
  double seconds = 0.0;  // training time of the epoch, evaluation excluded
  double examples_per_second = 0.0;
  int threads = 1;
};

struct Evaluation : Metrics {
  std::int64_t examples = 0;
  TargetKind task = TargetKind::Classes;
  std::int32_t classes = 0;  // classification: the classes the outputs score (2 for a single output)
  // classification: confusion[true_class · classes + predicted_class] = count
  std::vector<std::int64_t> confusion;
};

// What on_epoch tells fit(): go on, or stop after this epoch (as early stopping does).
enum class EpochAction { Continue, Stop };

// Called after each epoch with its figures. Takes any callable returning void (go on) or EpochAction.
class EpochCallback {
 public:
  EpochCallback() = default;
  template <class F>
  requires std::is_invocable_v<F&, const EpochStats&> EpochCallback(F f) {  // NOLINT: implicit on purpose
    if constexpr (std::is_void_v<std::invoke_result_t<F&, const EpochStats&>>) {
      fn_ = [f = std::move(f)](const EpochStats& s) mutable {
        f(s);
        return EpochAction::Continue;
      };
    } else {
      fn_ = std::move(f);
    }
  }
  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
  EpochAction operator()(const EpochStats& s) const { return fn_ ? fn_(s) : EpochAction::Continue; }

 private:
  std::function<EpochAction(const EpochStats&)> fn_;
};

enum class Progress {
  Auto,   // a bar when the output is a terminal, lines otherwise
  Bar,    // a progress bar redrawn in place, then a summary line per epoch
  Lines,  // one line per epoch, in the original program's style
  None,
};

struct TrainerOptions {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 128;
  std::uint64_t seed = 1;  // the epochs' shuffles
  Progress progress = Progress::Auto;
  std::ostream* out = nullptr;  // std::cout when null
  std::int64_t eval_batch_size = 1000;
  // Called after each epoch (and its evaluations), e.g. to write a metrics file; returning
  // EpochAction::Stop ends the run after this epoch.
  EpochCallback on_epoch;
  // A validation set held out of the training data by fit() when it is not given one: this fraction
  // of the training examples, drawn from the seed (the same split on every run), evaluated after each
  // epoch and never trained on. 0: none. Not with sharded_data (give each process the validation set).
  double validation_fraction = 0.0;
  // With a validation set: stop when the validation loss has not gone below its lowest for this many
  // epochs (0: never stop early), and at the end of the run put back the parameters of the epoch with
  // the lowest validation loss (restore_best), saying so in the output.
  std::int64_t early_stopping = 0;
  bool restore_best = true;
  // When not empty, fit() writes a checkpoint here (atomically, replacing the last) after every
  // `checkpoint_every` steps counted over the whole run (0: none between epochs) and after each
  // epoch's evaluation, with `checkpoint_metadata` in it. Saving time is left out of the epoch's.
  std::filesystem::path checkpoint;
  std::int64_t checkpoint_every = 0;
  ModelMetadata checkpoint_metadata;
  // Data-parallel training when not null (it must outlive the Trainer): every process runs the same
  // loop over the same shuffled order, takes its contiguous shard of each global batch of
  // `batch_size` examples, and the gradients (weighted by each shard's share of the batch) are summed
  // across the processes before every optimizer step, so all of them take the same step and keep
  // bit-identical parameters. The epoch's loss and accuracy are summed too. Only rank 0 prints
  // progress and writes checkpoints; on_epoch is called on every process.
  ProcessGroup* processes = nullptr;
  // With processes: each process's training data is only its part of the training set, as
  // data::load_mnist's (or read_idx's) IdxPart{rank, size} gives it, rather than all of it. Each
  // process then shuffles its own part every epoch, and global batch position p of an epoch is dealt
  // to process p mod size: a global batch is still batch_size examples, each process reads and
  // holds only its part, and the run repeats bit for bit (but draws other batches than one process).
  bool sharded_data = false;
};

class Trainer {
 public:
  // Throws std::invalid_argument for epochs < 1, batch sizes < 1, checkpoint_every < 0, or
  // checkpoint_every > 0 without a checkpoint file.
  // The network and optimizer are referred to, not copied: they must outlive the Trainer. So is a
  // loss given by name; a temporary one (Trainer t(net, MSE(), opt, o)) is moved into the trainer.
  Trainer(Graph& net, const Loss& loss, Optimizer& optimizer, TrainerOptions options)
      : Trainer(net, nullptr, loss, optimizer, std::move(options)) {}
  template <class L>
  requires(std::is_base_of_v<Loss, std::remove_cvref_t<L>> && !std::is_lvalue_reference_v<L>)
      Trainer(Graph& net, L&& loss, Optimizer& optimizer, TrainerOptions options)
      : Trainer(net, std::make_shared<const std::remove_cvref_t<L>>(std::forward<L>(loss)), optimizer,
                std::move(options)) {}

  // Trains options.epochs epochs over `train` (every example once per epoch, shuffled from the seed,
  // the last smaller batch included), evaluating on `test` (when not null) and on the validation set
  // (`validation`, or the fraction options.validation_fraction holds out of `train`) after each;
  // after resume(), only what the checkpoint's run had left. Stops early as options.early_stopping and
  // on_epoch say. Throws std::invalid_argument when the data does not fit the network or the loss
  // (or, resumed, is not the checkpoint's size), TrainingDiverged on a NaN loss, ModelFileError when a
  // checkpoint cannot be written.
  std::vector<EpochStats> fit(const data::Dataset& train, const data::Dataset* test,
                              const data::Dataset* validation = nullptr);
  // One epoch, numbered from 1; after resume() into this epoch, its remaining steps.
  EpochStats train_epoch(const data::Dataset& train, std::int64_t epoch);

  // Continues a checkpointed run: copies the checkpoint's parameters and layers' random state into the
  // network, its state into the optimizer and its position into this trainer, so that fit() goes on
  // exactly where the checkpoint was taken. Throws std::invalid_argument, naming the difference, when
  // the checkpoint is of another setup: architecture, optimizer (name() with its settings), seed,
  // batch size or epochs.
  void resume(const Checkpoint& checkpoint);
  // Writes a checkpoint of where training stands now (what fit() does at options.checkpoint).
  void save_checkpoint(const std::filesystem::path& file);
  const TrainingProgress& progress() const noexcept { return progress_; }
  // The epoch a finished run (progress().epoch > epochs) ended with: the last one, or the one early
  // stopping stopped at (best epoch + patience). What a run resumed after its end reports, so that
  // it says what the uninterrupted run said.
  std::int64_t final_epoch() const noexcept;

  // The figures of `net` over `data`, in batches (evaluation mode): loss with accuracy and confusion
  // matrix (classes) or RMSE, MAE and R² (values). Throws std::invalid_argument when the data does
  // not fit the network or the loss.
  static Evaluation evaluate(Graph& net, const Loss& loss, const data::Dataset& data, std::int64_t batch_size = 1000);

 private:
  Trainer(Graph& net, std::shared_ptr<const Loss> owned, Optimizer& optimizer, TrainerOptions options)
      : Trainer(net, owned, *owned, optimizer, std::move(options)) {}
  Trainer(Graph& net, std::shared_ptr<const Loss> owned, const Loss& loss, Optimizer& optimizer,
          TrainerOptions options);

  Graph& net_;
  std::shared_ptr<const Loss> owned_loss_;  // a temporary loss the trainer was given, kept alive
  const Loss& loss_;
  Optimizer& optimizer_;
  // Weights this process's gradients by its shard's share of the batch and sums gradients, loss and
  // correct predictions over the processes.
  struct BatchFigures;
  void sum_across_processes(std::int64_t local, std::int64_t n, BatchFigures& figures);
  // The network's buffers (BatchNorm's running statistics) averaged over the processes that had
  // examples this step, in double (exact where they agree, as Standardize's do): every process
  // then holds the same values, which rank 0 saves.
  void average_buffers(std::int64_t local);
  std::vector<double> buffer_sums_;
  // After epoch `epoch`'s validation: whether it is the best so far, and whether to stop.
  bool track_best(EpochStats& stats);
  // Puts back the parameters of the best epoch; returns whether there were any.
  bool restore_best_parameters();
  // The training set's size over all processes, each holding its part (checked).
  std::int64_t sharded_epoch_size(std::int64_t mine);

  TrainerOptions options_;
  TrainingProgress progress_;
  bool resumed_ = false;  // fit() starts at progress_ rather than at epoch 1
};

}  // namespace tessera
