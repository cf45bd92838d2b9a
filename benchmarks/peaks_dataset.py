"""A ``type: peaks`` dataset at paper scale: regions with GC-matched negatives, then the split files.

Writes, under ``--out`` (reused by a later run with the same scale, peaks and seed):

* ``genome.fa`` (+ ``.fai``): random sequence with hg19's 24 chromosome sizes times ``--scale``,
  written by ``paper_scale_sim_access.write_genome`` (3.1 Gbp at scale 1; uniform A/C/G/T, so GC
  varies little: the GC matching is timed, not stressed);
* ``peaks.narrowPeak.gz``: ``--peaks`` (150,000) times ``--scale`` peaks, 150-1500 bp with a
  summit, placed uniformly over the genome (``paper_scale_sim_access.random_intervals``);
* ``inputs.json``: what was made.

Then it times two steps, each in its own child process (so that each one's peak resident memory,
``ru_maxrss``, is its own and includes the interpreter and imports):

a. ``regions``: :func:`sfcrepro.data.peak_datasets.peak_dataset_regions` with the one peak file,
   ``windows: {recipe: peaks, length: 1000}``, ``negatives: {ratio: 1, gc_bins: 20}``, hg19's
   chromosome pattern, chr1 valid and chr2 test; the table is then written to ``regions.tsv``
   (not timed);
b. ``build``: :func:`sfcrepro.data.genome_datasets.build_regions` on that table, writing
   ``train/valid/test.h5`` (``max_n_fraction`` 0.1).

and prints one line per step (a Markdown table) and a JSON summary. Example::

    .venv/bin/python benchmarks/peaks_dataset.py --scale 0.05 --out /tmp/pk005
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paper_scale_sim_access import HG19, random_intervals, write_genome  # noqa: E402

PEAKS = 150_000
LENGTH = 1000
PATTERN = "chr([0-9]+|X|Y)"
SPLITS = {"valid": ["chr1"], "test": ["chr2"]}
TASK = "P1"


def make_inputs(out: Path, scale: float, peaks: int = PEAKS, seed: int = 0) -> dict:
    """Genome, its index and the peak file under ``out`` (reused when ``inputs.json`` matches)."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = {c: max(10_000, int(round(s * scale))) for c, s in HG19.items()}
    wanted = {
        "scale": scale,
        "genome_bp": sum(sizes.values()),
        "peaks": max(100, int(round(peaks * scale))),
        "seed": seed,
    }
    stamp = out / "inputs.json"
    files = [out / "genome.fa", out / "genome.fa.fai", out / "peaks.narrowPeak.gz"]
    if stamp.exists() and all(f.exists() for f in files):
        made = json.loads(stamp.read_text())
        if {k: made.get(k) for k in wanted} == wanted:
            return {**made, "reused": True}
    import pyfaidx

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    write_genome(out / "genome.fa", sizes, rng)
    pyfaidx.Faidx(str(out / "genome.fa"), rebuild=True).close()
    timings = {"genome_s": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    chrom, start, end = random_intervals(sizes, wanted["peaks"], (150, 1500), rng)
    summit = (rng.random(len(start)) * (end - start)).astype(np.int64)
    signal = rng.random(len(start)) * 100
    order = np.lexsort((start, chrom))
    with gzip.open(out / "peaks.narrowPeak.gz", "wt", compresslevel=1) as fh:
        fh.writelines(
            f"{chrom[i]}\t{start[i]}\t{end[i]}\tpeak{k}\t0\t.\t{signal[i]:.3f}\t-1\t-1\t{summit[i]}\n"
            for k, i in enumerate(order)
        )
    timings["peaks_s"] = round(time.perf_counter() - started, 1)
    made = {**wanted, **timings}
    stamp.write_text(json.dumps(made))
    return made


def step_regions(out: Path, seed: int) -> dict:
    from sfcrepro.data.peak_datasets import peak_dataset_regions

    started = time.perf_counter()
    table = peak_dataset_regions(
        {TASK: str(out / "peaks.narrowPeak.gz")},
        str(out / "genome.fa"),
        str(out / "genome.fa.fai"),
        PATTERN,
        {"recipe": "peaks", "length": LENGTH},
        {"ratio": 1.0, "gc_bins": 20},
        SPLITS,
        seed,
    )
    seconds = time.perf_counter() - started
    table.to_csv(out / "regions.tsv", sep="\t", index=False)
    background = int(table["background"].sum())
    return {
        "seconds": round(seconds, 1),
        "regions": len(table),
        "positives": len(table) - background,
        "negatives": background,
    }


def step_build(out: Path, seed: int) -> dict:
    import pandas as pd
    import pyfaidx

    from sfcrepro.data.genome_datasets import build_regions

    regions = pd.read_csv(out / "regions.tsv", sep="\t", dtype={"chrom": str})
    started = time.perf_counter()
    counts = build_regions(
        regions,
        [TASK],
        pyfaidx.Fasta(str(out / "genome.fa")),
        {split: str(out / f"{split}.h5") for split in ("train", "valid", "test")},
        seed,
        SPLITS,
        max_n_fraction=0.1,
    )
    seconds = time.perf_counter() - started
    size = sum((out / f"{split}.h5").stat().st_size for split in ("train", "valid", "test"))
    return {"seconds": round(seconds, 1), **counts, "h5_mb": round(size / 2**20, 1)}


STEPS = {"regions": step_regions, "build": step_build}


def run_step(step: str, out: Path, seed: int) -> dict:
    """Run one step in a child process; its result with the child's own peak memory."""
    proc = subprocess.run(
        [sys.executable, __file__, "--out", str(out), "--seed", str(seed), "--step", step],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"step {step} failed:\n{proc.stdout[-2000:]}{proc.stderr[-5000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of hg19 and the peaks")
    parser.add_argument("--peaks", type=int, default=PEAKS, help="peaks at scale 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.step:
        result = STEPS[args.step](args.out, args.seed)
        result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
        return
    made = make_inputs(args.out, args.scale, args.peaks, args.seed)
    print(json.dumps(made), flush=True)
    results = {step: run_step(step, args.out, args.seed) for step in STEPS}
    print("| step | seconds | peak RSS (MB) | result |")
    print("|---|---|---|---|")
    for step, result in results.items():
        extra = ", ".join(
            f"{k} {v}" for k, v in result.items() if k not in ("seconds", "max_rss_mb")
        )
        print(f"| {step} | {result['seconds']} | {result['max_rss_mb']} | {extra} |")
    print(json.dumps({"inputs": made, **results}))


if __name__ == "__main__":
    main()
