"""What every command-line entry point shares: the process environment (imported
first), the one-line error path, Beam's pipeline options as flags, and the console."""
