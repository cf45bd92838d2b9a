"""End-to-end: your own data (docs/your_data.md), tiny, from files served on 127.0.0.1: a
``sequences`` dataset (a subset of the DeepLIFT paper's simdna file) and a ``peaks`` dataset (two
peak sets of the tiny synthetic genome, GC-matched background, a blacklist); then a bad table."""

import gzip
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY, job_counts, snakemake
from genome_fixture import make

from sfcrepro.data.datasets import read_dataset, read_table
from sfcrepro.data.sequences import decode

ROOT = Path(__file__).resolve().parent.parent
OVERLAY = ROOT / ".test" / "config" / "user_data.yaml"
SIMDATA = ROOT / "tests" / "data" / "deeplift_sim.subset.simdata"


def _peaks(path):
    with gzip.open(path, "rt") as fh:
        rows = [line.split("\t")[:3] for line in fh if line.strip()]
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    return frame.astype({"start": int, "end": int})


@pytest.fixture(scope="module")
def sources(served):
    folder, base = served
    files = make(folder)
    shutil.copyfile(SIMDATA, folder / SIMDATA.name)
    # Blacklist the first chr3 peak of E116: no region may overlap it afterwards.
    e116 = _peaks(folder / files["E116"])
    black = e116[e116["chrom"] == "chr3"].iloc[0]
    (folder / "blacklist.bed").write_text(f"chr3\t{black.start}\t{black.end}\n")
    return folder, base, files, (black.start, black.end)


def _overlay(path, base, datasets=None):
    config = yaml.safe_load(OVERLAY.read_text().replace("BASE", base))
    if datasets is not None:
        config["datasets"] = datasets
        config.pop("figures")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run(sources, tmp_path_factory):
    _, base, _, _ = sources
    workdir = tmp_path_factory.mktemp("user_data")
    proc = snakemake(workdir, [TINY, _overlay(workdir / "overlay.yaml", base)], "--cores", "2")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return workdir


@pytest.mark.slow
def test_sequences_become_split_files_with_their_motif_table(run):
    rows = pd.read_csv(SIMDATA, sep="\t")
    total, motifs = 0, 0
    for split in ("train", "valid", "test"):
        path = run / "results" / "datasets" / "seqs" / f"{split}.h5"
        sequences, labels, tasks = read_dataset(path)
        assert tasks == ["both", "GATA_disc1", "TAL1_known1"]
        names = read_table(path, "names")["name"].tolist()
        expected = rows.set_index("seqName").loc[names]
        assert (labels == expected[["task1", "task2", "task3"]].to_numpy()).all()
        assert decode(sequences) == expected["sequence"].str.upper().tolist()
        planted = read_table(path, "motifs")
        for row in planted.itertuples(index=False):
            inserted = decode(sequences[row.index, row.start : row.end])
            assert (
                f"pos-{row.start}_{row.motif}-{inserted}" in expected["embeddings"].iloc[row.index]
            )
        total += len(sequences)
        motifs += len(planted)
    assert total == len(rows)  # 25% valid, 25% test (seeded), the rest train
    assert motifs == rows["embeddings"].fillna("").str.count("pos-").sum()


@pytest.mark.slow
def test_peak_regions_gc_matched_outside_peaks_and_blacklist(run, sources):
    folder, _, files, (black_start, black_end) = sources
    regions = pd.read_csv(run / "results" / "regions" / "peaks" / "regions.tsv.gz", sep="\t")
    assert list(regions.columns) == ["chrom", "start", "end", "E116", "E123", "background"]
    assert set(regions["chrom"]) <= {"chr1", "chr2", "chr3"}  # chrUn_gl000220: outside the pattern
    assert ((regions["end"] - regions["start"]) == 1000).all()
    chr3 = regions[regions["chrom"] == "chr3"]
    assert not ((chr3["start"] < black_end) & (chr3["end"] > black_start)).any()
    background = regions[regions["background"] == 1]
    positives = regions[regions["background"] == 0]
    assert (background[["E116", "E123"]] == 0).all().all()
    assert (positives[["E116", "E123"]].sum(axis=1) >= 1).all()
    assert len(background) > 0.8 * len(positives)  # ratio 1, the tiny genome permitting
    peaks = pd.concat([_peaks(folder / files[cell]) for cell in ("E116", "E123")])
    for row in background.itertuples(index=False):
        same = peaks[peaks["chrom"] == row.chrom]
        assert not ((same["start"] < row.end) & (same["end"] > row.start)).any()
    total = 0
    for split, chrom in (("train", "chr3"), ("valid", "chr1"), ("test", "chr2")):
        path = run / "results" / "datasets" / "peaks" / f"{split}.h5"
        with h5py.File(path) as h5:
            assert list(h5.attrs["tasks"]) == ["E116", "E123"]
            total += h5["sequences"].shape[0]
        assert set(read_table(path, "regions")["chrom"]) == {chrom}
    assert total == len(regions)


@pytest.mark.slow
def test_trained_scored_and_drawn(run):
    summary = pd.read_csv(run / "results" / "summary.tsv", sep="\t")
    assert {"seqs", "peaks"} <= set(summary["dataset"])
    for dataset, tasks in (
        ("seqs", {"both", "GATA_disc1", "TAL1_known1"}),
        ("peaks", {"E116", "E123"}),
    ):
        metrics = pd.read_csv(run / "results" / "metrics" / f"{dataset}.tsv", sep="\t")
        assert set(metrics["variant"]) == {"std", "symm"}
        assert set(metrics["seed"]) == {0, 1}
        assert set(metrics["task"]) == tasks
        scores = pd.read_csv(run / "results" / "figures" / f"importance_{dataset}.tsv", sep="\t")
        assert set(scores["variant"]) == {"std", "symm"}
        assert np.isfinite(scores["symmetry"]).all()
    figures = run / "results" / "figures"
    for name in ("fig2_performance", "fig3_learning_curves", "importance_seqs", "importance_peaks"):
        assert (figures / f"{name}.png").stat().st_size > 1000
    importance = pd.read_csv(run / "results" / "importance" / "peaks" / "std.tsv", sep="\t")
    assert set(importance["n_sequences"]) == {10}  # importance.regions of the test split


@pytest.mark.slow
def test_attribution_tracks_open_in_pybigtools(run):
    """One bigWig per variant and task, of 8 sampled test regions' per-base attributions."""
    from sfcrepro.explain.importance import sample_rows

    pybigtools = pytest.importorskip("pybigtools")
    regions = read_table(run / "results" / "datasets" / "peaks" / "test.h5", "regions")
    sampled = set(sample_rows(len(regions), 8, 0))  # tracks.regions and tracks.seed
    for variant in ("std", "symm"):
        for task in ("E116", "E123"):
            path = run / "results" / "tracks" / "peaks" / variant / f"{task}.bw"
            with pybigtools.open(str(path)) as bw:
                assert set(bw.chroms()) == {"chr2"}  # the test split; no data, no entry
                values = [
                    np.asarray(bw.values(row.chrom, int(row.start), int(row.end), fillna=None))
                    for row in regions.itertuples(index=False)
                ]
            assert all(np.isfinite(values[i]).all() for i in sampled)
            assert not all(np.isfinite(v).all() for v in values)  # the others are not all there
            assert max(np.abs(values[i]).max() for i in sampled) > 0


@pytest.mark.slow
def test_region_predictions_open_in_pybedtools(run):
    pybedtools = pytest.importorskip("pybedtools")
    path = run / "results" / "predictions" / "peaks" / "symm.bed.gz"
    table = pd.read_csv(path, sep="\t").rename(columns={"#chrom": "chrom"})
    valid = read_table(run / "results" / "datasets" / "peaks" / "valid.h5", "regions")
    test = read_table(run / "results" / "datasets" / "peaks" / "test.h5", "regions")
    assert len(table) == len(valid) + len(test)
    assert list(table.columns[:4]) == ["chrom", "start", "end", "name"]
    assert {"E116_seed0", "E123_seed1", "E116_label"} <= set(table.columns)
    assert table.filter(like="_seed").stack().between(0, 1).all()
    intervals = list(pybedtools.BedTool(str(path)))
    assert len(intervals) == len(table)
    assert (intervals[0].chrom, intervals[0].start) == (valid["chrom"][0], valid["start"][0])
    assert intervals[-1].name == f"test_{len(test) - 1}"


@pytest.mark.slow
def test_modisco_inputs_open_in_modisco_lite(run):
    from modiscolite.cli import _load_input

    from sfcrepro.data.io import read_h5
    from sfcrepro.data.sequences import one_hot
    from sfcrepro.explain.discovery import modisco_hypothetical

    saved = read_h5(run / "results" / "attribution" / "seqs" / "std.h5")
    folder = run / "results" / "discovery" / "seqs" / "std_modisco"
    ohe, shap = _load_input(folder / "ohe.npz"), _load_input(folder / "shap.npz")
    n = len(saved["seeds"]) * len(saved["sequences"])
    assert ohe.shape == shap.shape == (n, 4, 200)  # (N, 4, L), as `modisco motifs` reads them
    # What TF-MoDISco got: the hypothetical scores, with the method's own at the observed base.
    x = one_hot(np.tile(saved["sequences"], (len(saved["seeds"]), 1)))
    expected = modisco_hypothetical(
        x, saved["scores"].reshape(n, 200, 4), saved["hypothetical"].reshape(n, 200, 4)
    )
    assert np.allclose(shap.transpose(0, 2, 1), expected)
    assert np.array_equal(ohe.transpose(0, 2, 1), x)


@pytest.mark.slow
def test_attribution_scored_against_the_simdata_motifs(run):
    scores = pd.read_csv(run / "results" / "attribution" / "seqs.tsv", sep="\t")
    assert set(scores["method"]) == {"gradient_x_input", "deeplift_shap"}
    assert set(scores["seed"]) == {0, 1} and set(scores["variant"]) == {"std", "symm"}
    scored = scores["auroc"].dropna()
    assert len(scored) and scored.between(0, 1).all()
    assert (run / "results" / "discovery" / "seqs.tsv").exists()


@pytest.mark.slow
def test_bad_table_stops_with_file_line_and_fix(sources, tmp_path):
    folder, base, _, _ = sources
    (folder / "bad.tsv").write_text("name\tsequence\tbound\nr1\tACGTACGT\t1\nr2\tACGTACG\t0\n")
    dataset = {
        "type": "sequences",
        "sequences": {"url": f"{base}/bad.tsv"},
        "tasks": ["bound"],
        "seed": 1,
        "architecture": "simulated_tf",
        "training": {"max_epochs": 1},
        "variants": {"std": {"head": "std"}},
    }
    overlay = _overlay(tmp_path / "bad.yaml", base, {"sim_tf": {"enabled": False}, "bad": dataset})
    proc = snakemake(tmp_path, [TINY, overlay], "--cores", "1")
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "build_dataset" / "bad.log").read_text()
    assert "bad.tsv, line 3" in log and "Fix:" in log
    assert not list((tmp_path / "results" / "datasets").glob("bad/*"))


@pytest.mark.parametrize(
    "example,jobs",
    [
        (
            "deeplift_simdata.yaml",
            {"download": 1, "build_dataset": 1, "train": 6, "attribution_regions": 3},
        ),
        # hg38, two CTCF peak files (one shared by both datasets) and the blacklist
        (
            "hg38_peaks.yaml",
            {"download": 4, "prepare_genome": 1, "peak_regions": 2, "build_peaks": 2, "train": 6},
        ),
    ],
)
def test_example_configs_dry_run(tmp_path, example, jobs):
    configs = [ROOT / "config" / "config.yaml", ROOT / "config" / "examples" / example]
    proc = snakemake(tmp_path, configs, "--dry-run", "--quiet", "rules", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    assert {rule: counts.get(rule) for rule in jobs} == jobs
    assert "simulate_tf_binding" not in counts  # the paper's datasets are switched off
