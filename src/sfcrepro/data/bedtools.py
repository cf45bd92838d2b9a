"""BEDTools through pybedtools: interval tables to and from ``BedTool`` objects, and a private
temporary folder for the files pybedtools writes."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pandas as pd
import pybedtools

__all__ = ["from_bedtool", "temporary_folder", "to_bedtool"]


@contextlib.contextmanager
def temporary_folder():
    """A private temporary folder for pybedtools' files, removed afterwards.

    ``pybedtools.helpers.set_tempdir`` also changes Python's global ``tempfile.tempdir``; it is
    restored on exit.
    """
    previous = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="sfcrepro-bedtools-") as tmp:
        pybedtools.helpers.set_tempdir(tmp)
        try:
            yield Path(tmp)
        finally:
            tempfile.tempdir = previous


def to_bedtool(frame: pd.DataFrame) -> pybedtools.BedTool:
    """The ``chrom, start, end`` columns of ``frame`` as a sorted ``BedTool``."""
    return pybedtools.BedTool.from_dataframe(frame[["chrom", "start", "end"]]).sort()


def from_bedtool(bedtool, names=("chrom", "start", "end")) -> pd.DataFrame:
    """A ``BedTool``'s intervals as a table with columns ``names`` (empty: no rows)."""
    frame = bedtool.to_dataframe(header=None, names=list(names), dtype={"chrom": str})
    return frame if len(frame) else pd.DataFrame(columns=list(names))
