"""Runnable examples; ``python -m examples.digits_demo`` is what ``make demo`` runs."""
