"""A run's results as ML Metadata records them, and the two ways to look at them: the
HTML report and TensorBoard."""
