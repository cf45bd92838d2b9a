"""benchmarks/paper_scale_sim_access.py: the synthetic paper-scale inputs, at a tiny scale."""

import importlib.util
from pathlib import Path

import pyfaidx
import yaml
from snakemake.utils import validate

from sfcrepro.config import check, enabled_datasets
from sfcrepro.regions import read_peaks

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("paper_scale", ROOT / "benchmarks" / "paper_scale_sim_access.py")
paper_scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paper_scale)


def test_inputs_have_hg19_shape_and_valid_files(tmp_path):
    info = paper_scale.make_inputs(tmp_path, scale=1e-3, cell_types=2, peaks=150_000, tfs=3, summits=30_000, seed=0)
    genome = pyfaidx.Fasta(str(tmp_path / "genome.fa"))
    sizes = {name: len(genome[name]) for name in genome.keys()}
    assert list(sizes) == list(paper_scale.HG19)
    assert sizes["chr1"] == round(249_250_621 * 1e-3) and set(str(genome["chr2"][:1000])) <= set("ACGT")
    assert info["genome_bp"] == sum(sizes.values()) and info["peaks_per_cell_type"] == 150 and info["tfs"] == 3
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
    assert [t["motif"] for t in dataset["tfs"].values()] == ["CTCF_known1", "YY1_known1", "GATA_known1"]
