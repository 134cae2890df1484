"""asyncgen against the reference LoadGen, side by side: ``python -m benchmarks [--quick]``."""
