"""An arc order with memory locality for the incidence products of large networks.

One PDHG iteration on a network reads, for every arc a, the node entries of tail(a) and
head(a) and adds into both (``scotopt/kernels/network_fused.py``). With the arcs in the order
NETGEN writes them (grouped by tail, heads uniformly random), the tail entries stream but every
head is a random access into a node table; once that table outgrows the caches (1.25 M nodes,
10^7 arcs: 10 MB of float32 pairs) each arc costs a cache line read and written back (128 B)
on top of its ~32 streamed bytes, and the loop waits on memory latency.

The *blocked* order used here cuts the nodes into blocks of ``block_nodes`` consecutive ids
and sorts the arcs by (block of the tail, head), stably (ties keep the input order), within each
of G head groups, one per thread of the arc loop ("Head groups" below):

- within a block the tails fall in ``block_nodes`` consecutive nodes, a node-table slice that
  stays in the cache (8 B per node in float32);
- within a block the heads ascend, so the head entries are read as one forward sweep over the
  node table that the hardware prefetcher follows, each line fetched once per block for all of
  the block's arcs into it.

Per block the head side then moves about ``min(arcs in block, lines in the table)`` lines
instead of one per arc. With ``B`` nodes per block and E / V arcs per node, a block holds
``E B / V`` arcs against ``V / 8`` lines of float32 pairs (8 per 64 B line); the head traffic
stays within the arcs' own streamed bytes (32 B per arc, a quarter of the 128 B a line read and
written back costs) once ``E B / V >= 4 V / 8``, i.e. ``B >= V^2 / (2 E)``:
:func:`default_block_nodes` takes that, within [2^13, 2^19] nodes (a tail slice of 64 KB to
4 MB: L2 to L3, the tails being prefetched like the heads). Measured on the 2-core VM, two
threads (bench/README.md, "Blocked arc order"): at 10^7 NETGEN arcs 24-27 ms per iteration for
blocks of 2^15 to 2^18 nodes against 31-34 ms in the input order; at 10^8 blocks of 2^18, 2^19
and 2^20 nodes took 468, 405 and 561 ms against 790 ms in the input order (blocks of 2^15, before
tails were prefetched: 840 ms), which is why the rule grows the block with V^2 / E rather than
fixing it at L2, and stops at 2^19.

Tables in L3. The rule above assumes each head sweep comes from memory. Where the node-table
rows the threads reach at random fit in the L3 (``threads x V x 8 / G`` bytes with G head
groups, below; :mod:`scotopt.kernels.caches`), the sweeps come from L3 instead, and a tail slice
as large as the L2 (the rule's 234 375 nodes at 3 x 10^7 arcs: 1.9 MB) competes with them for
it. Then the block is at most ``L2 / 32`` nodes, a tail slice of a quarter of the L2 (2^16 nodes
with 2 MB of L2). Measured inside whole solves on a 2-core Intel Xeon VM (2 MB L2 per core, 260
MB L3; NETGEN, float32, two threads, sizes alternating in one process,
``bench/network_block_solve_ab.py``, bench/README.md session 32): at 3 x 10^7 arcs the arc loop
took 201 ms (median over 4 solves' steps) with the rule's blocks, 133 ms with blocks of 2^16
nodes and 122 ms with 2^15, and a solve's time per iteration was 261 / 190 / 188 ms; at 10^7
blocks of 2^15 were 10 % slower than the rule's 78 125 nodes, and at 10^8 blocks of 2^15 and
2^19 ran alike (688 / 696 ms).
On the AMD VM of the measurements above (32 MB L3) the tables outgrow the L3 from 3 x 10^7 arcs
on, and the rule is unchanged there.

Head groups. The arc loop runs as P contiguous arc chunks, one per thread, each with a node
table of its own (``network_fused``). With the arcs sorted by (tail block, head) alone, chunk p
holds the tail blocks of its 1/P of the nodes but heads anywhere, so each thread reaches its
whole table at random and the P threads together ``P x V x 8`` bytes. The order therefore first
cuts the arcs, ranked by head, into G groups where the arc loop cuts its chunks (E g // G), and
sorts each group by (tail block, head): with G = P (:func:`default_head_groups`) thread p's heads
lie in its 1/P of the nodes, so the threads reach ``V x 8`` bytes at random in all, what one
thread did, while each sweeps its table's tail rows once more (8 B per node read and written
back: 2 x 100 MB per step at 10^8 arcs, some 10 ms). Measured inside whole solves on the Xeon VM
(NETGEN 10^8 arcs, float32, two threads, blocks of 2^16 nodes, 4 rounds of 64-iteration solves
alternating in one process; bench/README.md session 33): a step took 638 ms (median) in two
groups against 841 ms in one, a solve's time per iteration 766 against 1054 ms; four and eight
groups ran like two (673 / 627 against 625 ms, three rounds); at 3 x 10^7 arcs, where the tables
fit in the L3 either way, steps were alike (152 / 153 ms). A node's arcs may fall in two
groups (the cut is by arc count); that, a thread count that differs from G, or screening that
drops arcs only moves work between the tables, never changes the sums.

This is the classical cache-blocking of sparse matrix-vector products (row/column blocks of
the matrix sized to the cache; e.g. Im, Yelick & Vuduc, "Sparsity", IJHPCA 2004) applied to the
incidence matrix's columns. The sort is two stable counting-sort passes (by head, then by
(head group, tail block): an LSD radix sort on the key (group, block, head)), O(E + V + G V / B)
time and two index vectors of memory (numba when installed, else NumPy's stable ``lexsort``).

The *tiled* order (:func:`tiled_order`) sorts the arcs by (tail // T, head), stably, so by
(tail // T, head // T) with the heads ascending in each tile, with tiles of T =
:func:`default_tile_nodes` nodes a side (a quarter of the L2 in node pairs: 2^16 nodes with 2 MB
of L2). The heads ascend so that the kernels that gather node values at the arcs' ends in
setup, evaluations and the final check read them as a forward sweep (with the heads in input
order, random within each tile, a solve's setup at 3 x 10^7 arcs took 3.5 s against 2.2-2.9 s).
It serves the propagation-blocked step of ``network_fused`` (Beamer,
Asanovic & Patterson, "Reducing PageRank communication via propagation blocking", IPDPS 2017):
an arc pass over the tail blocks that reads each head's node value from an arc vector instead of
the node table, and a head pass over the head blocks that adds the arcs' flows into their heads
and runs the node loop block by block. Every node access then falls in a block the L2 holds,
at the price of that arc vector (4 B per arc, ~12-16 B per arc of traffic). "auto" picks it from
:data:`TILED_MIN_NODES` nodes on: on the Xeon VM an iteration at 10^8 NETGEN arcs (12.5 M nodes)
took 20-28 % less time than in the blocked order with head groups, at 5 x 10^7 (6.25 M nodes)
24 % less, at 3 x 10^7 (3.75 M nodes) about the same and at 10^7 14 % more
(``bench/arc_loop_propagation.py``, bench/README.md session 34).

**On a GPU the tiled order is the slowest.** JAX's iteration on an H100 at 10^8 NETGEN arcs
took 8.75 ms in the tiled order, 7.75-7.95 ms in the given one and 2.20-4.40 ms in the blocked
one (1.04-2.09x its memory-traffic bound; bench/README.md, GPU section, session 35). A likely
reason, not profiled: the GPU's scatter into the heads has no per-thread tables to keep in
cache, and a tile's heads, ascending over all V nodes, reach a new 32-byte sector of the node
vector at nearly every arc. So "auto" tiles only where no GPU backend is usable
(:func:`scotopt.kernels.gpu_available`, asked only for networks that large), and blocks where
one is.
"""

from __future__ import annotations

import numpy as np

from scotopt.kernels.caches import CacheSizes, cache_sizes
from scotopt.status import InvalidProblemError

MIN_BLOCK_NODES = 1 << 13  # a tail slice of 64 KB in float32 node pairs: well within L2
MAX_BLOCK_NODES = 1 << 19  # a 4 MB tail slice: L3 (the arc loop prefetches tails too)
TABLE_BYTES_PER_NODE = 8  # a float32 (s, t) pair per node in each thread's table
L2_SLICE_SHARE = 4  # with the tables in L3, a tail slice takes at most a quarter of the L2
AUTO_MIN_NODES = 1 << 18  # "auto" reorders from here: a 2 MB node table no longer stays in L2

ARC_ORDERS = ("auto", "given", "blocked", "tiled")
TILED_MIN_NODES = 1 << 22  # "auto" tiles from here (module docstring): 32 MB of node pairs
MIN_TILE_NODES, MAX_TILE_NODES = 1 << 12, 1 << 18


def default_head_groups(num_arcs: int) -> int:
    """Head groups of the blocked order (module docstring, "Head groups"): one per thread of the
    arc loop over ``num_arcs`` arcs (``network_fused.parallel_chunks``: 1 without numba or below
    its parallel threshold)."""
    from scotopt.kernels.network_fused import parallel_chunks

    return parallel_chunks(num_arcs)


def default_block_nodes(num_nodes: int, num_arcs: int, caches: CacheSizes | None = None,
                        threads: int | None = None, head_groups: int | None = None) -> int:
    """Nodes per tail block: ``V^2 / (2 E)`` (module docstring) within [2^13, 2^19]; where the
    node-table rows that the ``threads`` reach at random fit in the L3 of ``caches``, at most
    ``L2 / 32`` nodes, a tail slice of a quarter of the L2 (module docstring, "Tables in L3").
    Each thread has a table of its own (8 B per node) and, with ``head_groups`` G >= threads,
    reaches a 1/G of it at random at a time: ``threads x V x 8 / G`` bytes.
    ``caches``: this machine's (:func:`scotopt.kernels.caches.cache_sizes`) by default;
    ``threads``: by default the arc loop's over ``num_arcs`` arcs
    (``network_fused.parallel_chunks``: 1 without numba); ``head_groups``: by default
    :func:`default_head_groups`."""
    wanted = num_nodes * num_nodes // max(2 * num_arcs, 1)
    caches = cache_sizes() if caches is None else caches
    if threads is None:
        from scotopt.kernels.network_fused import parallel_chunks

        threads = parallel_chunks(num_arcs)
    groups = default_head_groups(num_arcs) if head_groups is None else head_groups
    random_rows = max(threads, 1) * num_nodes * TABLE_BYTES_PER_NODE // max(groups, 1)
    if caches.l2 and caches.l3 and random_rows <= caches.l3:
        wanted = min(wanted, caches.l2 // (L2_SLICE_SHARE * TABLE_BYTES_PER_NODE))
    return int(min(max(wanted, MIN_BLOCK_NODES), MAX_BLOCK_NODES))


def default_tile_nodes(caches: CacheSizes | None = None) -> int:
    """Nodes per side of a tile of the tiled order: the largest power of two whose node pairs
    (8 B each) take at most a quarter of the L2 of ``caches`` (this machine's by default), within
    [2^12, 2^18]; 2^16 where the L2 size is unknown."""
    caches = cache_sizes() if caches is None else caches
    if not caches.l2:
        return 1 << 16
    nodes = max(caches.l2 // (L2_SLICE_SHARE * TABLE_BYTES_PER_NODE), 1)
    return int(min(max(1 << (int(nodes).bit_length() - 1), MIN_TILE_NODES), MAX_TILE_NODES))


def chosen_order(arc_order: str, num_nodes: int, tail=None, head=None, block_nodes: int | None = None,
                 gpu: bool | None = None) -> str:
    """The order ("given", "blocked" or "tiled") that ``arc_order`` ("auto" or one of those)
    gives a network of ``num_nodes`` nodes: "auto" keeps the given order below
    :data:`AUTO_MIN_NODES` nodes (the node table fits in L2) or where the arcs (``tail``,
    ``head``, when given) are local already (:func:`is_local`), tiles from
    :data:`TILED_MIN_NODES` nodes on unless ``gpu`` (the model will be solved on a GPU; None:
    whether a GPU backend is usable here, :func:`scotopt.kernels.gpu_available`), and blocks
    otherwise (module docstring, "On a GPU")."""
    if arc_order not in ARC_ORDERS:
        raise InvalidProblemError(f"arc_order must be one of {', '.join(ARC_ORDERS)}, got {arc_order!r}")
    if arc_order != "auto":
        return arc_order
    if num_nodes < AUTO_MIN_NODES:
        return "given"
    if tail is not None and head is not None and is_local(tail, head, num_nodes, block_nodes):
        return "given"
    if num_nodes < TILED_MIN_NODES:
        return "blocked"
    if gpu is None:
        from scotopt.kernels import gpu_available

        gpu = gpu_available() is not None
    return "blocked" if gpu else "tiled"


LOCAL_SAMPLE = 1 << 16  # arcs that is_local looks at, evenly spaced
LOCAL_TAIL_STEP = 64  # nodes between consecutive tails that still count as a sweep (4-8 cache lines)


def is_local(tail, head, num_nodes: int, block_nodes: int | None = None) -> bool:
    """Whether the arcs, in the order given, already touch the node table as the blocked order
    would: for 90 % of a sample of arcs, the next arc's tail lies within
    :data:`LOCAL_TAIL_STEP` nodes of this one's (the tails sweep the table) and the head within
    half a block of the tail (the heads follow the sweep in a window the cache holds).

    A grid written row by row (``generators.grid_arcs``) is local; arcs sorted by tail with
    random heads (NETGEN) or in random order are not. On an 8-neighbour grid of 10^8 arcs the
    given order took 210 / 256 ms per iteration against 226 / 316 ms blocked (bench/README.md,
    session 22), and keeping it spares the 4 B/arc permutation."""
    tail, head = np.asarray(tail), np.asarray(head)
    E = tail.shape[0]
    if E < 2:
        return True
    if block_nodes is None:
        block_nodes = default_block_nodes(num_nodes, E)
    k = np.unique(np.linspace(0, E - 2, min(LOCAL_SAMPLE, E - 1)).astype(np.int64))
    t = tail[k].astype(np.int64)
    tail_step = np.abs(tail[k + 1].astype(np.int64) - t)
    head_reach = np.abs(head[k].astype(np.int64) - t)
    return bool(np.quantile(tail_step, 0.9) <= LOCAL_TAIL_STEP and np.quantile(head_reach, 0.9) <= block_nodes / 2)


def blocked_order(tail, head, num_nodes: int, block_nodes: int | None = None,
                  head_groups: int | None = None) -> np.ndarray:
    """The permutation ``p`` (int32 below 2^31 arcs, else int64) that sorts the arcs by
    (head group, tail // block_nodes, head), stably: arc k of the blocked order is input arc
    ``p[k]``. The ``head_groups`` G groups (default :func:`default_head_groups`) cut the arcs,
    ranked by head (ties in input order), where the arc loop cuts its P chunks (``E g // G``,
    ``network_fused``): group g holds the ranks ``E g // G`` to ``E (g + 1) // G - 1``, so that
    with G = P each thread's arcs are one group (module docstring, "Head groups"). G = 1 sorts
    by (tail block, head)."""
    tail, head = np.asarray(tail), np.asarray(head)
    E = tail.shape[0]
    if block_nodes is None:
        block_nodes = default_block_nodes(num_nodes, E, head_groups=head_groups)
    if head_groups is None:
        head_groups = default_head_groups(E)
    if block_nodes < 1:
        raise InvalidProblemError(f"block_nodes must be >= 1, got {block_nodes}")
    if head_groups < 1 or int(head_groups) != head_groups:
        raise InvalidProblemError(f"head_groups must be an integer >= 1, got {head_groups}")
    index = np.int32 if E < 2**31 else np.int64
    blocks = -(-num_nodes // block_nodes)
    groups = min(int(head_groups), max(E, 1))  # more groups than arcs give the same order: one arc each
    if _sort is not None and E:
        by_head = np.empty(E, dtype=index)
        order = np.empty(E, dtype=index)
        _sort(tail, head, num_nodes, block_nodes, blocks, groups, by_head, order)
        return order
    group = np.empty(E, dtype=np.int64)
    group[np.argsort(head, kind="stable")] = ((np.arange(E, dtype=np.int64) + 1) * groups - 1) // max(E, 1)
    return np.lexsort((head, tail // block_nodes, group)).astype(index)


def tiled_order(tail, head, num_nodes: int, tile_nodes: int | None = None) -> np.ndarray:
    """The permutation ``p`` (int32 below 2^31 arcs, else int64) that sorts the arcs by
    (tail // T, head), stably, T = ``tile_nodes`` (default :func:`default_tile_nodes`): so by
    (tail // T, head // T), tile by tile, with the heads ascending in each tile. Arc k of the
    tiled order is input arc ``p[k]`` (module docstring, the tiled order). This is the blocked
    order of one head group with blocks of T nodes (:func:`blocked_order`)."""
    tile = default_tile_nodes() if tile_nodes is None else tile_nodes
    if tile < 1 or int(tile) != tile:
        raise InvalidProblemError(f"tile_nodes must be an integer >= 1, got {tile_nodes}")
    return blocked_order(tail, head, num_nodes, int(tile), head_groups=1)


PAIR_MIN_NODES = 1 << 21  # from here tail and head go side by side (permuted_ends)


def permuted_ends(tail, head, order, num_nodes: int, paired: bool | None = None):
    """``(tail[order], head[order])``; from :data:`PAIR_MIN_NODES` nodes on as the two columns of
    one (E, 2) array (views, stride two entries), each arc's tail and head side by side: one
    memory stream for the fused arc loop instead of two (``network_fused.side_by_side``; the
    solver then keeps cost and capacity side by side too).

    Measured on a NETGEN solve's operands, two threads, both layouts alternating in one process
    (``bench/network_pairs_ab.py``, bench/README.md session 31): at 10^8 arcs (12.5 M nodes) the
    arc loop took 366 against 424 ms (median), at 3 x 10^7 (3.75 M nodes) 103 against 106 ms, but
    at 10^7 (1.25 M nodes) 31.0 against 28.7 ms: where the threads' node tables (8 B per node
    each) fit in this VM's 32 MB L3 the loop is bound by its instructions, which the strided
    indices lengthen, not by the number of streams. 2^21 nodes is where two tables fill that L3.
    The input vectors are read once each, in turn. ``paired``: side by side or not regardless of
    the node count (the tiled order keeps them apart: its passes read one of the two each)."""
    if not (num_nodes >= PAIR_MIN_NODES if paired is None else paired):
        tail = tail[order]  # one at a time, so that the input-order tail can go before head is copied
        return tail, head[order]
    pair = np.empty((order.shape[0], 2), dtype=np.result_type(tail.dtype, head.dtype))
    np.take(tail, order, out=pair[:, 0], mode="clip")  # "clip": unbuffered; the order is a permutation
    np.take(head, order, out=pair[:, 1], mode="clip")
    return pair[:, 0], pair[:, 1]


try:
    import numba
except ImportError:  # the ``cpu`` extra is absent: lexsort
    _sort = None
else:

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def _sort(tail, head, num_nodes, block_nodes, blocks, groups, by_head, order):
        """Two stable counting sorts: arcs by head into ``by_head``, then those by (head group,
        tail block) into ``order``; the arc at rank k of ``by_head`` is in group
        ((k + 1) G - 1) // E, the g with E g // G <= k < E (g + 1) // G. The second sort's keys
        are counted while the first places each arc (its rank known, its tail read in order)."""
        E = head.shape[0]
        start = np.zeros(num_nodes + 1, dtype=np.int64)
        for e in range(E):
            start[head[e] + 1] += 1
        for v in range(num_nodes):
            start[v + 1] += start[v]
        first = np.zeros(groups * blocks + 1, dtype=np.int64)
        for e in range(E):
            v = head[e]
            k = start[v]
            by_head[k] = e
            start[v] += 1
            first[((k + 1) * groups - 1) // E * blocks + tail[e] // block_nodes + 1] += 1
        for b in range(groups * blocks):
            first[b + 1] += first[b]
        for k in range(E):
            e = by_head[k]
            b = ((k + 1) * groups - 1) // E * blocks + tail[e] // block_nodes
            order[first[b]] = e
            first[b] += 1
