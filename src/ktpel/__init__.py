"""ktpel: the KTP-El chain, from a resident's recording at a regency office to the card in their hand."""

import os

# One BLAS thread per process: the fingerprint matcher's small matrix products run 2.5x slower in CPU
# when OpenBLAS spins a thread per core, and servers already run one request per thread. Likewise one
# OpenMP thread for FAISS: a single-probe search over 100,000 faces takes 2.6 ms on one thread and
# 6.4 ms on two (measured on 2 cores). Set before numpy/faiss are first imported; an explicit setting
# in the environment wins (bench/bio_1n.py sets its own thread count).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# A process started by a test or a demo follows its parent's clock (see ktpel.domain.clock).
if os.environ.get("KTPEL_CLOCK_OFFSET_S"):
    from ktpel.domain import clock as _clock

    _clock.shift(seconds=float(os.environ["KTPEL_CLOCK_OFFSET_S"]))
