"""Progress reporting, the same for every computation that can take a while.

:func:`bryta.measure`, :func:`bryta.bootstrap`, :func:`bryta.expected`, :func:`bryta.compare`
and :func:`bryta.tiled_knn_contexts` take ``progress=``: a callable that is given the number
of steps just finished (a positive whole number) each time a piece of the work is done. The
steps add up to a total the caller knows before the call: the indices computed (``measure``),
the replicates (``bootstrap``, ``expected``, ``compare``: ``n_bootstrap``) or the cells
(``tiled_knn_contexts``). So a progress bar's ``update`` plugs straight in:

    with tqdm(total=500) as bar:
        bryta.bootstrap(counts, unit="regso", groups=groups, n_bootstrap=500,
                        progress=bar.update)

The callable may be called from worker threads (the bootstrap runs its blocks in a thread
pool), so it must be safe to call from several threads; tqdm's and rich's bars are.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(steps)``: ``steps`` more steps of the work are done.
Progress = Callable[[int], None]

__all__ = ["Progress"]
