"""In vivo TF-binding regions from real peak files: counts per split, time and peak memory.

Give local copies of public files: the ENCODE GM12878 CTCF uniform peaks
(``wgEncodeAwgTfbsBroadGm12878CtcfUniPk.narrowPeak.gz`` from UCSC's
``encodeDCC/wgEncodeAwgTfbsUniform``), a DNase peak file for the candidate negatives (the paper's
Roadmap E116 peaks, or, as measured in docs/benchmarks.md, the ENCODE H1 DNase IDR peaks
``ENCSR000EMU``) and ``hg19.chrom.sizes`` (UCSC ``goldenPath/hg19/bigZips``). The TF's own peaks
serve as its relaxed peaks (the pipeline's default).

Example::

    python benchmarks/tf_examples_real.py --data DIR
    python benchmarks/tf_examples_real.py --chip CTCF.narrowPeak.gz --dnase H1.narrowPeak.gz \
        --sizes hg19.chrom.sizes

``--data DIR`` looks for the files under DIR as ``tf_chip/hg19/``, ``dnase_atac/hg19/`` and
``genome_aux/`` (the layout of the project's offline data folder).
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
from pathlib import Path

from sfcrepro.data.invivo import tf_examples_from_files

CHIP = "tf_chip/hg19/wgEncodeAwgTfbsBroadGm12878CtcfUniPk.narrowPeak.gz"
DNASE = "dnase_atac/hg19/ENCSR000EMU_H1_DNase_rep1-pr.IDR0.1.narrowPeak.gz"
SIZES = "genome_aux/hg19.chrom.sizes"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="folder holding the three files (see above)")
    parser.add_argument("--chip", type=Path, help="the TF's narrowPeak file")
    parser.add_argument("--dnase", type=Path, help="DNase peaks for candidate negatives")
    parser.add_argument("--sizes", type=Path, help="chromosome sizes")
    parser.add_argument("--tf", default="CTCF")
    args = parser.parse_args(argv)
    for name, relative in (("chip", CHIP), ("dnase", DNASE), ("sizes", SIZES)):
        if getattr(args, name) is None:
            if args.data is None:
                parser.error(f"give --{name} or --data (the files are not part of the repository)")
            setattr(args, name, args.data / relative)
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
