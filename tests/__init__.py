"""bst-movielens tests: real Beam, real TFX, small generated data."""
