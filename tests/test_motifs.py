"""Tests of sfcrepro.data.motifs on subsets of real motif files (tests/data/README.md)."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from sfcrepro.data.motifs import PWM, default_motif_file, get_motif, read_motifs

DATA = Path(__file__).with_name("data")


def test_read_encode_compendium():
    motifs = read_motifs(DATA / "encode_motifs.subset.txt")
    assert sorted(motifs) == ["GATA_disc1", "TAL1_known1"]
    tal1 = motifs["TAL1_known1"]
    assert len(tal1) == 16 and len(motifs["GATA_disc1"]) == 10
    np.testing.assert_allclose(tal1.probs[5], [0, 1, 0, 0])  # the 'C' of CAGATG
    np.testing.assert_allclose(tal1.probs.sum(axis=1), 1)


def test_read_meme_and_jaspar():
    meme = read_motifs(DATA / "cisbp.subset.meme")
    assert list(meme) == ["M0085_1.02", "M0104_1.02"]
    assert meme["M0085_1.02"].probs.shape == (10, 4)
    jaspar = read_motifs(DATA / "jaspar.subset.txt")
    assert list(jaspar) == ["MA0002.2", "MA0003.3"]
    runx1 = jaspar["MA0002.2"]
    assert runx1.probs.shape == (11, 4)
    counts = np.array([287, 496, 696, 521], dtype=float)  # first column of the counts
    np.testing.assert_allclose(runx1.probs[0], counts / counts.sum())


def test_gzip_is_transparent(tmp_path):
    path = tmp_path / "m.txt.gz"
    path.write_bytes(gzip.compress((DATA / "encode_motifs.subset.txt").read_bytes()))
    assert sorted(read_motifs(path)) == ["GATA_disc1", "TAL1_known1"]


def test_bad_row_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(">M1\nA 0.2 0.3 0.4 0.1\nC 0.2 oops 0.4 0.1\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 3"):
        read_motifs(path, format="encode")


def test_unknown_motif_suggests_close_names():
    motifs = read_motifs(DATA / "encode_motifs.subset.txt")
    with pytest.raises(KeyError, match="Closest names: TAL1_known1"):
        get_motif(motifs, "TAL1_known")


def test_default_motif_file_is_simdnas_compendium():
    motifs = read_motifs(default_motif_file())
    assert len(motifs) == 2067
    reference = read_motifs(DATA / "encode_motifs.subset.txt")
    np.testing.assert_allclose(motifs["GATA_disc1"].probs, reference["GATA_disc1"].probs)


def test_sampling_follows_smoothed_pwm():
    pwm = PWM("toy", [[1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0, 0, 0.5, 0.5]])
    draws = pwm.sample(200_000, np.random.default_rng(0))
    assert draws.shape == (200_000, 3) and draws.dtype == np.uint8
    freqs = np.stack([np.bincount(draws[:, i], minlength=4) / len(draws) for i in range(3)])
    expected = pwm.probs * (1 - 0.001) + 0.001 / 4
    np.testing.assert_allclose(freqs, expected, atol=0.004)
    assert (draws[:, 0] != 0).sum() > 0  # smoothing leaves other bases a small chance


def test_pwm_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(length, 4\)"):
        PWM("bad", [[0.5, 0.5]])
