"""The TFX Trainer module: the Behavior Sequence Transformer and its run_fn."""
