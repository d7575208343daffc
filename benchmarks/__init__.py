"""Speed benchmarks: shenjing against straight NumPy and, when installed, PyTorch.

Run with ``./dev.sh bench`` (one BLAS thread for every library).
"""
