"""Paper-scale synthetic inputs for the simulated-accessibility build, and the build itself.

Writes, under ``--out``:

* ``genome.fa`` : random sequence (seeded, uniform A/C/G/T, 60 bases per line) with hg19's 24
  chromosome sizes times ``--scale`` (3.1 Gbp at scale 1);
* ``<cell>.narrowPeak.gz`` : ``--cell-types`` DNase-like peak sets of ``--peaks`` peaks each
  (times ``--scale``), widths uniform in 150-1500 bp, placed uniformly over the genome;
* ``<TF>.narrowPeak.gz`` : ``--tfs`` TF peak files of ``--summits`` peaks each (times
  ``--scale``), 100-400 bp with a summit; 70% of them inside a random DNase peak (TFs bind open
  chromatin), the rest anywhere; each TF is given a motif of the ENCODE compendium;
* ``config.yaml`` : a configuration with one enabled dataset, ``paper_scale`` (type
  ``simulated_access``, the windows and splits of the paper's config), reading these files by
  local path, every other dataset disabled.

With ``--build`` it then runs the real rules up to the dataset's three h5 files::

    snakemake --cores 2 --configfile <out>/config.yaml --directory <out>/run results/datasets/paper_scale/{train,valid,test}.h5

under ``/usr/bin/time -v`` and prints wall time, peak resident memory, the example counts and
the h5 sizes. Example::

    python benchmarks/paper_scale_sim_access.py --scale 0.01 --out /tmp/ps001 --build
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
# hg19 chromosome sizes (UCSC hg19.chrom.sizes), the 24 chromosomes the paper's config uses.
HG19 = {
    "chr1": 249250621,
    "chr2": 243199373,
    "chr3": 198022430,
    "chr4": 191154276,
    "chr5": 180915260,
    "chr6": 171115067,
    "chr7": 159138663,
    "chr8": 146364022,
    "chr9": 141213431,
    "chr10": 135534747,
    "chr11": 135006516,
    "chr12": 133851895,
    "chr13": 115169878,
    "chr14": 107349540,
    "chr15": 102531392,
    "chr16": 90354753,
    "chr17": 81195210,
    "chr18": 78077248,
    "chr19": 59128983,
    "chr20": 63025520,
    "chr21": 48129895,
    "chr22": 51304566,
    "chrX": 155270560,
    "chrY": 59373566,
}
LINE = 60
CHUNK_LINES = 200_000  # 12 Mbp per write


def write_genome(path: Path, sizes: dict[str, int], rng: np.random.Generator) -> None:
    """Random FASTA, ``LINE`` bases per line, written in chunks (memory stays ~100 MB)."""
    table = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as out:
        for chrom, size in sizes.items():
            out.write(f">{chrom}\n".encode())
            full, rest = divmod(size, LINE)
            for first in range(0, full, CHUNK_LINES):
                lines = min(CHUNK_LINES, full - first)
                block = np.empty((lines, LINE + 1), dtype=np.uint8)
                block[:, :LINE] = table[rng.integers(0, 4, size=(lines, LINE), dtype=np.uint8)]
                block[:, LINE] = ord("\n")
                out.write(block.tobytes())
            if rest:
                out.write(table[rng.integers(0, 4, size=rest, dtype=np.uint8)].tobytes() + b"\n")


def random_intervals(sizes, n, widths, rng):
    """``n`` intervals placed uniformly over the genome (chromosome by length), as arrays."""
    names = np.array(list(sizes))
    lengths = np.array(list(sizes.values()), dtype=np.int64)
    chrom = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    width = rng.integers(widths[0], widths[1] + 1, size=n)
    start = (rng.random(n) * (lengths[chrom] - width - 1)).astype(np.int64)
    return names[chrom], start, start + width


def write_narrowpeak(path: Path, chrom, start, end, summit, signal) -> None:
    order = np.lexsort((start, chrom))
    lines = [
        f"{chrom[i]}\t{start[i]}\t{end[i]}\tpeak{k}\t0\t.\t{signal[i]:.3f}\t-1\t-1\t{summit[i]}\n"
        for k, i in enumerate(order)
    ]
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.writelines(lines)


def tf_motifs(n: int) -> list[str]:
    """``n`` motif names of the ENCODE compendium: the paper's five first, then other *_known1."""
    from sfcrepro.data.motifs import default_motif_file, read_motifs

    motifs = read_motifs(default_motif_file())
    chosen = ["CTCF_known1", "YY1_known1", "GATA_known1", "TAL1_known1", "SPI1_known1"]
    chosen += [
        m
        for m in sorted(motifs)
        if m.endswith("_known1")
        and m not in chosen
        and len(motifs[m].probs) <= 20
        and re.fullmatch(r"[A-Za-z0-9_]+", m)
    ]
    return chosen[:n]


def make_inputs(
    out: Path, scale: float, cell_types: int, peaks: int, tfs: int, summits: int, seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    sizes = {c: max(10_000, int(round(s * scale))) for c, s in HG19.items()}
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    start = time.perf_counter()
    write_genome(out / "genome.fa", sizes, rng)
    timings["genome_s"] = time.perf_counter() - start
    start = time.perf_counter()
    n_peaks = max(100, int(round(peaks * scale)))
    dnase = {}
    for k in range(cell_types):
        cell = f"CELL{k + 1}"
        chrom, s, e = random_intervals(sizes, n_peaks, (150, 1500), rng)
        dnase[cell] = (chrom, s, e)
        write_narrowpeak(
            out / f"{cell}.narrowPeak.gz", chrom, s, e, (e - s) // 2, rng.random(n_peaks) * 100
        )
    n_summits = max(50, int(round(summits * scale)))
    motif_names = tf_motifs(tfs)
    for k, _motif in enumerate(motif_names):
        chrom, s, e = random_intervals(sizes, n_summits, (100, 400), rng)
        inside = rng.random(n_summits) < 0.7
        cell_chrom, cell_s, cell_e = dnase[f"CELL{k % cell_types + 1}"]
        pick = rng.integers(0, len(cell_s), size=n_summits)
        centre = cell_s[pick] + (rng.random(n_summits) * (cell_e[pick] - cell_s[pick])).astype(
            np.int64
        )
        width = e - s
        s = np.where(inside, np.maximum(0, centre - width // 2), s)
        chrom = np.where(inside, cell_chrom[pick], chrom)
        e = s + width
        summit = (rng.random(n_summits) * width).astype(np.int64)
        write_narrowpeak(
            out / f"TF{k + 1:02d}.narrowPeak.gz", chrom, s, e, summit, rng.random(n_summits) * 100
        )
    timings["peaks_s"] = time.perf_counter() - start

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for ds in config["datasets"].values():
        ds["enabled"] = False
    paper = config["datasets"]["sim_access"]
    config["genomes"]["synthetic"] = {
        "url": str(out / "genome.fa"),
        "sha256": None,
        "chromosomes": config["genomes"]["hg19"].get("chromosomes"),
    }
    config["datasets"]["paper_scale"] = {
        # Only what builds the datasets: attribution would name the paper's cell types.
        **{
            k: v
            for k, v in paper.items()
            if k not in ("cell_types", "tfs", "enabled", "attribution")
        },
        "title": f"Simulated accessibility, synthetic genome at scale {scale:g}",
        "genome": "synthetic",
        "cell_types": {cell: {"url": str(out / f"{cell}.narrowPeak.gz")} for cell in dnase},
        "tfs": {
            f"TF{k + 1:02d}": {"url": str(out / f"TF{k + 1:02d}.narrowPeak.gz"), "motif": motif}
            for k, motif in enumerate(motif_names)
        },
    }
    config["figures"] = {"performance": config["figures"].get("performance", {"split": "valid"})}
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return {
        "scale": scale,
        "genome_bp": sum(sizes.values()),
        "peaks_per_cell_type": n_peaks,
        "cell_types": cell_types,
        "tfs": len(motif_names),
        "peaks_per_tf": n_summits,
        **timings,
    }


def build(out: Path, cores: int) -> dict:
    """Run the real rules up to the h5 files under /usr/bin/time -v; return what it measured."""
    targets = [f"results/datasets/paper_scale/{split}.h5" for split in ("train", "valid", "test")]
    cmd = [
        "/usr/bin/time",
        "-v",
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--cores",
        str(cores),
        "--configfile",
        str(out / "config.yaml"),
        "--directory",
        str(out / "run"),
        *targets,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-5000:])
    fields = dict(
        re.findall(
            r"^\s*(Elapsed \(wall clock\) time.*?|Maximum resident set size.*?): (.+)$",
            proc.stderr,
            flags=re.M,
        )
    )
    import h5py

    result = {
        "wall": fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)"),
        "max_rss_mb": int(fields.get("Maximum resident set size (kbytes)", 0)) // 1024,
    }
    for target in targets:
        path = out / "run" / target
        with h5py.File(path) as h5:
            result[f"{path.stem}_examples"] = len(h5["sequences"])
        result[f"{path.stem}_mb"] = round(path.stat().st_size / 2**20, 1)
    for bench in sorted((out / "run" / "results" / "benchmarks").rglob("*.tsv")):
        rows = bench.read_text().splitlines()
        values = dict(zip(rows[0].split("\t"), rows[1].split("\t"), strict=False))
        result[f"{bench.parent.name}_s"] = float(values["s"])
        result[f"{bench.parent.name}_max_rss_mb"] = float(values["max_rss"])
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the paper's size")
    parser.add_argument("--cell-types", type=int, default=2)
    parser.add_argument("--peaks", type=int, default=150_000, help="peaks per cell type at scale 1")
    parser.add_argument("--tfs", type=int, default=20)
    parser.add_argument("--summits", type=int, default=30_000, help="peaks per TF at scale 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--build", action="store_true", help="then build the dataset with the real rules"
    )
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    result = make_inputs(
        args.out, args.scale, args.cell_types, args.peaks, args.tfs, args.summits, args.seed
    )
    print(json.dumps(result), flush=True)
    if args.build:
        result.update(build(args.out, args.cores))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
