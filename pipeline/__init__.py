"""The TFX pipeline definition, the same for every runner."""
