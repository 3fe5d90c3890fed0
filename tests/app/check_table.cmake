# Runs `tessera` on the committed CSV tables as a user would: a classification and a regression run
# (stated held-out figures, metrics keys, a saved model), eval and predict from the saved model
# (class names, a predictions file), early stopping, and bad tables and options, each one error line
# naming the file (and line and column) and exit status 2.
# Called by CTest with -DAPP=<tessera> -DCSV=<tests/data/csv> -DWORK=<scratch folder>.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

set(PROGRAM tessera)
include(${CMAKE_CURRENT_LIST_DIR}/run_app.cmake)

# Classification: iris, 80/20, the defaults but for the epochs; 93.33% here (seed 1).
run(0 "classification of 'species' into 3 classes \\(sorted: setosa, versicolor, virginica\\).*Test accuracy 9[3-9]\\.[0-9]+%"
    train --data "${CSV}/iris.csv" --target species --epochs 200 --save "${WORK}/iris.tsr" --metrics "${WORK}/iris.jsonl")
file(STRINGS "${WORK}/iris.jsonl" lines)
list(LENGTH lines epochs)
list(GET lines -1 last)
if(NOT epochs EQUAL 200 OR NOT last MATCHES "\"train_accuracy\": .*\"test_loss\": .*\"test_accuracy\": 0\\.9[3-9]")
  message(FATAL_ERROR "iris metrics: ${epochs} lines, the last: ${last}")
endif()
run(0 "iris.csv: 150 rows, loss .*accuracy 9[0-9]\\.[0-9]+%.*setosa +versicolor +virginica" eval --load "${WORK}/iris.tsr"
    --data "${CSV}/iris.csv")
# Rows to predict on, without the target column and with the features in another order.
file(WRITE "${WORK}/rows.csv" "petal_width,petal_length,sepal_width,sepal_length\n0.2,1.4,3.5,5.1\n2.3,5.4,3.0,6.2\n")
run(0 "^species,p_setosa,p_versicolor,p_virginica\nsetosa,0\\.9[0-9]+,[^\n]+\nvirginica," predict --load "${WORK}/iris.tsr"
    --data "${WORK}/rows.csv")
run(0 "Wrote 2 predictions to" predict --load "${WORK}/iris.tsr" --data "${WORK}/rows.csv" --output "${WORK}/p.csv")
file(READ "${WORK}/p.csv" predictions)
if(NOT predictions MATCHES "^species,p_setosa,p_versicolor,p_virginica\nsetosa,")
  message(FATAL_ERROR "the predictions file: ${predictions}")
endif()

# Regression: diabetes, R² >= 0.40 held out (0.54 here), the regression keys in the metrics.
run(0 "regression of progression.*Test RMSE [0-9.]+, MAE [0-9.]+, R² 0\\.[4-9]" train --data "${CSV}/diabetes.csv"
    --target progression --epochs 200 --save "${WORK}/diabetes.tsr" --metrics "${WORK}/diabetes.jsonl")
file(STRINGS "${WORK}/diabetes.jsonl" lines)
list(GET lines -1 last)
if(NOT last MATCHES "\"train_rmse\": .*\"test_loss\": .*\"test_rmse\": .*\"test_mae\": .*\"test_r2\": 0\\.[4-9]")
  message(FATAL_ERROR "diabetes metrics: ${last}")
endif()
run(0 "diabetes.csv: 442 rows, loss .*RMSE [0-9.]+, MAE [0-9.]+, R² 0\\.[4-9]" eval --load "${WORK}/diabetes.tsr"
    --data "${CSV}/diabetes.csv")
run(0 "^progression\n[0-9.]+\n" predict --load "${WORK}/diabetes.tsr" --data "${CSV}/diabetes.csv")

# Validation and early stopping: the best epoch's parameters are kept and said so.
run(0 "ValidationLoss=.*Stopped early after epoch [0-9]+: restored the parameters of epoch [0-9]+.*\\(the parameters of epoch"
    train --data "${CSV}/breast_cancer.csv" --target diagnosis --epochs 300 --lr 0.02 --weight-decay 0 --validation 0.2
    --early-stopping 5)
run(0 "Test accuracy" train --data "${CSV}/breast_cancer.csv" --target diagnosis --epochs 3 --loss cross_entropy
    --hidden 16 --optimizer momentum --lr 0.01 --test "${CSV}/breast_cancer.csv")

# Bad tables and options.
file(WRITE "${WORK}/ragged.csv" "a,b,y\n1,2,x\n3,4\n")
run(2 "ragged.csv: line 3 has 2 fields, the header has 3" train --data "${WORK}/ragged.csv" --target y)
file(WRITE "${WORK}/nan.csv" "a,b,y\n1,2,x\n3,NaN,z\n")
run(2 "nan.csv: line 3, column 2 \\('b'\\): 'NaN' is not finite" train --data "${WORK}/nan.csv" --target y)
file(WRITE "${WORK}/empty.csv" "")
run(2 "empty.csv: the file is empty" train --data "${WORK}/empty.csv")
file(WRITE "${WORK}/header.csv" "a,b,y\n")
run(2 "header.csv: the file has a header but no rows" train --data "${WORK}/header.csv")
run(2 "iris.csv: no target column 'price' \\(the columns: sepal_length, sepal_width, petal_length, petal_width, species\\)"
    train --data "${CSV}/iris.csv" --target price)
run(2 "--model cnn takes images; a table \\(CSV\\) trains the mlp model" train --data "${CSV}/iris.csv" --model cnn)
run(2 "--early-stopping needs a validation set" train --data "${CSV}/iris.csv" --early-stopping 3)
run(2 "give --test FILE or --test-fraction F, not both" train --data "${CSV}/iris.csv" --test "${CSV}/iris.csv"
    --test-fraction 0.1)
run(2 "the loss L1 does not take targets that are classes" train --data "${CSV}/iris.csv" --loss l1 --epochs 1)
run(2 "the hidden widths '64,x' are not a list" train --data "${CSV}/iris.csv" --hidden 64,x)
run(2 "iris.tsr was trained on a table: give its test rows with --data FILE.csv" eval --load "${WORK}/iris.tsr"
    --data "${WORK}")
run(2 "rows.csv: no target column 'species'" eval --load "${WORK}/iris.tsr" --data "${WORK}/rows.csv")
file(WRITE "${WORK}/other.csv" "sepal_length,sepal_width,petal_length,petal_width,species\n5,3,1,0.2,daisy\n")
run(2 "other.csv: line 2, column 5 \\('species'\\): the label 'daisy' is not one of the known classes" eval
    --load "${WORK}/iris.tsr" --data "${WORK}/other.csv")
file(WRITE "${WORK}/missing.csv" "sepal_length,petal_length,petal_width\n5,1,0.2\n")
run(2 "missing.csv: no feature column 'sepal_width'" predict --load "${WORK}/iris.tsr" --data "${WORK}/missing.csv")
message(STATUS "tessera trains tables")
