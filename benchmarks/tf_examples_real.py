"""In vivo TF-binding regions from real peak files: counts per split, time and peak memory.

Defaults use the real public files in ``../shared/data``: the ENCODE GM12878 CTCF uniform peaks
and, standing in for the Roadmap E116 DNase peaks (not in that folder), H1 DNase IDR peaks; hg19
chromosome sizes. The TF's own peaks serve as its relaxed peaks (the pipeline's default).

Example::

    python benchmarks/tf_examples_real.py
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
from pathlib import Path

from sfcrepro.invivo import tf_examples_from_files

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--chip", default=DATA / "tf_chip/hg19/wgEncodeAwgTfbsBroadGm12878CtcfUniPk.narrowPeak.gz"
    )
    parser.add_argument(
        "--dnase",
        default=DATA / "dnase_atac/hg19/ENCSR000EMU_H1_DNase_rep1-pr.IDR0.1.narrowPeak.gz",
    )
    parser.add_argument("--sizes", default=DATA / "genome_aux/hg19.chrom.sizes")
    parser.add_argument("--tf", default="CTCF")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    start = time.perf_counter()
    examples = tf_examples_from_files(
        args.tf, args.chip, args.dnase, args.sizes, chromosomes="chr([0-9]+|X|Y)"
    )
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# {args.tf}: {seconds:.1f} s, peak RSS {rss:.0f} MB (whole process)")
    print("split\tregions\tpositives\tnegatives")
    splits = {"valid": examples["chrom"] == "chr1", "test": examples["chrom"] == "chr2"}
    splits["train"] = ~(splits["valid"] | splits["test"])
    splits["all"] = splits["train"] | ~splits["train"]
    for name, mask in splits.items():
        labels = examples.loc[mask, args.tf]
        print(f"{name}\t{len(labels)}\t{int(labels.sum())}\t{int((labels == 0).sum())}")


if __name__ == "__main__":
    main()
