"""rnntui: step through a recurrent neural network in the terminal."""

import os

__version__ = "0.1.0"

# The app's matrices are small (a few hundred rows at most) and its work runs in a thread beside
# the UI: one BLAS thread is faster here than several fighting over two cores (a 1000x64 SVD took
# 0.2-0.9 s with OpenBLAS's own threads on a shared machine, 6 ms with one). Set before NumPy
# loads; a value the user set wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
