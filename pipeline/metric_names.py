"""The names under which the Evaluator records the rating metrics that pipeline.metrics
computes: apart from it, so that a reader of the Evaluator's output (`bin/report --list`)
need not load TFMA."""
MAE = "mean_absolute_error"
MSE = "mean_squared_error"
RMSE = "root_mean_squared_error"
MEAN_LABEL = "mean_label"
MEAN_PREDICTION = "mean_prediction"
EXAMPLE_COUNT = "example_count"  # TFMA's name, which the report and tests read
CALIBRATION_PLOT = "calibration_plot"  # TFMA's name: its writer files it as its own plot
MAE_WITH_NOISE_MARGIN = "mae_with_noise_margin"
