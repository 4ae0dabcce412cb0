"""scotopt.kernels.pages: blocks with memory maps of their own, and giving free heap pages back."""

import numpy as np

from scotopt.kernels import pages


def test_large_blocks_are_mapped_and_small_ones_are_not():
    big = pages.block(pages.MAPPED_BYTES)
    assert big.nbytes == pages.MAPPED_BYTES and big.flags.writeable
    assert not big.flags.owndata and not isinstance(big.base, np.ndarray)  # a map, not NumPy's heap
    big[:] = 7
    assert int(big.view(np.uint32)[-1]) == 0x07070707
    small = pages.block(100)
    assert small.nbytes == 100 and small.flags.owndata


def test_returning_free_pages_keeps_what_is_in_use():
    kept = np.arange(1000.0)
    for _ in range(3):
        np.empty(1 << 20).fill(1.0)
        pages.return_free_pages()
    assert kept.sum() == 499500.0
