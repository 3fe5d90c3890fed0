# Speedup against threads, one chart per group: gnuplot scaling.gp (in this folder).
set datafile separator ','
set terminal pngcairo size 900,600 noenhanced
set key top left
set xlabel 'threads'
set ylabel 'speedup over 1 thread'
set grid
set samples 1000
cores = 2
set output 'scaling-gemm.png'
set title 'Tessera scaling: gemm (2 cores; beyond them, oversubscribed)'
plot [1:] [0:cores * 1.15] x < cores ? x : cores with lines dashtype 2 lc 'gray' title 'ideal', \
  for [b in 'gemm_1024^3 gemm_256^3 784x512_forward_b128 784x512_weights_b128 784x512_inputs_b128 784x512_forward_b256 512x256_forward_b128 784x100_forward_b128'] 'scaling.csv' using (strcol(1) eq b ? $4 : 1/0):6 with linespoints title b
set output 'scaling-inference.png'
set title 'Tessera scaling: inference (2 cores; beyond them, oversubscribed)'
plot [1:] [0:cores * 1.15] x < cores ? x : cores with lines dashtype 2 lc 'gray' title 'ideal', \
  for [b in 'inference_seed_b1000 inference_mlp_b1000 inference_cnn_b1000'] 'scaling.csv' using (strcol(1) eq b ? $4 : 1/0):6 with linespoints title b
set output 'scaling-train.png'
set title 'Tessera scaling: train (2 cores; beyond them, oversubscribed)'
plot [1:] [0:cores * 1.15] x < cores ? x : cores with lines dashtype 2 lc 'gray' title 'ideal', \
  for [b in 'train_seed_b128 train_mlp_b128 train_mlp_b256 train_cnn_b128'] 'scaling.csv' using (strcol(1) eq b ? $4 : 1/0):6 with linespoints title b
