"""Run one function over many jobs, in worker processes when asked, with a tqdm bar."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Sequence

from tqdm import tqdm


def run_jobs(fn: Callable, jobs: Sequence, workers: int, desc: str, unit: str, progress: bool = True,
             chunksize: int = 1) -> None:
    """``fn(job)`` for every job: here with ``workers <= 1``, else in ``workers`` processes (``fn`` picklable)."""
    with tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress) as bar:
        if workers <= 1:
            for job in jobs:
                fn(job)
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                for _ in pool.map(fn, jobs, chunksize=chunksize):
                    bar.update()
