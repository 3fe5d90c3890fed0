# Runs tessera-mnist as a user would, on the committed sample: train (with metrics and a saved
# model), eval, predict, --help, and bad inputs, each of which must give one clear error line and exit
# status 2. Called by CTest with -DAPP=<tessera-mnist> -DDATA=<sample folder> -DWORK=<scratch folder>.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

set(PROGRAM tessera-mnist)
include(${CMAKE_CURRENT_LIST_DIR}/run_app.cmake)

run(0 "Test accuracy [0-9.]+%" train --data "${DATA}" --epochs 2 --threads 2 --metrics "${WORK}/metrics.jsonl"
    --save "${WORK}/model.tsr" --profile)
file(STRINGS "${WORK}/metrics.jsonl" metrics)
list(LENGTH metrics epochs)
if(NOT epochs EQUAL 2)
  message(FATAL_ERROR "metrics file: ${epochs} lines, expected 2")
endif()
foreach(key epoch examples train_loss test_loss test_accuracy seconds examples_per_second threads)
  if(NOT metrics MATCHES "\"${key}\": ")
    message(FATAL_ERROR "metrics file lacks \"${key}\":\n${metrics}")
  endif()
endforeach()
list(GET metrics 1 second)
if(NOT second MATCHES "\"epoch\": 2, \"examples\": 3000, .*\"threads\": 2}")
  message(FATAL_ERROR "metrics file's second line is not epoch 2 of 3000 examples on 2 threads:\n${second}")
endif()

run(0 "accuracy [0-9.]+%.*Confusion matrix" eval --load "${WORK}/model.tsr" --data "${DATA}")
run(0 "Test image 0: label 7, predicted [0-9].*Probabilities:" predict --load "${WORK}/model.tsr" --index 0 --data "${DATA}")
run(0 "Model seed: Dense.784, 100., Sigmoid" train --model seed --epochs 1 --data "${DATA}" --limit-train 500 --limit-test 100)
run(0 "Model cnn: Conv2D.1, 32, kernel 5.*Conv2D.*MaxPool2D.*Test accuracy [0-9.]+%.*Profile.*Conv2D" train --model cnn
    --epochs 1 --data "${DATA}" --limit-train 1000 --limit-test 200 --save "${WORK}/cnn.tsr" --profile)
run(0 "accuracy [0-9.]+%.*Confusion matrix" eval --load "${WORK}/cnn.tsr" --data "${DATA}")
run(0 "Test image 3: label 0, predicted [0-9].*Probabilities:" predict --load "${WORK}/cnn.tsr" --index 3 --data "${DATA}")
# The resnet preset (a graph with batch norm), its description, and a description file trained as is.
run(0 "Model resnet: Conv2D.1, 16, kernel 3.*BatchNorm.*Add.*Test accuracy [0-9.]+%.*Profile.*Add" train --model resnet
    --epochs 1 --data "${DATA}" --limit-train 256 --limit-test 100 --batch-size 64 --save "${WORK}/resnet.tsr" --profile)
run(0 "accuracy [0-9.]+%.*Confusion matrix" eval --load "${WORK}/resnet.tsr" --data "${DATA}")
run(0 "\"name\": \"resnet\".*\"type\":\"Add\",\"inputs\":\\[\"stage1.bn2\",\"stem.relu\"\\]" describe --model resnet)
file(WRITE "${WORK}/resnet.json" "${last_output}")
# The committed description the library's tests train (tests/scaling) is the preset.
file(READ "${RESNET_JSON}" committed)
if(NOT committed STREQUAL last_output)
  message(FATAL_ERROR "tests/data/models/resnet.json is not what describe --model resnet prints: regenerate it")
endif()
run(0 "\"name\": \"resnet\"" describe --model "${WORK}/resnet.json")
string(REPLACE "\"epochs\":5" "\"epochs\":1" small "${last_output}")
file(WRITE "${WORK}/small.json" "${small}")
run(0 "Model ${WORK}/small.json: Conv2D.1, 16.*Training 1 epochs.*Test accuracy [0-9.]+%" train
    --model "${WORK}/small.json" --data "${DATA}" --limit-train 128 --limit-test 50 --batch-size 64)
file(WRITE "${WORK}/bad.json" "{\"inputs\": [{\"shape\": [28, 28, 1]}],\n \"layers\": [{\"type\": \"Conv2D\", \"kernel\": 3}]}")
run(2 "bad.json: layer 0 .Conv2D.: needs the option 'out_channels'" train --model "${WORK}/bad.json" --data "${DATA}")
run(2 "bad.json: layer 0 .Conv2D.: needs the option 'out_channels'" describe --model "${WORK}/bad.json")
run(2 "'cnn2' is no preset" describe --model cnn2)
foreach(sub train eval predict describe)
  run(0 "Usage" ${sub} --help)
endforeach()

# Bad input: one error line, exit status 2.
run(2 "no such folder" train --data "${WORK}/nowhere" --epochs 1)
run(2 "--epochs: Value 0 not in range" train --data "${DATA}" --epochs 0)
run(2 "--lr" train --data "${DATA}" --lr -1)
run(2 "--model" train --data "${DATA}" --model resnet50)
file(WRITE "${WORK}/garbage.tsr" "this is not a model")
run(2 "garbage.tsr: not a Tessera model file" eval --load "${WORK}/garbage.tsr" --data "${DATA}")
run(2 "takes 4 inputs and scores 2 classes, but the data has 784 pixels" eval --load "${MODEL_V1}" --data "${DATA}")
run(2 "takes images of 6×6 pixels, but the data's are 28×28" eval --load "${MODEL_V2}" --data "${DATA}")
run(2 "--index 500 is outside the test set" predict --load "${WORK}/model.tsr" --index 500 --data "${DATA}")
run(2 "cannot save: the folder" train --data "${DATA}" --epochs 1 --limit-train 200 --save "${WORK}/none/m.tsr")
run(2 "--checkpoint-every needs --checkpoint FILE" train --data "${DATA}" --epochs 1 --checkpoint-every 5)
run(2 "cannot save: the folder" train --data "${DATA}" --epochs 1 --limit-train 200 --checkpoint "${WORK}/none/c.tck")
run(2 "model.tsr: not a Tessera checkpoint" train --data "${DATA}" --resume "${WORK}/model.tsr")
run(0 "Checkpoints to .*c.tck after each epoch and every 3 steps" train --data "${DATA}" --epochs 1 --limit-train 200
    --limit-test 50 --batch-size 50 --checkpoint "${WORK}/c.tck" --checkpoint-every 3)
run(2 "c.tck: the checkpoint's run has other settings than given: --epochs 1 in the checkpoint, 2 here; --lr 0.001 in the checkpoint, 0.1 here"
    train --data "${DATA}" --resume "${WORK}/c.tck" --epochs 2 --lr 0.1)
file(SHA256 "${WORK}/c.tck" before)
# Run again onto the same checkpoint: the same settings continue it; others are refused, the file kept.
run(0 "Continuing the run in .*c.tck: its run of 1 epochs is complete.*Test accuracy" train --data "${DATA}"
    --epochs 1 --limit-train 200 --limit-test 50 --batch-size 50 --checkpoint "${WORK}/c.tck")
run(2 "c.tck holds a run with other settings: --batch-size 50 in the checkpoint, 128 here; it is left as it is"
    train --data "${DATA}" --epochs 1 --limit-train 200 --limit-test 50 --checkpoint "${WORK}/c.tck")
run(2 "garbage.tsr: not a Tessera checkpoint.*the file is left as it is" train --data "${DATA}" --epochs 1
    --checkpoint "${WORK}/garbage.tsr")
file(SHA256 "${WORK}/c.tck" after)
if(NOT before STREQUAL after)
  message(FATAL_ERROR "a refused run changed the checkpoint it was refused")
endif()
run(0 "Resuming from .*c.tck: its run of 1 epochs is complete" train --data "${DATA}" --limit-test 50
    --resume "${WORK}/c.tck" --epochs 1 --batch-size 50)
run(0 "Resuming from .*c.tck: its run of 1 epochs is complete.*Test accuracy" train --data "${DATA}" --limit-test 50
    --resume "${WORK}/c.tck")
set(APP_SAVED "${APP}")
set(APP "${CMAKE_COMMAND}")
run(2 "TESSERA_NUM_THREADS must be a whole number" -E env TESSERA_NUM_THREADS=lots "${APP_SAVED}" eval --load "${WORK}/model.tsr"
    --data "${DATA}")
# The thread count is what was asked: more than the cores (oversubscribed) too, and
# TESSERA_NUM_THREADS as the default; the output and the metrics file say it.
run(0 ", 3 threads .*Test accuracy" -E env TESSERA_NUM_THREADS=1 "${APP_SAVED}" train --data "${DATA}" --epochs 1
    --limit-train 500 --limit-test 100 --threads 3 --metrics "${WORK}/threads3.jsonl")
file(READ "${WORK}/threads3.jsonl" threads3)
if(NOT threads3 MATCHES "\"threads\": 3}")
  message(FATAL_ERROR "metrics of a --threads 3 run do not record 3 threads:\n${threads3}")
endif()
run(0 ", 1 thread .*Test accuracy" -E env TESSERA_NUM_THREADS=1 "${APP_SAVED}" train --data "${DATA}" --epochs 1
    --limit-train 500 --limit-test 100)
set(APP "${APP_SAVED}")
message(STATUS "tessera-mnist behaves")
