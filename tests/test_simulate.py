"""Statistics of the simulated TF-binding data (sfcrepro.data.simulate)."""

import math
from pathlib import Path

import numpy as np
import pytest

from sfcrepro.data.motifs import read_motifs
from sfcrepro.data.simulate import background, simulate_tf_binding, split_rng, truncated_poisson

MOTIFS = read_motifs(Path(__file__).with_name("data") / "encode_motifs.subset.txt")
TAL1, GATA = MOTIFS["TAL1_known1"], MOTIFS["GATA_disc1"]


def truncated_mean(lam, low=1, high=3):
    """Mean of Poisson(lam) restricted to [low, high]."""
    k = np.arange(low, high + 1)
    weights = lam**k / np.array([math.factorial(int(i)) for i in k])
    return float((k * weights).sum() / weights.sum())


@pytest.fixture(scope="module")
def data():
    return simulate_tf_binding(TAL1, GATA, per_class=400, rng=split_rng(3, "train"))


def test_shapes_tasks_and_class_balance(data):
    assert data.sequences.shape == (1600, 200) and data.sequences.dtype == np.uint8
    assert data.tasks == ["both", "TAL1_known1", "GATA_disc1"]
    patterns, counts = np.unique(data.labels, axis=0, return_counts=True)
    assert patterns.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 1, 1]]
    assert counts.tolist() == [400, 400, 400, 400]


def test_labels_match_inserted_motifs(data):
    has = np.zeros((len(data.labels), 2), dtype=bool)
    for column, name in enumerate(["TAL1_known1", "GATA_disc1"]):
        has[data.motifs.loc[data.motifs["motif"] == name, "index"].to_numpy(), column] = True
    np.testing.assert_array_equal(data.labels[:, 1:], has.astype(np.uint8))
    np.testing.assert_array_equal(data.labels[:, 0], has.all(axis=1))


def test_instance_counts_and_no_overlaps(data):
    widths = {"TAL1_known1": 16, "GATA_disc1": 10}
    per_seq = data.motifs.groupby(["index", "motif"]).size()
    assert per_seq.between(1, 3).all()
    single = data.labels[:, 0] == 0
    single_counts = per_seq[np.isin(per_seq.index.get_level_values(0), np.flatnonzero(single))]
    both_counts = per_seq[np.isin(per_seq.index.get_level_values(0), np.flatnonzero(~single))]
    assert single_counts.mean() == pytest.approx(truncated_mean(2), abs=0.06)  # 1.875
    assert both_counts.mean() == pytest.approx(truncated_mean(1), abs=0.06)  # 1.5
    for _, rows in data.motifs.groupby("index"):
        ends = rows["start"].to_numpy() + rows["motif"].map(widths).to_numpy()
        assert rows["start"].min() >= 0 and ends.max() <= 200
        order = np.argsort(rows["start"].to_numpy())
        assert np.all(rows["start"].to_numpy()[order][1:] >= ends[order][:-1])


def test_inserted_instances_score_high_under_their_pwm(data):
    rows = data.motifs[data.motifs["motif"] == "TAL1_known1"].head(200)
    logp = np.log(TAL1.probs * 0.999 + 0.00025)
    scores = [
        logp[np.arange(16), data.sequences[i, s : s + 16]].sum()
        for i, s in zip(rows["index"], rows["start"], strict=False)
    ]
    shuffled = [
        logp[np.arange(16), data.sequences[i, 150:166]].sum()
        for i in np.flatnonzero(data.labels.sum(1) == 0)[:200]
    ]
    assert np.median(scores) > np.median(shuffled) + 10


def test_background_gc_outside_motifs(data):
    mask = np.ones(data.sequences.shape, dtype=bool)
    widths = {"TAL1_known1": 16, "GATA_disc1": 10}
    for i, motif, start in data.motifs.itertuples(index=False):
        mask[i, start : start + widths[motif]] = False
    bases = data.sequences[mask]
    gc = np.isin(bases, [1, 2]).mean()
    assert gc == pytest.approx(0.40, abs=0.005)
    counts = np.bincount(bases, minlength=4) / len(bases)
    np.testing.assert_allclose(counts, [0.3, 0.2, 0.2, 0.3], atol=0.005)


def test_seeded_and_independent_splits():
    a = simulate_tf_binding(TAL1, GATA, 20, split_rng(1, "valid"))
    b = simulate_tf_binding(TAL1, GATA, 20, split_rng(1, "valid"))
    c = simulate_tf_binding(TAL1, GATA, 20, split_rng(1, "test"))
    np.testing.assert_array_equal(a.sequences, b.sequences)
    assert a.motifs.equals(b.motifs)
    assert not np.array_equal(a.sequences, c.sequences)


def test_truncated_poisson_range_and_background_errors():
    draws = truncated_poisson(2, 1, 3, 10_000, np.random.default_rng(0))
    assert draws.min() == 1 and draws.max() == 3
    with pytest.raises(ValueError, match="GC fraction"):
        background(2, 10, 1.5, np.random.default_rng(0))
    with pytest.raises(
        ValueError,
        match=r"of motif file m.txt are too long .* 100 bp sequences; set "
        r"simulation.length to at least \d+",
    ):
        simulate_tf_binding(
            TAL1, GATA, 1, np.random.default_rng(0), length=100, source="motif file m.txt"
        )
