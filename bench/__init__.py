"""Benchmarks (``make bench``). Not tests: they print their figures and save them in
``bench/results/``. Each module exposes ``main(argv) -> int``; ``python -m bench`` runs them all."""
