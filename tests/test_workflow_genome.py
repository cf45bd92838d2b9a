"""End-to-end: every dataset of the paper, tiny, the genome-derived ones built from files served on
127.0.0.1 (simulated accessibility, in vivo TF binding, hematopoiesis accessibility)."""

import gzip
import shutil

import h5py
import pandas as pd
import pytest
import yaml
from conftest import GENOME_OVERLAY, TINY
from conftest import snakemake as run_snakemake
from genome_fixture import CHROMS, make

from sfcrepro.data.motifs import default_motif_file
from sfcrepro.data.sequences import encode

DATASETS = {"sim_tf", "sim_access", "invivo_tf", "invivo_access"}


def overlay(tmp_path, base_url, **changes):
    """Write the genome-datasets overlay with BASE replaced."""
    config = yaml.safe_load(GENOME_OVERLAY.read_text().replace("BASE", base_url))
    for dotted, value in changes.items():
        node = config
        *keys, last = dotted.split(".")
        for key in keys:
            node = node.setdefault(key, {})
        node[last] = value
    path = tmp_path / "overlay.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))  # config order is task order
    return path


def snakemake(workdir, config, *args):
    """Snakemake on the tiny config with the overlay ``config``."""
    return run_snakemake(workdir, [TINY, config], *args)


def read_genome(path):
    """The fixture genome (one line per chromosome) as a dict of sequences."""
    genome = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                name = line[1:].strip()
            else:
                genome[name] = line.strip()
    return genome


@pytest.fixture(scope="module")
def sources(served):
    folder, base = served
    files = make(folder)
    # The motif file is fetched like every other source.
    shutil.copyfile(default_motif_file(), folder / "encode_motifs.txt.gz")
    files["motifs"] = "encode_motifs.txt.gz"
    return folder, base, files


@pytest.fixture(scope="module")
def run(sources, tiny_run, tmp_path_factory):
    """The workflow with every dataset. It starts from a copy of the session's tiny run (the same
    sim_tf jobs, which Snakemake finds complete), so only the genome-derived datasets and what
    gathers all datasets (metrics summary, figures) run here."""
    _, base, _ = sources
    workdir = tmp_path_factory.mktemp("all_datasets")
    shutil.copytree(tiny_run[0], workdir, symlinks=True, dirs_exist_ok=True)
    config = overlay(
        workdir, base, **{"datasets.sim_access.motif_file": {"url": f"{base}/encode_motifs.txt.gz"}}
    )
    proc = snakemake(workdir, config, "--cores", "2")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return workdir


@pytest.mark.slow
def test_downloads_are_recorded(run, sources):
    _, base, files = sources
    ledger = pd.read_csv(run / "resources" / "checksums.tsv", sep="\t")
    assert sorted(ledger["url"]) == sorted(f"{base}/{name}" for name in files.values())
    assert (
        "encode_motifs.txt.gz" in (run / "logs" / "build_sim_access" / "sim_access.log").read_text()
    )
    assert (run / "resources" / "genome" / "tiny.fa.fai").exists()


@pytest.mark.slow
def test_windows_summits_and_splits(run):
    windows = pd.read_csv(run / "results" / "regions" / "sim_access" / "windows.tsv.gz", sep="\t")
    assert list(windows.columns) == ["chrom", "start", "end", "E116", "E123"]
    assert set(windows["chrom"]) <= {
        "chr1",
        "chr2",
        "chr3",
    }  # chrUn_gl000220 is outside the pattern
    assert ((windows["end"] - windows["start"]) == 1000).all()
    assert (windows["start"] >= 0).all() and (windows["end"] <= windows["chrom"].map(CHROMS)).all()
    assert windows[["E116", "E123"]].sum().min() > 0
    summits = pd.read_csv(run / "results" / "regions" / "sim_access" / "summits.tsv.gz", sep="\t")
    assert set(summits["tf"]) == {"CTCF", "GATA1"}
    total = 0
    for split, chroms in (("train", {"chr3"}), ("valid", {"chr1"}), ("test", {"chr2"})):
        with h5py.File(run / "results" / "datasets" / "sim_access" / f"{split}.h5") as h5:
            assert list(h5.attrs["tasks"]) == ["E116", "E123"]
            assert h5["sequences"].shape[1] == 1000
            assert {c.decode() for c in h5["tables/regions/chrom"][:]} == chroms
            total += h5["sequences"].shape[0]
    assert total == len(windows)


@pytest.mark.slow
def test_trained_and_scored(run):
    metrics = pd.read_csv(run / "results" / "metrics" / "sim_access.tsv", sep="\t")
    assert set(metrics["variant"]) == {"std", "sep"}
    assert set(metrics["task"]) == {"E116", "E123"}
    summary = pd.read_csv(run / "results" / "summary.tsv", sep="\t")
    assert "sim_access" in set(summary["dataset"])
    assert (run / "results" / "figures" / "fig2_performance.png").stat().st_size > 1000


@pytest.mark.slow
def test_attribution_on_simulated_accessibility_regions(run):
    results = run / "results"
    scores = pd.read_csv(results / "attribution" / "sim_access.tsv", sep="\t")
    variants = {"std", "sep"}
    assert set(scores["variant"]) == variants and set(scores["seed"]) == {0, 1}
    assert set(scores["method"]) == {"gradient_x_input", "deeplift_shap"}
    assert set(scores["task"]) == {"E116"} and scores["auroc"].dropna().between(0, 1).all()
    with h5py.File(results / "datasets" / "sim_access" / "test.h5") as h5:
        n = min(6, len(h5["sequences"]))  # 6 sampled test regions, or all of them
    with h5py.File(results / "attribution" / "sim_access" / "sep.h5") as h5:
        assert h5["scores"].shape == (2, n, 1000, 4) and n > 0
    found = pd.read_csv(results / "discovery" / "sim_access.tsv", sep="\t")
    assert (
        set(found["motif"]) == {"CTCF_known1", "GATA_known1"} and set(found["variant"]) == variants
    )
    assert (results / "figures" / "attribution_sim_access.png").stat().st_size > 1000


def test_corrupted_download_fails_the_checksum(sources, tmp_path):
    _, base, files = sources
    config = overlay(tmp_path, base, **{"datasets.sim_access.cell_types.E116.sha256": "0" * 64})
    target = f"resources/downloads/{files['E116']}"
    proc = snakemake(tmp_path, config, "--cores", "1", target)
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "download" / f"{files['E116']}.log").read_text()
    assert "but the config expects 0000" in log
    assert not (tmp_path / target).exists()


@pytest.mark.slow
def test_invivo_access_calls_windows_and_real_sequence(run, sources):
    folder, _, files = sources
    calls = pd.read_csv(run / "results" / "regions" / "invivo_access" / "calls.tsv.gz", sep="\t")
    assert list(calls.columns) == ["chrom", "start", "end", "HSC", "MPP", "LSC"]
    assert calls[["HSC", "MPP", "LSC"]].sum().min() > 0
    log = (run / "logs" / "accessibility_calls" / "invivo_access.log").read_text()
    assert "HSC: 2 samples (Donor2596-HSC-1A-150303, 4983-1A)" in log
    windows = pd.read_csv(
        run / "results" / "regions" / "invivo_access" / "windows.tsv.gz", sep="\t"
    )
    assert list(windows.columns) == ["chrom", "start", "end", "HSC", "MPP", "LSC"]
    # The default recipe (peaks): one 1000 bp region centred on each peak of chr1-3, labelled by its calls.
    used = calls[calls["chrom"].isin(["chr1", "chr2", "chr3"])]
    centre = (used["start"] + used["end"]) // 2
    pd.testing.assert_frame_equal(
        windows, used.assign(start=centre - 500, end=centre + 500).reset_index(drop=True)
    )
    examples = 0
    for split in ("train", "valid", "test"):
        with h5py.File(run / "results" / "datasets" / "invivo_access" / f"{split}.h5") as h5:
            examples += len(h5["sequences"])
    assert examples == len(windows)
    genome = read_genome(folder / files["genome"])
    with h5py.File(run / "results" / "datasets" / "invivo_access" / "train.h5") as h5:
        assert list(h5.attrs["tasks"]) == ["HSC", "MPP", "LSC"]
        chrom = h5["tables/regions/chrom"][0].decode()
        start = int(h5["tables/regions/start"][0])
        expected = encode(genome[chrom][start : start + 1000])
        assert (h5["sequences"][0] == expected).all()  # real genome sequence, not shuffled
    metrics = pd.read_csv(run / "results" / "metrics" / "invivo_access.tsv", sep="\t")
    assert set(metrics["variant"]) == {"std", "symm", "high_reg"}
    summary = pd.read_csv(run / "results" / "summary.tsv", sep="\t")
    assert set(summary["dataset"]) == DATASETS


def read_narrowpeak(path):
    with gzip.open(path, "rt") as fh:
        return [
            (f[0], int(f[1]), int(f[2]), int(f[1]) + int(f[9]))
            for f in (line.split("\t") for line in fh)
        ]


def expected_tf_examples(chip, relaxed, dnase, length=1000):
    """Positives and negatives by the paper's rule, written out plainly (no BEDTools)."""

    def centred(peaks, label):
        out = set()
        for chrom, _, _, summit in peaks:
            start = summit - length // 2
            if chrom in ("chr1", "chr2", "chr3") and start >= 0 and start + length <= CHROMS[chrom]:
                out.add((chrom, start, start + length, label))
        return out

    free = [
        p for p in dnase if not any(p[0] == r[0] and p[1] < r[2] and r[1] < p[2] for r in relaxed)
    ]
    positives = centred(chip, 1)
    negatives = {n for n in centred(free, 0) if (*n[:3], 1) not in positives}
    return positives | negatives


@pytest.mark.slow
def test_invivo_tf_examples_splits_and_sequence(run, sources):
    folder, _, files = sources
    genome = read_genome(folder / files["genome"])
    dnase = read_narrowpeak(folder / files["E116"])
    for tf, relaxed_file in (("CTCF", files["CTCF_relaxed"]), ("GATA1", files["GATA1"])):
        examples = pd.read_csv(
            run / "results" / "regions" / "invivo_tf" / tf / "examples.tsv.gz", sep="\t"
        )
        assert list(examples.columns) == ["chrom", "start", "end", tf]
        got = set(examples.itertuples(index=False, name=None))
        assert got == expected_tf_examples(
            read_narrowpeak(folder / files[tf]), read_narrowpeak(folder / relaxed_file), dnase
        )
        assert 0 < examples[tf].sum() < len(examples)
        total = 0
        for split, chroms in (("train", {"chr3"}), ("valid", {"chr1"}), ("test", {"chr2"})):
            with h5py.File(run / "results" / "datasets" / "invivo_tf" / tf / f"{split}.h5") as h5:
                assert list(h5.attrs["tasks"]) == [tf]
                assert {c.decode() for c in h5["tables/regions/chrom"][:]} == chroms
                chrom = h5["tables/regions/chrom"][0].decode()
                start = int(h5["tables/regions/start"][0])
                assert (h5["sequences"][0] == encode(genome[chrom][start : start + 1000])).all()
                total += h5["sequences"].shape[0]
        assert total == len(examples)
    # The relaxed peaks matter: the E116 peaks under the weak relaxed CTCF peaks are GATA1 negatives
    # (where no GATA1 peak overlaps them) but never CTCF negatives.
    ctcf = pd.read_csv(
        run / "results" / "regions" / "invivo_tf" / "CTCF" / "examples.tsv.gz", sep="\t"
    )
    gata = pd.read_csv(
        run / "results" / "regions" / "invivo_tf" / "GATA1" / "examples.tsv.gz", sep="\t"
    )
    assert (gata["GATA1"] == 0).sum() > (ctcf["CTCF"] == 0).sum()
    log = (run / "logs" / "train" / "invivo_tf" / "CTCF" / "symm" / "seeds0-1.log").read_text()
    assert "class weights (balanced)" in log
    assert (
        run / "results" / "models" / "invivo_tf" / "GATA1" / "symm" / "seed1" / "model.keras"
    ).exists()
    metrics = pd.read_csv(run / "results" / "metrics" / "invivo_tf.tsv", sep="\t")
    assert set(metrics["task"]) == {"CTCF", "GATA1"} and set(metrics["variant"]) == {"std", "symm"}
    assert len(metrics) == 2 * 2 * 2 * 2  # TFs x variants x seeds x splits


@pytest.mark.slow
def test_interpretation_figures_and_report(run):
    figures = run / "results" / "figures"
    for name in (
        "fig4b_importance_invivo_tf",
        "fig4c_importance_invivo_access",
        "fig5_positional_weights",
    ):
        for suffix in ("png", "pdf"):
            assert (figures / f"{name}.{suffix}").stat().st_size > 1000
    b = pd.read_csv(figures / "fig4b_importance_invivo_tf.tsv", sep="\t")
    assert list(b["variant"]) == ["std", "symm"] and set(b["task"]) == {"CTCF"}
    with h5py.File(run / "results" / "datasets" / "invivo_tf" / "CTCF" / "test.h5") as h5:
        assert set(b["n_sequences"]) == {h5["sequences"].shape[0]}  # every test region
    c = pd.read_csv(figures / "fig4c_importance_invivo_access.tsv", sep="\t")
    assert list(c["variant"]) == ["std", "symm", "high_reg"] and set(c["n_sequences"]) == {6}
    assert c[["symmetry", "smoothness"]].notna().all().all()
    importance = pd.read_csv(
        run / "results" / "importance" / "invivo_access" / "symm.tsv", sep="\t"
    )
    assert len(importance) == 1000 and set(importance["task"]) == {"MPP"}
    weights = pd.read_csv(figures / "fig5_positional_weights.tsv", sep="\t")
    assert list(dict.fromkeys(weights["variant"])) == ["symm", "high_reg"]
    assert set(weights["curvature"]) == {0.0, 10.0}
    for _, rows in weights.groupby("variant"):
        assert sorted(rows["unit"]) == list(range(16)) and rows["cluster"].is_monotonic_increasing
    proc = snakemake(
        run, run / "overlay.yaml", "--report", "results/report.html"
    )  # the run's overlay
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = (run / "results" / "report.html").read_text()
    for category in (
        "All datasets",
        "In vivo TF binding (tiny)",
        "Hematopoiesis accessibility (tiny)",
        "Simulated TF binding (tiny)",
        "fig4c_importance_invivo_access",
        "fig5_positional_weights",
    ):
        assert category in html


@pytest.mark.slow
def test_every_dataset_in_the_performance_figure(run):
    summary = pd.read_csv(run / "results" / "summary.tsv", sep="\t")
    assert set(summary["dataset"]) == DATASETS
    log = (run / "logs" / "figures" / "fig2_performance.log").read_text()
    assert "4 panels" in log
    for name in (
        "fig2_performance",
        "fig3_learning_curves",
        "fig4a_importance_sim_tf",
        "figS1_lr_robustness",
    ):
        assert (run / "results" / "figures" / f"{name}.png").stat().st_size > 1000
