"""The tf.Transform step: raw CSV features -> fixed-length model inputs (preprocessing_fn)."""
