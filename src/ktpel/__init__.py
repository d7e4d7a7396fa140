"""ktpel: the KTP-El chain, from a resident's recording at a regency office to the card in their hand."""

import os

# One BLAS thread per process: the fingerprint matcher's small matrix products run 2.5x slower in CPU
# when OpenBLAS spins a thread per core, and servers already run one request per thread. Set before
# numpy is first imported; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
