"""Graph colouring for compressed Jacobians and Hessians (Curtis–Powell–Reid, Coleman–Moré,
Gebremedhin–Manne–Pothen).

A sparsity pattern is given as (rows, cols, shape). Columns that share no row can be evaluated together: a
forward-mode derivative along the sum of their unit vectors gives each of their entries in a row of its
own. ``color_columns`` partitions the columns so (a distance-1 colouring of the column intersection graph);
``color_rows`` does the same for rows (reverse mode). Both are greedy colourings: vertices are coloured in
an order, each taking the smallest colour none of its coloured neighbours has. The orders tried are
DSATUR (the vertex whose neighbours already use the most colours next; Brélaz), smallest-last (Matula–Beck)
and largest-first (natural order too); by default DSATUR, improved by iterated greedy (Culberson):
recolouring the vertices class by class in another order of the classes never needs more colours, and
often fewer.

For a symmetric matrix (a Hessian), ``color_star`` gives a star colouring of the adjacency graph: a
distance-1 colouring in which every path on four vertices uses at least three colours. It usually needs
fewer colours than a column colouring, and every entry can still be read directly off the compressed
matrix, from one side of the diagonal or the other (``star_sources``).
"""

import heapq

import numpy as np

ORDERINGS = ("dsatur", "smallest_last", "largest_first", "natural")
BEST = ("dsatur",)  # what ordering='best' starts from, before iterated greedy
RECOLOR_ROUNDS = 6  # iterated-greedy rounds; it stops early after two without improvement
PAIR_LIMIT = 50_000_000  # a conflict graph with more edges than this is not built: every column alone


# --------------------------------------------------------------------------------------------------
# Sorted unique integers


def unique_ints(keys, return_counts=False):
    """``np.unique`` of integer keys (flattened), sorted. NumPy 2's own imports ``numpy.ma`` on its first
    call, 25 ms of the first jacfwd or jacrev that reads a sparsity pattern."""
    keys = np.sort(np.asarray(keys).ravel())
    first = np.ones(len(keys), bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    if not return_counts:
        return keys[first]
    starts = np.flatnonzero(first)
    return keys[starts], np.diff(np.append(starts, len(keys)))


# --------------------------------------------------------------------------------------------------
# Conflict graphs, as CSR adjacency (indptr, neighbours) without self loops


def _csr(n, src, dst):
    """Adjacency lists from directed edges (duplicates and self loops removed)."""
    keep = src != dst
    src, dst = src[keep], dst[keep]
    if len(src):
        keys = unique_ints(src * n + dst)
        src, dst = np.divmod(keys, n)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst


def intersection_graph(rows, cols, n_cols):
    """Columns joined when some row has both: the conflict graph of column colouring, or None when it would
    have more than PAIR_LIMIT edges."""
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    n_rows = int(rows.max()) + 1 if len(rows) else 0
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    lens = np.diff(indptr)[rows]  # for each entry, the length of its row
    total = int(lens.sum())
    if total > PAIR_LIMIT:
        return None
    first = np.cumsum(lens) - lens
    positions = np.repeat(indptr[rows] - first, lens) + np.arange(total, dtype=np.int64)
    return _csr(n_cols, np.repeat(cols, lens), cols[positions])


def adjacency_graph(rows, cols, n):
    """The graph of a symmetric pattern: i and j joined when (i, j) or (j, i) is in it (i != j)."""
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    return _csr(n, np.concatenate([rows, cols]), np.concatenate([cols, rows]))


# --------------------------------------------------------------------------------------------------
# Orderings


def order_natural(indptr, adj):
    return list(range(len(indptr) - 1))


def order_largest_first(indptr, adj):
    degree = np.diff(indptr)
    return np.argsort(-degree, kind="stable").tolist()


def order_smallest_last(indptr, adj):
    """Matula–Beck: repeatedly remove a vertex of least remaining degree; colour in the reverse order."""
    n = len(indptr) - 1
    degree = np.diff(indptr).tolist()
    ptr = indptr.tolist()
    nbrs = adj.tolist()
    buckets = [set() for _ in range(max(degree, default=0) + 1)]
    for v, d in enumerate(degree):
        buckets[d].add(v)
    removed = [False] * n
    out = []
    low = 0
    for _ in range(n):
        low = max(low - 1, 0)
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()
        removed[v] = True
        out.append(v)
        for u in nbrs[ptr[v]:ptr[v + 1]]:
            if not removed[u]:
                d = degree[u]
                buckets[d].discard(u)
                degree[u] = d - 1
                buckets[d - 1].add(u)
    out.reverse()
    return out


_ORDER = {"natural": order_natural, "largest_first": order_largest_first,
          "smallest_last": order_smallest_last}


# --------------------------------------------------------------------------------------------------
# Greedy distance-1 colouring


def greedy(indptr, adj, order):
    """Each vertex in order takes the smallest colour none of its coloured neighbours has."""
    n = len(indptr) - 1
    ptr = indptr.tolist()
    nbrs = adj.tolist()
    color = [-1] * n
    stamp = [-1] * (n + 1)  # stamp[c] == v: colour c is forbidden for v
    for v in order:
        for u in nbrs[ptr[v]:ptr[v + 1]]:
            c = color[u]
            if c >= 0:
                stamp[c] = v
        c = 0
        while stamp[c] == v:
            c += 1
        color[v] = c
    return np.asarray(color, np.int64)


def dsatur(indptr, adj):
    """Brélaz's DSATUR: the next vertex is one whose coloured neighbours use the most distinct colours
    (ties: the higher degree, then the lower index), coloured greedily. The colours around a vertex are a
    bit set (a Python int); the uncoloured vertices wait in one heap per saturation, with lazy deletion."""
    n = len(indptr) - 1
    ptr = indptr.tolist()
    nbrs = adj.tolist()
    degree = np.diff(indptr).tolist()
    color = [-1] * n
    seen = [0] * n  # bit c set: a neighbour has colour c
    buckets = [[(-degree[v], v) for v in range(n)]]  # buckets[s]: vertices that had saturation s
    heapq.heapify(buckets[0])
    top = 0
    for _ in range(n):
        while True:
            while not buckets[top]:
                top -= 1
            _, v = heapq.heappop(buckets[top])
            if color[v] < 0 and seen[v].bit_count() == top:
                break  # else: coloured already, or its saturation has grown since
        free = ~seen[v] & (seen[v] + 1)  # the lowest clear bit
        color[v] = free.bit_length() - 1
        for u in nbrs[ptr[v]:ptr[v + 1]]:
            if color[u] < 0 and not seen[u] & free:
                seen[u] |= free
                sat = seen[u].bit_count()
                if sat == len(buckets):
                    buckets.append([])
                heapq.heappush(buckets[sat], (-degree[u], u))
                top = max(top, sat)
    return np.asarray(color, np.int64)


def recolor(indptr, adj, colors, rounds=RECOLOR_ROUNDS):
    """Iterated greedy (Culberson): colour again, taking the vertices class by class (the classes in
    reverse order, or largest first, by turns). Each round needs at most as many colours as the last."""
    best, stale = colors, 0
    for r in range(rounds):
        k = num_colors(best)
        classes = [np.flatnonzero(best == c) for c in range(k)]
        classes = classes[::-1] if r % 2 == 0 else sorted(classes, key=len, reverse=True)
        new = greedy(indptr, adj, np.concatenate(classes).tolist() if classes else [])
        stale = stale + 1 if num_colors(new) >= k else 0
        if num_colors(new) <= k:
            best = new
        if stale >= 2:
            break
    return best


def color_graph(indptr, adj, ordering="best"):
    """A greedy colouring in the given order ('dsatur', 'smallest_last', 'largest_first', 'natural'), or
    with ordering='best' the fewest colours over BEST, improved by iterated greedy."""
    names = BEST if ordering == "best" else (ordering,)
    best = None
    for name in names:
        if name == "dsatur":
            colors = dsatur(indptr, adj)
        elif name in _ORDER:
            colors = greedy(indptr, adj, _ORDER[name](indptr, adj))
        else:
            raise ValueError(f"unknown ordering {name!r}; use 'best' or one of {', '.join(ORDERINGS)}")
        if best is None or num_colors(colors) < num_colors(best):
            best = colors
    return recolor(indptr, adj, best) if ordering == "best" else best


def num_colors(colors):
    return int(colors.max()) + 1 if len(colors) else 0


def color_columns(rows, cols, shape, ordering="best"):
    """One colour per column; columns of one colour share no row (forward mode: one jvp per colour)."""
    graph = intersection_graph(rows, cols, shape[1])
    if graph is None:
        return np.arange(shape[1], dtype=np.int64)
    return color_graph(*graph, ordering)


def color_rows(rows, cols, shape, ordering="best"):
    """One colour per row; rows of one colour share no column (reverse mode: one vjp per colour)."""
    return color_columns(cols, rows, (shape[1], shape[0]), ordering)


def is_column_coloring(rows, cols, colors):
    """True when no row holds two columns of one colour."""
    rows, cols, colors = (np.asarray(a, np.int64) for a in (rows, cols, colors))
    if len(rows) == 0:
        return True
    width = int(cols.max()) + 1
    rows, cols = np.divmod(unique_ints(rows * width + cols), width)  # the distinct (row, column) entries
    return len(unique_ints(rows * (int(colors.max()) + 1) + colors[cols])) == len(rows)


# --------------------------------------------------------------------------------------------------
# Star colouring of a symmetric pattern


def star_greedy(indptr, adj, order):
    """A greedy star colouring: the vertex being coloured avoids every colour that would make a path on
    four vertices two-coloured, with it at an end (v-w-x-y) or inside (a-v-x-y, a and x sharing a colour).
    Counts of neighbour colours make each check O(1); the whole colouring is O(n d²)."""
    n = len(indptr) - 1
    ptr = indptr.tolist()
    nbrs = adj.tolist()
    color = [-1] * n
    around = [dict() for _ in range(n)]  # around[x][c]: how many coloured neighbours of x have colour c
    for v in order:
        near = nbrs[ptr[v]:ptr[v + 1]]
        coloured = [w for w in near if color[w] >= 0]
        forbidden = {color[w] for w in coloured}
        for w in coloured:  # v-w-x-y: c(v) = c(x) and c(w) = c(y) for some y != w next to x
            cw = color[w]
            for x in nbrs[ptr[w]:ptr[w + 1]]:
                if x != v and color[x] >= 0 and around[x].get(cw, 0) >= 2:
                    forbidden.add(color[x])
        for x in coloured:  # a-v-x-y: c(a) = c(x) for a != x next to v, and c(y) = c(v) next to x
            if around[v].get(color[x], 0) >= 2:
                for y in nbrs[ptr[x]:ptr[x + 1]]:
                    if y != v and color[y] >= 0:
                        forbidden.add(color[y])
        c = 0
        while c in forbidden:
            c += 1
        color[v] = c
        for u in near:
            around[u][c] = around[u].get(c, 0) + 1
    return np.asarray(color, np.int64)


def color_star(rows, cols, n, ordering="best"):
    """A star colouring of the symmetric pattern (rows, cols) of an n x n matrix."""
    indptr, adj = adjacency_graph(rows, cols, n)
    names = tuple(_ORDER) if ordering == "best" else (ordering,)
    best = None
    for name in names:
        if name not in _ORDER:
            raise ValueError(f"unknown ordering {name!r} for a star colouring; use 'best' or one of "
                             f"{', '.join(_ORDER)}")
        colors = star_greedy(indptr, adj, _ORDER[name](indptr, adj))
        if best is None or num_colors(colors) < num_colors(best):
            best = colors
    return best


def star_sources(rows, cols, colors):
    """Where each entry of a symmetric matrix H is read from B = H S (S the colour indicator): for entry
    (i, j), the pair (row, colour) of B that holds it alone. (i, c(j)) when j is the only vertex of its
    colour in row i, else (j, c(i)); a star colouring guarantees one of them (Coleman–Moré)."""
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    colors = np.asarray(colors, np.int64)
    width = num_colors(colors)
    # how many entries of row i have colour c
    keys, counts = unique_ints(rows * width + colors[cols], return_counts=True)
    alone = np.zeros(len(rows), bool)
    alone[:] = counts[np.searchsorted(keys, rows * width + colors[cols])] == 1
    src_row = np.where(alone, rows, cols)
    src_color = np.where(alone, colors[cols], colors[rows])
    other = np.searchsorted(keys, src_row * width + src_color)
    ok = (other < len(keys)) & (keys[np.minimum(other, len(keys) - 1)] == src_row * width + src_color)
    if not np.all(ok & (counts[np.minimum(other, len(keys) - 1)] == 1)):
        raise ValueError("the colouring is not a star colouring of this symmetric pattern")
    return src_row, src_color
