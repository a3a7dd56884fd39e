"""The `spy-platform` command (spy_platform.cli) and its subcommands.

numpy's OpenBLAS starts a worker thread per core when numpy is imported, which costs ~60 ms of
every start on two cores (`import numpy`: 0.13 s with them, 0.07 s without) and CPU time that
competes with the process itself on a busy machine. Nothing here multiplies matrices big enough
for threads to help (the kernels are C loops over slices of a few hundred quotes), so the
command runs OpenBLAS single-threaded. Set here, before any submodule imports numpy;
OPENBLAS_NUM_THREADS set by the caller wins.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
