"""Custom TFX components: what TFX 1.16's standard components do not do."""
