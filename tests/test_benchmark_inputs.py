"""benchmarks/paper_scale_sim_access.py: the synthetic paper-scale inputs, at a tiny scale."""

import importlib.util

import pyfaidx
import yaml
from conftest import ROOT
from snakemake.utils import validate

from sfcrepro.data.regions import read_peaks
from sfcrepro.pipeline.config import check, enabled_datasets

spec = importlib.util.spec_from_file_location(
    "paper_scale", ROOT / "benchmarks" / "paper_scale_sim_access.py"
)
paper_scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paper_scale)


def test_inputs_have_hg19_shape_and_valid_files(tmp_path):
    info = paper_scale.make_inputs(
        tmp_path, scale=1e-3, cell_types=2, peaks=150_000, tfs=3, summits=30_000, seed=0
    )
    genome = pyfaidx.Fasta(str(tmp_path / "genome.fa"))
    sizes = {name: len(genome[name]) for name in genome.keys()}
    assert list(sizes) == list(paper_scale.HG19)
    assert sizes["chr1"] == round(249_250_621 * 1e-3) and set(str(genome["chr2"][:1000])) <= set(
        "ACGT"
    )
    assert (
        info["genome_bp"] == sum(sizes.values())
        and info["peaks_per_cell_type"] == 150
        and info["tfs"] == 3
    )
    for cell in ("CELL1", "CELL2"):
        peaks, bad = read_peaks(tmp_path / f"{cell}.narrowPeak.gz", sizes, summits=True)
        assert len(peaks) == 150 and bad == 0
        assert (peaks["end"] - peaks["start"]).between(150, 1500).all()
    tf, bad = read_peaks(tmp_path / "TF01.narrowPeak.gz", sizes, summits=True)
    assert len(tf) == 50 and bad == 0 and tf["summit"].between(tf["start"], tf["end"]).all()

    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    validate(config, schema=str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert check(config) == []
    assert list(enabled_datasets(config)) == ["paper_scale"]
    dataset = config["datasets"]["paper_scale"]
    assert dataset["type"] == "simulated_access" and dataset["genome"] == "synthetic"
    assert [t["motif"] for t in dataset["tfs"].values()] == [
        "CTCF_known1",
        "YY1_known1",
        "GATA_known1",
    ]


def test_gpu_paper_scale_overlay_trains_the_four_variants_over_three_seeds(tmp_path):
    # config/gpu_paper_scale.yaml on the generated configuration: valid, and one job per variant
    # (its three seeds in one process), bfloat16 training at batch 1024.
    from conftest import job_counts, snakemake

    from sfcrepro.pipeline.settings import training_settings

    paper_scale.make_inputs(
        tmp_path, scale=1e-3, cell_types=2, peaks=150_000, tfs=2, summits=30_000, seed=0
    )
    overlay = ROOT / "config" / "gpu_paper_scale.yaml"
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    extra = yaml.safe_load(overlay.read_text())
    config.update({k: v for k, v in extra.items() if k != "datasets"})
    config["datasets"]["paper_scale"]["training"].update(
        extra["datasets"]["paper_scale"]["training"]
    )
    validate(config, schema=str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert check(config) == []
    dataset = config["datasets"]["paper_scale"]
    assert list(dataset["variants"]) == ["std", "std_lr1e-4", "sep", "symm"]
    sep = training_settings(dataset, "sep", 0, "paper_scale/sep")
    assert (sep["precision"], sep["batch_size"], sep["architecture"]) == (
        "mixed_bfloat16",
        1024,
        "basset",
    )
    proc = snakemake(
        tmp_path / "run",
        [tmp_path / "config.yaml", overlay],
        *("--dry-run", "--quiet", "rules"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    assert counts["train"] == 4 and counts["build_sim_access"] == 1
    assert "train_seeds0to2" in proc.stdout  # seeds 0-2 in one job


invivo_spec = importlib.util.spec_from_file_location(
    "paper_scale_invivo", ROOT / "benchmarks" / "paper_scale_invivo_access.py"
)
paper_scale_invivo = importlib.util.module_from_spec(invivo_spec)
invivo_spec.loader.exec_module(paper_scale_invivo)


def test_invivo_access_inputs_have_the_counts_matrix_shape_and_a_valid_config(tmp_path):
    import pandas as pd

    from sfcrepro.data.invivo import calls_from_counts, read_counts

    info = paper_scale_invivo.make_inputs(tmp_path, scale=1e-3, seed=0)
    genome = pyfaidx.Fasta(str(tmp_path / "genome.fa"))
    sizes = {name: len(genome[name]) for name in genome.keys()}
    assert list(sizes) == list(paper_scale.HG19) and sizes["chr1"] == round(249_250_621 * 1e-3)
    assert info["peaks"] == 591 and info["samples"] == 132
    peaks, counts = read_counts(tmp_path / "counts.txt.gz")
    assert len(peaks) == 591 and (peaks["end"] - peaks["start"] == 501).all()
    assert (peaks["start"] >= 0).all() and (peaks["end"] <= peaks["chrom"].map(sizes)).all()
    order = peaks["chrom"].map({c: i for i, c in enumerate(sizes)})
    assert (order.diff().dropna() >= 0).all()  # genome order
    same = peaks["chrom"].eq(peaks["chrom"].shift())
    assert (peaks["start"][same] >= peaks["end"].shift()[same]).all()  # no overlaps
    columns = pd.read_csv(ROOT / "tests" / "data" / "GSE74912_sample_columns.tsv", sep="\t")
    assert list(counts.columns) == columns["column"].tolist()  # the real column names, in order
    assert paper_scale_invivo.make_inputs(tmp_path, scale=1e-3, seed=0)["reused"]

    for recipe in ("peaks", "tiles"):
        path = paper_scale_invivo.write_config(tmp_path, recipe, scale=1e-3)
        config = yaml.safe_load(path.read_text())
        validate(config, schema=str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
        assert check(config) == []
        assert list(enabled_datasets(config)) == ["paper_scale"]
        dataset = config["datasets"]["paper_scale"]
        assert dataset["type"] == "invivo_access" and dataset["windows"]["recipe"] == recipe
        assert (
            dataset["counts"]["url"] == str(tmp_path / "counts.txt.gz")
            and len(dataset["samples"]) == 16
        )
        assert (
            dataset["calls"]["min_cpm"] == 2000
        )  # 2 CPM / scale: the calls per peak do not depend on the scale
    # Its own patterns give each cell type exactly its columns (the three CD34+ columns none).
    patterns = {cell: entry["pattern"] for cell, entry in dataset["samples"].items()}
    assert len(dataset["unused_samples"]) == 3
    calls = calls_from_counts(
        tmp_path / "counts.txt.gz", patterns, **dataset["calls"], unused=dataset["unused_samples"]
    )
    assert len(calls) == 591 and list(calls.columns[3:]) == list(patterns)
    accessible = calls.iloc[:, 3:].sum(axis=1) > 0
    assert 0.5 < accessible.mean() <= 1 and 0.1 < calls.iloc[:, 3:].to_numpy().mean() < 0.9
