#!/usr/bin/env bash
# A training run killed with SIGKILL at random moments and resumed from its checkpoint each time ends
# bit-identical to a run never interrupted: same saved model file, same per-epoch metrics (times
# aside). Restarts alternate between `--resume FILE` and the first command run again unchanged (a
# preempted job requeued), which continues its own --checkpoint. Usage:
#   kill_and_resume.sh APP DATA WORK [MODEL [EXAMPLES]]   DATA an IDX folder; EXAMPLES trained on
#                                                           per epoch (1000; fewer for a costly model)
#   kill_and_resume.sh APP TABLE.csv WORK TARGET   a regression table, with validation and early stopping
set -euo pipefail
app=$1 data=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"

if [[ -f $data ]]; then
  settings=(--target "${4:?the target column}" --epochs 150 --batch-size 8 --validation 0.2 --early-stopping 40)
  common=(--data "$data" --threads 2)
else
  settings=(--model "${4:-mlp}" --epochs 3 --batch-size 50 --limit-train "${5:-1000}")
  common=(--data "$data" --limit-test 200 --threads 2)
fi
"$app" train "${settings[@]}" "${common[@]}" --save reference.tsr --metrics reference.jsonl >reference.log

start_run() {
  if [[ -f run.tck ]] && ((resumes % 2 == 0)); then
    "$app" train --resume run.tck "${common[@]}" --save resumed.tsr --metrics resumed.jsonl >>run.log 2>&1 &
    resumes=$((resumes + 1))
  else
    [[ -f run.tck ]] && resumes=$((resumes + 1))
    "$app" train "${settings[@]}" "${common[@]}" --checkpoint run.tck --checkpoint-every 1 \
      --save resumed.tsr --metrics resumed.jsonl >>run.log 2>&1 &
  fi
  pid=$!
}

RANDOM=${KILL_SEED:-$$}
kills=0 resumes=0 attempts=0
# The kills fall within `window` ms of a start; while none has come after the first checkpoint (a
# slow machine, a sanitizer build under load), the window doubles, so the test still tests something.
window=1000
start_run
while true; do
  attempts=$((attempts + 1))
  # A random moment: in the start-up, a step, a checkpoint write, an evaluation, the final save.
  delay=$(((RANDOM * 32768 + RANDOM) % window))
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    echo "killed attempt $attempts (checkpoint: $([[ -f run.tck ]] && echo yes || echo none yet))"
    if [[ ! -f run.tck ]] && ((window < 16000)); then window=$((window * 2)); fi
    if [[ -f run.tck && ! -f mid.tck ]]; then
      # Kept for the replay below: a checkpoint and the metrics a killed run left beside it.
      cp run.tck mid.tck
      cp resumed.jsonl mid.jsonl 2>/dev/null || : >mid.jsonl
    fi
    if ((attempts >= 40)); then
      # Enough kills: let the last one finish.
      start_run
      wait "$pid"
      break
    fi
    start_run
  else
    wait "$pid" || { echo "the run failed:"; cat run.log; exit 1; }
    if ((resumes < 1 && attempts < 40)); then
      # Finished before any kill after a checkpoint (a fast machine: the resnet sample trains in
      # about a second): start over from nothing, with kills sooner.
      echo "attempt $attempts: the run finished before a resume; starting over"
      rm -f run.tck resumed.tsr resumed.jsonl mid.tck mid.jsonl
      window=$((window > 200 ? window / 2 : 100))
      start_run
      continue
    fi
    break
  fi
done
echo "$kills kills, $resumes resumes"
if ((kills < 1 || resumes < 1)); then
  echo "the run was never killed after a checkpoint; nothing was tested"
  exit 1
fi

cmp reference.tsr resumed.tsr || { echo "the resumed run's model differs from the uninterrupted run's"; exit 1; }
strip_times() { sed -E 's/, "seconds": [^,]*, "examples_per_second": [^,]*//' "$1"; }
if ! diff <(strip_times reference.jsonl) <(strip_times resumed.jsonl); then
  echo "the resumed run's metrics differ from the uninterrupted run's; where each start began:"
  grep -E "^(Resuming|Continuing|Training)" run.log || true
  exit 1
fi
# Replayed from a kept checkpoint with the worst a killed run can leave: a metrics line of an epoch
# past the checkpoint and a stale temporary of an interrupted resume. Only the earlier epochs' lines
# may be kept, and the temporary must not survive.
cp mid.jsonl replay.jsonl
echo '{"epoch": 99, "left by": "a killed run"}' >>replay.jsonl
echo 'stale' >replay.jsonl.resuming
"$app" train --resume mid.tck "${common[@]}" --save replay.tsr --metrics replay.jsonl >replay.log 2>&1 ||
  { echo "the replay failed:"; cat replay.log; exit 1; }
cmp reference.tsr replay.tsr || { echo "the replayed run's model differs from the uninterrupted run's"; exit 1; }
if ! diff <(strip_times reference.jsonl) <(strip_times replay.jsonl); then
  echo "the replayed run's metrics differ from the uninterrupted run's"
  exit 1
fi
[[ ! -e replay.jsonl.resuming ]] || { echo "the metrics file's temporary was left behind"; exit 1; }
# Killed after its last checkpoint but before its model was saved: resumed, the finished run saves
# the same model (metadata included: the epoch it ended with, early stopping's when it stopped early).
"$app" train --resume run.tck "${common[@]}" --save finished.tsr >finished.log 2>&1 ||
  { echo "resuming the finished run failed:"; cat finished.log; exit 1; }
cmp reference.tsr finished.tsr || { echo "the finished run, resumed, saved another model than the uninterrupted run"; exit 1; }
echo "kill and resume: the model and metrics are bit-identical to an uninterrupted run's"
