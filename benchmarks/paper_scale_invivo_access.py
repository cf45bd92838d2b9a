"""Paper-scale synthetic inputs for the hematopoiesis build (``invivo_access``), and the build itself.

Writes, under ``--out``:

* ``genome.fa`` : random sequence with hg19's 24 chromosome sizes times ``--scale``, written by
  ``paper_scale_sim_access.write_genome`` (3.1 Gbp at scale 1);
* ``counts.txt.gz`` : a counts matrix of the shape of ``GSE74912_ATACseq_All_Counts.txt.gz``:
  ``Chr Start End`` then 132 sample columns with the real column names (``--columns``, default
  ``tests/data/GSE74912_sample_columns.tsv``; without that file, made-up names with the real
  number of samples per cell type), ``--peaks`` (590,650) times ``--scale`` peaks of 501 bp,
  placed at random over the genome without overlaps, in genome order;
* ``inputs.json`` : what was made (a rerun with the same scale, peaks, seed and columns reuses
  the files);
* ``<recipe>/config.yaml`` : a configuration with one enabled dataset, ``paper_scale`` (type
  ``invivo_access``, the calls, windows and splits of the paper's config with
  ``windows.recipe: <recipe>``, ``calls.min_cpm`` divided by ``--scale``), reading these files
  by local path, every other dataset disabled.
  Its ``samples`` patterns are its own (each cell type's column names, spelled out), so that it
  does not depend on the paper config's patterns.

Counts (seeded): every peak is open in each cell type with a peak-specific probability (Beta(0.6,
0.9), at least one cell type open, as for consensus peaks called from the samples); a sample's
count at a peak is Poisson with mean proportional to a log-normal peak strength, 20 times lower
when the peak is closed in its cell type, scaled to a library of 4 to 30 million reads in peaks
(at scale 1; proportionally fewer at smaller scales).

With ``--build`` it then runs the real rules (``download`` of the local files,
``prepare_genome``, ``accessibility_calls``, ``label_windows_from_calls``,
``build_invivo_access``) up to the dataset's three h5 files::

    snakemake --cores 2 --configfile <out>/<recipe>/config.yaml --directory <out>/<recipe>/run \\
        results/datasets/paper_scale/{train,valid,test}.h5

under ``/usr/bin/time -v`` and prints wall time, peak resident memory, the example counts per
split and the h5 sizes (``paper_scale_sim_access.build``), and the peaks called accessible.
Example::

    python benchmarks/paper_scale_invivo_access.py --scale 0.01 --out /tmp/pi001 --recipe peaks --build
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paper_scale_sim_access import HG19, build, write_genome  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ROOT / "tests" / "data" / "GSE74912_sample_columns.tsv"
PEAKS = 590_650  # consensus peaks of GSE74912_ATACseq_All_Counts.txt.gz
WIDTH = 501
# Cell-type words of the column table -> the dataset's task names; CD34+ columns are no task.
TASK_OF = {
    "Bcell": "B",
    "CD4Tcell": "CD4",
    "CD8Tcell": "CD8",
    "NKcell": "NK",
    "CD34bm": None,
    "CD34cb": None,
}


def sample_columns(path: Path | None) -> list[tuple[str, str | None]]:
    """``(column, task)`` of each sample column, in matrix order (task None: no cell type): the
    real names of ``path``; without it, made-up names with the real matrix's samples per type."""
    with open(COLUMNS if path is None or not Path(path).exists() else path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    columns = [(row["column"], TASK_OF.get(row["cell_type"], row["cell_type"])) for row in rows]
    if path is not None and Path(path).exists():
        return columns
    # Made-up names, as many samples per cell type as the real matrix has (COLUMNS).
    per_task = collections.Counter(task for _, task in columns)
    return [(f"{task or 'CD34'}-{k + 1}", task) for task, n in per_task.items() for k in range(n)]


def place_peaks(sizes: dict[str, int], n: int, width: int, rng: np.random.Generator):
    """``n`` non-overlapping ``width`` bp peaks, uniform over the genome, in genome order."""
    names = list(sizes)
    lengths = np.array([sizes[c] for c in names], dtype=np.int64)
    per_chrom = rng.multinomial(n, lengths / lengths.sum())
    chrom, start = [], []
    for name, length, k in zip(names, lengths, per_chrom, strict=False):
        free = length - width * k  # gaps left once the peaks are laid end to end
        if free < 0:
            raise ValueError(
                f"{k} peaks of {width} bp do not fit on {name} ({length} bp); raise --scale."
            )
        gaps = np.sort(rng.integers(0, free + 1, size=k))
        start.append(gaps + width * np.arange(k, dtype=np.int64))
        chrom.append(np.full(k, name, dtype=object))
    start = np.concatenate(start)
    return np.concatenate(chrom), start, start + width


def synthetic_counts(
    n_peaks: int, columns: list[tuple[str, str | None]], rng: np.random.Generator
) -> np.ndarray:
    """Counts (peaks x samples, int32): open/closed per peak and cell type, Poisson reads."""
    tasks = sorted({task for _, task in columns if task is not None})
    breadth = rng.beta(0.6, 0.9, size=n_peaks)
    open_in = rng.random((n_peaks, len(tasks))) < breadth[:, None]
    none = ~open_in.any(axis=1)
    open_in[np.flatnonzero(none), rng.integers(0, len(tasks), size=int(none.sum()))] = True
    strength = rng.lognormal(0.0, 0.7, size=n_peaks)
    counts = np.empty((n_peaks, len(columns)), dtype=np.int32)
    for j, (_, task) in enumerate(columns):
        is_open = open_in[:, tasks.index(task)] if task is not None else breadth > 0.5
        rate = strength * np.where(is_open, 1.0, 0.05)
        library = (
            rng.uniform(4e6, 3e7) * n_peaks / PEAKS
        )  # reads in peaks, scaled with the peak count
        counts[:, j] = rng.poisson(rate * (library / rate.sum()))
    return counts


def write_counts(
    path: Path, chrom, start, end, counts: np.ndarray, names: list[str], block: int = 50_000
) -> None:
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.write("\t".join(["Chr", "Start", "End", *names]) + "\n")
        for first in range(0, len(start), block):
            part = slice(first, first + block)
            frame = pd.DataFrame(counts[part], columns=names)
            frame.insert(0, "End", end[part])
            frame.insert(0, "Start", start[part])
            frame.insert(0, "Chr", chrom[part])
            frame.to_csv(out, sep="\t", header=False, index=False)


def make_inputs(
    out: Path, scale: float, peaks: int = PEAKS, seed: int = 0, columns: Path | None = COLUMNS
) -> dict:
    """Genome and counts matrix under ``out`` (reused when ``inputs.json`` says they match)."""
    out.mkdir(parents=True, exist_ok=True)
    sizes = {c: max(10_000, int(round(s * scale))) for c, s in HG19.items()}
    samples = sample_columns(columns)
    wanted = {
        "scale": scale,
        "genome_bp": sum(sizes.values()),
        "peaks": max(100, int(round(peaks * scale))),
        "peak_bp": WIDTH,
        "seed": seed,
        "samples": len(samples),
        "columns": str(columns) if columns is not None and Path(columns).exists() else "made up",
    }
    stamp = out / "inputs.json"
    if stamp.exists() and (out / "genome.fa").exists() and (out / "counts.txt.gz").exists():
        made = json.loads(stamp.read_text())
        if {k: made.get(k) for k in wanted} == wanted:
            return {**made, "reused": True}
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    write_genome(out / "genome.fa", sizes, rng)
    timings = {"genome_s": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    chrom, start, end = place_peaks(sizes, wanted["peaks"], WIDTH, rng)
    counts = synthetic_counts(len(start), samples, rng)
    write_counts(out / "counts.txt.gz", chrom, start, end, counts, [name for name, _ in samples])
    timings["counts_s"] = round(time.perf_counter() - started, 1)
    made = {
        **wanted,
        "counts_mb": round((out / "counts.txt.gz").stat().st_size / 2**20, 1),
        **timings,
    }
    stamp.write_text(json.dumps(made))
    return made


def write_config(
    out: Path, recipe: str, scale: float = 1.0, columns: Path | None = COLUMNS
) -> Path:
    """``out/<recipe>/config.yaml``: the paper's invivo_access settings on the synthetic inputs.

    ``calls.min_cpm`` is the paper's divided by ``scale``: a peak's share of a library grows as
    the peaks get fewer, so this keeps the calls (and the tiling's window count) per peak the same
    at every scale.
    """
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for ds in config["datasets"].values():
        ds["enabled"] = False
    paper = config["datasets"]["invivo_access"]
    config["genomes"]["synthetic"] = {
        "url": str(out / "genome.fa"),
        "sha256": None,
        "chromosomes": config["genomes"]["hg19"].get("chromosomes"),
    }
    groups: dict[str, list[str]] = {}
    unused = []  # the CD34+ columns: no task
    for name, task in sample_columns(columns):
        if task is None:
            unused.append(name)
        else:
            groups.setdefault(task, []).append(name)
    samples = {
        task: {"pattern": "^(?:" + "|".join(re.escape(n) for n in names) + ")$"}
        for task, names in groups.items()
    }
    config["datasets"]["paper_scale"] = {
        **{k: v for k, v in paper.items() if k not in ("counts", "samples", "windows", "enabled")},
        "title": f"Hematopoiesis accessibility, synthetic counts ({recipe})",
        "genome": "synthetic",
        "counts": {"url": str(out / "counts.txt.gz")},
        "samples": samples,
        "unused_samples": unused,
        "calls": {
            **paper.get("calls", {}),
            "min_cpm": paper.get("calls", {}).get("min_cpm", 2.0) / scale,
        },
        "windows": {**paper.get("windows", {}), "recipe": recipe},
    }
    config["figures"] = {"performance": config["figures"].get("performance", {"split": "valid"})}
    folder = out / recipe
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder / "config.yaml"


def called(folder: Path) -> dict:
    """Peaks of the calls table, and how many are accessible in at least one cell type."""
    calls = pd.read_csv(
        folder / "run" / "results" / "regions" / "paper_scale" / "calls.tsv.gz", sep="\t"
    )
    labels = calls.iloc[:, 3:]
    return {
        "peaks_in_calls": len(calls),
        "peaks_accessible_somewhere": int((labels.sum(axis=1) > 0).sum()),
        "mean_positive_rate": round(float(labels.to_numpy().mean()), 4),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the paper's size")
    parser.add_argument("--peaks", type=int, default=PEAKS, help="counts-matrix peaks at scale 1")
    parser.add_argument(
        "--columns", type=Path, default=COLUMNS, help="column, cell_type table of the samples"
    )
    parser.add_argument(
        "--recipe", choices=["peaks", "tiles"], default="peaks", help="windows.recipe to build"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--build", action="store_true", help="then build the dataset with the real rules"
    )
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    result = make_inputs(args.out, args.scale, args.peaks, args.seed, args.columns)
    write_config(args.out, args.recipe, args.scale, args.columns)
    result["recipe"] = args.recipe
    print(json.dumps(result), flush=True)
    if args.build:
        folder = args.out / args.recipe
        result.update(build(folder, args.cores))
        result.update(called(folder))
        result["examples"] = sum(
            result[f"{split}_examples"] for split in ("train", "valid", "test")
        )
        result["h5_mb"] = round(
            sum(result[f"{split}_mb"] for split in ("train", "valid", "test")), 1
        )
        print(json.dumps(result))


if __name__ == "__main__":
    main()
