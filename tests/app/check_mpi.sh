#!/usr/bin/env bash
# tessera-mnist train under mpirun: 2 processes learn as 1 does (test accuracy within 2 points), two
# 2-process runs save bit-identical models, and a process that fails stops the job with its error
# instead of leaving the other waiting; a table (TABLE, a regression CSV with target TARGET) the same
# way, R² within 0.1. Usage: check_mpi.sh APP DATA WORK [TABLE TARGET]
set -euo pipefail
app=$1 data=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
run=(train --data "$data" --limit-train 1000 --limit-test 300 --epochs 2 --batch-size 64)

accuracy() { sed -n 's/^Test accuracy \([0-9.]*\)%.*/\1/p' "$1"; }

"$app" "${run[@]}" --threads 1 --save one.tsr >one.log
for i in 1 2; do
  mpirun -np 2 --oversubscribe "$app" "${run[@]}" --save "two-$i.tsr" --metrics "two-$i.jsonl" >"two-$i.log" 2>&1
done
grep -q "in each of 2 processes" two-1.log || { echo "not run across 2 processes:"; cat two-1.log; exit 1; }
cmp two-1.tsr two-2.tsr || { echo "two 2-process runs saved different models"; exit 1; }
[[ $(wc -l <two-1.jsonl) -eq 2 ]] || { echo "the metrics file has not one line per epoch (rank 0 alone writes it)"; exit 1; }
a1=$(accuracy one.log) a2=$(accuracy two-1.log)
echo "test accuracy: 1 process $a1%, 2 processes $a2%"
awk -v a="$a1" -v b="$a2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 2.0) }' ||
  { echo "2 processes reached $a2%, 1 process $a1%: more than 2 points apart"; exit 1; }

# Rank 0 cannot find its data, rank 1 can: the job must end, with rank 0's error, not hang.
status=0
timeout 120 mpirun -np 1 "$app" train --data "$work/nowhere" --epochs 1 : -np 1 "$app" "${run[@]}" \
  >fail.log 2>&1 || status=$?
if [[ $status -eq 0 || $status -eq 124 ]]; then
  echo "a failing process did not stop the job (status $status):"
  cat fail.log
  exit 1
fi
grep -q "rank 0: tessera-mnist: error: .*nowhere" fail.log || { echo "no error line from rank 0:"; cat fail.log; exit 1; }

if [[ $# -ge 5 ]]; then
  table=(train --data "$4" --target "$5" --epochs 100 --batch-size 32)
  r2() { sed -n 's/^Test RMSE .* R² \([-0-9.]*\) .*/\1/p' "$1"; }
  "$app" "${table[@]}" --threads 1 --save table-one.tsr >table-one.log
  for i in 1 2; do
    mpirun -np 2 --oversubscribe "$app" "${table[@]}" --save "table-two-$i.tsr" >"table-two-$i.log" 2>&1
  done
  grep -q "in each of 2 processes" table-two-1.log || { echo "the table was not run across 2 processes:"; cat table-two-1.log; exit 1; }
  cmp table-two-1.tsr table-two-2.tsr || { echo "two 2-process runs on the table saved different models"; exit 1; }
  b1=$(r2 table-one.log) b2=$(r2 table-two-1.log)
  echo "table R²: 1 process $b1, 2 processes $b2"
  awk -v a="$b1" -v b="$b2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 && b > 0.3) }' ||
    { echo "2 processes reached R² $b2, 1 process $b1"; exit 1; }
fi
echo "tessera-mnist under mpirun: learns as one process, repeats bit for bit, stops on a failure"
