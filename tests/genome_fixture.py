"""A tiny synthetic genome with DNase and ChIP-seq peak files, for end-to-end tests.

Run ``python tests/genome_fixture.py DIR`` to write the files to DIR; the test suite writes them
to a folder served at ``http://127.0.0.1:<port>/`` so that the real download rule fetches them.
Random sequence (seeded), three chromosomes that the default chromosome pattern keeps and one
(``chrUn_gl000220``) that it drops; peaks of two cell types; TF peaks in narrowPeak format with
summits, one of them at the peak's right end (summit == width, which real ENCODE files contain);
a relaxed CTCF peak file (its peaks plus weak peaks over some E116 DNase peaks, which are then no
in vivo CTCF negatives); a Corces-style ATAC-seq counts matrix (peaks x samples).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

CHROMS = {"chr1": 30_000, "chr2": 30_000, "chr3": 40_000, "chrUn_gl000220": 8_000}
CELL_TYPES = ("E116", "E123")
TFS = {"CTCF": "CTCF_known1", "GATA1": "GATA_known1"}


def _narrowpeak(rows, signal=10):
    return "".join(
        f"{c}\t{s}\t{e}\tpeak{i}\t0\t.\t{signal}\t-1\t-1\t{summit}\n"
        for i, (c, s, e, summit) in enumerate(rows)
    )


def make(folder) -> dict[str, str]:
    """Write the fixture files into ``folder``; returns file name per role."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20171)
    fasta = "".join(
        f">{c}\n{''.join(rng.choice(list('ACGTacgt'), n))}\n" for c, n in CHROMS.items()
    )
    (folder / "genome.fa.gz").write_bytes(gzip.compress(fasta.encode(), mtime=0))
    files = {"genome": "genome.fa.gz"}
    dnase = {}
    for _k, cell in enumerate(CELL_TYPES):
        rows = []
        for chrom, size in CHROMS.items():
            for _ in range(6):
                start = int(rng.integers(1_500, size - 3_000))
                width = int(rng.integers(150, 1_200))
                rows.append((chrom, start, start + width, width // 2))
        dnase[cell] = rows
        files[cell] = f"{cell}-DNase.narrowPeak.gz"
        (folder / files[cell]).write_bytes(gzip.compress(_narrowpeak(rows).encode(), mtime=0))
    for tf in TFS:
        rows = []
        for chrom, size in CHROMS.items():
            for _ in range(5):
                start = int(rng.integers(1_000, size - 1_000))
                width = int(rng.integers(100, 400))
                rows.append((chrom, start, start + width, int(rng.integers(0, width))))
        chrom, start, end, _ = rows[0]
        rows[0] = (chrom, start, end, end - start)  # summit == width
        files[tf] = f"{tf}.narrowPeak.gz"
        (folder / files[tf]).write_bytes(gzip.compress(_narrowpeak(rows).encode(), mtime=0))
        if (
            tf == "CTCF"
        ):  # relaxed peaks: the CTCF peaks, plus weak ones over the first two E116 peaks per chromosome
            weak = [
                row for chrom in CHROMS for row in [r for r in dnase["E116"] if r[0] == chrom][:2]
            ]
            files["CTCF_relaxed"] = "CTCF-relaxed.narrowPeak.gz"
            text = _narrowpeak(rows) + _narrowpeak(weak, signal=2)
            (folder / files["CTCF_relaxed"]).write_bytes(gzip.compress(text.encode(), mtime=0))
    # A Corces-style counts matrix: HSC (code 1) and MPP (code 2) replicates and one leukemic sample,
    # with real column names of GSE74912_ATACseq_All_Counts.txt.gz in its three naming styles
    # (tests/data/GSE74912_sample_columns.tsv); each cell type has its own open peaks.
    samples = {
        "Donor2596-HSC-1A-150303": "HSC",
        "4983-1A": "HSC",
        "6792-2A": "MPP",
        "Donor7256-2B-110614": "MPP",
        "SU070-LSC-140603": "LSC",
    }
    peaks = []
    for chrom, size in CHROMS.items():
        slots = np.arange(1_500, size - 2_500, 600)
        for start in sorted(rng.choice(slots, min(8, len(slots)), replace=False)):
            peaks.append((chrom, int(start), int(start) + 500))
    open_in = {cell: rng.random(len(peaks)) < 0.5 for cell in ("HSC", "MPP", "LSC")}
    lines = ["Chr\tStart\tEnd\t" + "\t".join(samples) + "\n"]
    for i, (chrom, start, end) in enumerate(peaks):
        counts = [int(rng.poisson(30 if open_in[cell][i] else 0.2)) for cell in samples.values()]
        lines.append(f"{chrom}\t{start}\t{end}\t" + "\t".join(map(str, counts)) + "\n")
    files["counts"] = "ATACseq_Counts.txt.gz"
    (folder / files["counts"]).write_bytes(gzip.compress("".join(lines).encode(), mtime=0))
    return files


if __name__ == "__main__":
    print(make(sys.argv[1] if len(sys.argv) > 1 else ".test/data"))
