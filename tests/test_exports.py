"""sfcrepro.data.exports: each file is read back with the library of the tool that consumes it."""

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfcrepro.data import exports
from sfcrepro.data.exports import write_bigwig, write_modisco_inputs, write_prediction_bed
from sfcrepro.data.sequences import encode, one_hot, reverse_complement

# --------------------------------------------------------------------------------------------
# bigWig

SIZES = {"chr2": 300, "chr1": 500, "chrUn": 80}  # chrUn has no region
L = 50
# Tiled windows overlapping by 25 and 10 bp, a duplicate, a region adjacent to another, and
# regions given out of order.
REGIONS = [
    ("chr1", 25),
    ("chr2", 240),
    ("chr1", 0),
    ("chr1", 40),
    ("chr2", 10),
    ("chr1", 250),
    ("chr2", 10),
    ("chr1", 200),
    ("chr1", 450),
]


def _scores(rng):
    scores = rng.normal(size=(len(REGIONS), L))
    scores[1] = 1.5  # a constant region: one interval in the file
    return scores


def _reference(scores):
    """Per-base mean over covering regions, NaN where none covers, per chromosome."""
    total = {c: np.zeros(s) for c, s in SIZES.items()}
    count = {c: np.zeros(s) for c, s in SIZES.items()}
    for (chrom, start), row in zip(REGIONS, scores, strict=True):
        total[chrom][start : start + L] += row
        count[chrom][start : start + L] += 1
    with np.errstate(invalid="ignore"):
        return {c: np.where(count[c] > 0, total[c] / count[c], np.nan) for c in SIZES}


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_bigwig_reads_back_with_averaged_overlaps(tmp_path):
    pybigtools = pytest.importorskip("pybigtools")
    scores = _scores(np.random.default_rng(0))
    path = tmp_path / "track.bw"
    chroms, starts = zip(*REGIONS, strict=True)
    write_bigwig(path, SIZES, list(chroms), np.array(starts), scores)
    assert _leftovers(tmp_path) == ["track.bw"]
    reference = _reference(scores)
    with pybigtools.open(str(path)) as bw:
        # Only chromosomes with data are listed (as with bedGraphToBigWig), with their sizes.
        assert bw.chroms() == {"chr2": 300, "chr1": 500}
        for chrom in ("chr1", "chr2"):
            got = bw.values(chrom, 0, SIZES[chrom], fillna=None)
            np.testing.assert_allclose(got, reference[chrom], rtol=1e-6, atol=1e-6)
            assert np.array_equal(np.isnan(got), np.isnan(reference[chrom]))  # uncovered: NaN
        records = list(bw.records("chr2"))
        assert (240, 290, 1.5) in records  # equal values merged into one interval
        starts_ = [r[0] for r in records]
        assert starts_ == sorted(starts_)
        assert all(a[1] <= b[0] for a, b in zip(records, records[1:], strict=False))
        # chr1 covers [0, 90), [200, 300), [450, 500): three runs; one interval per value change.
        chr1 = list(bw.records("chr1"))
        assert chr1[0][0] == 0 and chr1[-1][1] == 500
        assert not any(s < 200 and e > 90 for s, e, _ in chr1)


@pytest.mark.parametrize(
    ("chrom", "start", "message"),
    [
        ("chrX", 10, r"Region 2 \(chrX:10-60\) is on chromosome 'chrX', which is not in"),
        ("chr2", 260, r"Region 2 \(chr2:260-310\) is outside chromosome 'chr2' \(length 300\)"),
        ("chr1", -5, r"Region 2 \(chr1:-5-45\) is outside"),
    ],
)
def test_bigwig_rejects_regions_off_the_genome(tmp_path, chrom, start, message):
    path = tmp_path / "track.bw"
    scores = np.ones((3, L))
    with pytest.raises(ValueError, match=message):
        write_bigwig(path, SIZES, ["chr1", "chr1", chrom], [0, 100, start], scores)
    assert _leftovers(tmp_path) == []


def test_bigwig_rejects_nan_and_leaves_no_file(tmp_path):
    path = tmp_path / "track.bw"
    scores = np.ones((2, L))
    scores[1, 7] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite .* at row 1, position 7"):
        write_bigwig(path, SIZES, ["chr1", "chr2"], [0, 0], scores)
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="must end in .bw"):
        write_bigwig(tmp_path / "track.wig", SIZES, ["chr1"], [0], np.ones((1, L)))
    with pytest.raises(ValueError, match="No scores"):
        write_bigwig(path, SIZES, [], [], np.ones((0, L)))
    assert _leftovers(tmp_path) == []


def test_bigwig_failure_inside_pybigtools_leaves_no_file(tmp_path, monkeypatch):
    """pybigtools prints write errors instead of raising them; the writer checks the file."""
    pytest.importorskip("pybigtools")
    path = tmp_path / "track.bw"
    path.write_bytes(b"old")  # an earlier, complete file stays as it was

    def overlapping(chrom, starts, scores):
        yield chrom, 0, 10, 1.0
        yield chrom, 5, 15, 2.0

    monkeypatch.setattr(exports, "_chrom_intervals", overlapping)
    with pytest.raises(RuntimeError, match="did not write a readable bigWig"):
        write_bigwig(path, SIZES, ["chr1"], [0], np.ones((1, L)))
    assert _leftovers(tmp_path) == ["track.bw"] and path.read_bytes() == b"old"

    def failing(chrom, starts, scores):
        yield chrom, 0, 10, 1.0
        raise KeyError("boom")

    monkeypatch.setattr(exports, "_chrom_intervals", failing)
    with pytest.raises(KeyError, match="boom"):  # the generator's own error, not a print
        write_bigwig(path, SIZES, ["chr1"], [0], np.ones((1, L)))
    assert _leftovers(tmp_path) == ["track.bw"] and path.read_bytes() == b"old"


# --------------------------------------------------------------------------------------------
# modisco-lite


def _modisco_arrays(rng, n=4, length=40):
    codes = rng.integers(0, 5, size=(n, length)).astype(np.uint8)  # with some N
    codes[0, :3] = 4
    hypothetical = rng.normal(size=(n, length, 4)).astype(np.float32)
    return codes, hypothetical


def test_modisco_inputs_have_the_cli_orientation(tmp_path, monkeypatch):
    pytest.importorskip("modiscolite")
    from click.testing import CliRunner
    from modiscolite import cli, precompile, tfmodisco

    codes, hypothetical = _modisco_arrays(np.random.default_rng(1))
    n, length = codes.shape
    ohe_path, shap_path = write_modisco_inputs(tmp_path / "modisco", codes, hypothetical)
    assert (ohe_path.name, shap_path.name) == ("ohe.npz", "shap.npz")
    assert _leftovers(tmp_path / "modisco") == ["ohe.npz", "shap.npz"]

    ohe, shap = cli._load_input(ohe_path), cli._load_input(shap_path)
    assert ohe.shape == shap.shape == (n, 4, length)  # what `modisco motifs -s/-a` reads
    assert cli._read_npz_member(ohe_path, "arr_0") is not None  # its fast path, not a fallback
    np.testing.assert_array_equal(np.load(ohe_path)["arr_0"], ohe)
    sums = ohe.sum(axis=1)
    np.testing.assert_array_equal(sums, (codes != 4).astype(np.float32))  # 1 per base, 0 for N
    np.testing.assert_array_equal(ohe.argmax(axis=1)[codes != 4], codes[codes != 4])
    np.testing.assert_array_equal(shap, hypothetical.transpose(0, 2, 1))

    # The arrays TFMoDISco receives from the command itself: (N, L, 4), equal to the inputs.
    seen = {}

    def fake_modisco(one_hot, hypothetical_contribs, **kwargs):
        seen.update(one_hot=one_hot, hypothetical=hypothetical_contribs)
        return [], []

    monkeypatch.setattr(precompile, "start", lambda: None)
    monkeypatch.setattr(tfmodisco, "_import_dependencies", lambda: None)
    monkeypatch.setattr(tfmodisco, "TFMoDISco", fake_modisco)
    monkeypatch.setattr(cli.modiscolite.io, "save_hdf5", lambda *args: None)
    args = ["motifs", "-s", str(ohe_path), "-a", str(shap_path), "-n", "100", "-w", str(length)]
    result = CliRunner().invoke(cli.cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    np.testing.assert_array_equal(seen["one_hot"], one_hot(codes))
    np.testing.assert_array_equal(seen["hypothetical"], hypothetical)


def test_modisco_inputs_are_reproducible_and_checked(tmp_path):
    codes, hypothetical = _modisco_arrays(np.random.default_rng(2))
    first = write_modisco_inputs(tmp_path / "a", codes, hypothetical)
    second = write_modisco_inputs(tmp_path / "b", codes, hypothetical)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
        with zipfile.ZipFile(a) as archive:  # a fixed timestamp, not the time of writing
            assert [(i.filename, i.date_time) for i in archive.infolist()] == [
                ("arr_0.npy", (1980, 1, 1, 0, 0, 0))
            ]
    with pytest.raises(ValueError, match=r"shape \(N, L, 4\)"):
        write_modisco_inputs(tmp_path / "c", codes, hypothetical[:, :-1])
    bad = hypothetical.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_modisco_inputs(tmp_path / "c", codes, bad)
    with pytest.raises(ValueError, match="0-4"):
        write_modisco_inputs(tmp_path / "c", codes + 1, hypothetical)
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_modisco_cli_finds_a_planted_motif(tmp_path):
    """The real ``modisco motifs`` command on the files (about 10 s)."""
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("modiscolite")
    modisco = Path(sys.executable).parent / "modisco"
    if not modisco.exists():
        pytest.skip("no modisco command next to the Python interpreter")
    rng = np.random.default_rng(0)
    n, length = 300, 200
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    motif = encode("GATAAGCT")
    hypothetical = rng.normal(0, 0.01, size=(n, length, 4)).astype(np.float32)
    for i in range(n):
        pos = rng.integers(60, length - 68)
        codes[i, pos : pos + 8] = motif
        hypothetical[i, np.arange(pos, pos + 8), motif] += 1.0
    ohe_path, shap_path = write_modisco_inputs(tmp_path, codes, hypothetical)
    out = tmp_path / "modisco.h5"
    args = ["-s", ohe_path, "-a", shap_path, "-n", "2000", "-w", str(length), "-l", "2"]
    subprocess.run([modisco, "motifs", *args, "-o", out], check=True, timeout=300)
    with h5py.File(out, "r") as f:
        pattern = f["pos_patterns/pattern_0"]
        consensus = "".join("ACGT"[i] for i in pattern["sequence"][:].argmax(axis=1))
        assert pattern["seqlets/n_seqlets"][()][0] > n // 2
    planted = "GATAAGCT"
    assert (
        planted in consensus
        or "".join("ACGT"[i] for i in reverse_complement(encode(planted))) in consensus
    )


# --------------------------------------------------------------------------------------------
# BED

BED_CHROMS = ["chr2", "chr1", "chr1"]  # written as given, not sorted
BED_STARTS = np.array([100, 0, 50])
BED_ENDS = np.array([300, 200, 250])
PREDICTIONS = {"CTCF_seed0": np.array([0.25, 1 / 3, 1e-7]), "CTCF_seed1": np.array([0.5, 0.1, 1])}
LABELS = {"CTCF": np.array([1, 0, 1], dtype=np.uint8)}


@pytest.mark.parametrize("name", ["preds.bed", "preds.bed.gz"])
def test_prediction_bed_reads_back_with_pybedtools_and_pandas(tmp_path, name):
    pybedtools = pytest.importorskip("pybedtools")
    path = tmp_path / name
    write_prediction_bed(path, BED_CHROMS, BED_STARTS, BED_ENDS, PREDICTIONS, labels=LABELS)
    assert _leftovers(tmp_path) == [name]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        assert fh.readline() == "#chrom\tstart\tend\tname\tCTCF_seed0\tCTCF_seed1\tCTCF\n"

    intervals = list(pybedtools.BedTool(str(path)))
    assert [(i.chrom, i.start, i.end, i.name) for i in intervals] == [
        ("chr2", 100, 300, "region0"),
        ("chr1", 0, 200, "region1"),
        ("chr1", 50, 250, "region2"),
    ]
    np.testing.assert_array_equal(
        [float(i.fields[4]) for i in intervals], PREDICTIONS["CTCF_seed0"]
    )
    assert [i.fields[6] for i in intervals] == ["1", "0", "1"]

    frame = pd.read_csv(path, sep="\t").rename(columns={"#chrom": "chrom"})
    assert list(frame.columns) == [
        "chrom",
        "start",
        "end",
        "name",
        "CTCF_seed0",
        "CTCF_seed1",
        "CTCF",
    ]
    assert frame["chrom"].tolist() == BED_CHROMS
    np.testing.assert_array_equal(frame["start"], BED_STARTS)
    np.testing.assert_array_equal(frame["end"], BED_ENDS)
    for column, values in {**PREDICTIONS, **LABELS}.items():
        np.testing.assert_array_equal(frame[column], values)  # full precision by default


def test_prediction_bed_gzip_is_byte_identical_with_names_and_missing_values(tmp_path):
    first, second = tmp_path / "a" / "p.bed.gz", tmp_path / "b" / "p.bed.gz"
    predictions = {"p": np.array([0.123456789, np.nan, 2.0])}
    for path in (first, second):
        write_prediction_bed(
            path, BED_CHROMS, BED_STARTS, BED_ENDS, predictions, name=["a", "b", "c"],
            float_format="%.6g",
        )  # fmt: skip
    data = first.read_bytes()
    assert data == second.read_bytes() and data[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(data).decode().splitlines() == [
        "#chrom\tstart\tend\tname\tp",
        "chr2\t100\t300\ta\t0.123457",
        "chr1\t0\t200\tb\tNA",
        "chr1\t50\t250\tc\t2",
    ]
    frame = pd.read_csv(first, sep="\t")
    assert np.isnan(frame["p"][1])


def test_prediction_bed_rejects_bad_input_and_leaves_no_file(tmp_path):
    path = tmp_path / "p.bed"
    args = (BED_CHROMS, BED_STARTS, BED_ENDS)
    with pytest.raises(ValueError, match=r"'CTCF_seed0' must have shape \(3,\)"):
        write_prediction_bed(path, *args, {"CTCF_seed0": np.zeros(2)})
    with pytest.raises(ValueError, match="used twice"):
        write_prediction_bed(path, *args, {"CTCF": np.zeros(3)}, labels={"CTCF": np.zeros(3)})
    with pytest.raises(ValueError, match=r"Region 1 \(chr1:0--5\)"):
        write_prediction_bed(path, BED_CHROMS, BED_STARTS, np.array([300, -5, 250]), PREDICTIONS)
    with pytest.raises(ValueError, match="tab or newline"):
        write_prediction_bed(path, *args, PREDICTIONS, name=["a", "b\tc", "d"])
    with pytest.raises(ValueError, match="At least one prediction"):
        write_prediction_bed(path, *args, {})
    assert _leftovers(tmp_path) == []
