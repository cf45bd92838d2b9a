"""sfcrepro.invivo on hand-made peaks and a tiny counts matrix."""

import gzip

import numpy as np
import pandas as pd
import pytest

from sfcrepro.invivo import (
    CORCES_CODES,
    accessibility_calls,
    centre_on_summits,
    corces_pattern,
    map_samples,
    read_counts,
    tf_examples,
    top_by_signal,
)

SIZES = {"chr1": 10_000, "chr2": 10_000}


def peaks(rows, columns=("chrom", "start", "end", "summit")):
    return pd.DataFrame(rows, columns=list(columns))


def test_centre_on_summits_drops_regions_off_the_chromosome():
    regions = centre_on_summits(peaks([("chr1", 100, 300, 300), ("chr1", 4000, 4200, 4100), ("chr2", 9800, 9990, 9900)]),
                                1000, SIZES)
    assert regions.values.tolist() == [["chr1", 3600, 4600]]  # summit 300 and 9900 leave the chromosome


def test_top_by_signal():
    relaxed = peaks([("chr1", 0, 10, 3.0), ("chr1", 20, 30, 9.0), ("chr1", 40, 50, 5.0)],
                    ("chrom", "start", "end", "signal"))
    assert top_by_signal(relaxed, 2)["start"].tolist() == [20, 40]


def test_tf_examples_by_hand():
    positives = peaks([("chr1", 2000, 2400, 2200), ("chr2", 5000, 5300, 5100)])
    # Top-2 relaxed peaks by signal: chr1 2000-2500 and chr2 7000-7100; chr1 8000-8100 is weak.
    relaxed = peaks([("chr1", 2000, 2500, 50.0), ("chr2", 7000, 7100, 40.0), ("chr1", 8000, 8100, 1.0)],
                    ("chrom", "start", "end", "signal"))
    dnase = peaks([
        ("chr1", 2300, 2600, 2450),  # overlaps a top relaxed peak: not a negative
        ("chr1", 8050, 8150, 8100),  # overlaps only the weak relaxed peak: negative
        ("chr2", 3000, 3200, 3100),  # no ChIP peak: negative
        ("chr2", 9700, 9900, 9800),  # negative, but its 1000 bp region leaves chr2: dropped
    ])
    examples = tf_examples(positives, relaxed, dnase, SIZES, length=1000, top=2)
    assert examples.values.tolist() == [
        ["chr1", 1700, 2700, 1],
        ["chr1", 7600, 8600, 0],
        ["chr2", 2600, 3600, 0],
        ["chr2", 4600, 5600, 1],
    ]


def write_counts(tmp_path, text):
    path = tmp_path / "counts.txt.gz"
    path.write_bytes(gzip.compress(text.encode()))
    return path


COUNTS = (
    "Chr\tStart\tEnd\tDonor4983-1A-1\tDonor4983-1B-2\t6792-2A\t6792-2B\t5483-10A\tSU070-LSC\n"
    "chr1\t100\t600\t50\t40\t0\t1\t10\t3\n"
    "chr1\t900\t1400\t0\t0\t60\t70\t10\t3\n"
    "chr2\t100\t600\t50\t0\t40\t29\t980\t994\n"
)


def test_read_counts_and_map_normal_samples(tmp_path):
    regions, counts = read_counts(write_counts(tmp_path, COUNTS))
    assert regions.values.tolist() == [["chr1", 100, 600], ["chr1", 900, 1400], ["chr2", 100, 600]]
    patterns = {cell: corces_pattern(CORCES_CODES[cell]) for cell in ("HSC", "MPP", "CD8")} | {"LSC": "-LSC$"}
    groups = map_samples(list(counts.columns), patterns)
    assert groups == {"HSC": ["Donor4983-1A-1", "Donor4983-1B-2"], "MPP": ["6792-2A", "6792-2B"],
                      "CD8": ["5483-10A"], "LSC": ["SU070-LSC"]}  # code 1 does not take 10


def test_map_samples_errors_list_unmatched_and_doubly_matched(tmp_path):
    _, counts = read_counts(write_counts(tmp_path, COUNTS))
    with pytest.raises(ValueError) as error:
        map_samples(list(counts.columns), {"HSC": corces_pattern(1), "Blast": "Blast", "Any": "Donor"})
    message = str(error.value)
    assert "Blast: pattern 'Blast' matches no sample column" in message
    assert "column 'Donor4983-1A-1' matches HSC, Any" in message


def test_accessibility_calls_cpm_and_replicate_fraction(tmp_path):
    _, counts = read_counts(write_counts(tmp_path, COUNTS))
    groups = {"HSC": ["Donor4983-1A-1", "Donor4983-1B-2"], "MPP": ["6792-2A", "6792-2B"]}
    # Library sizes: HSC-A 100, HSC-B 40, MPP-A 100, MPP-B 100 counts. With min_cpm = 400,000
    # (40% of the library) and at least half the replicates:
    calls = accessibility_calls(counts, groups, min_cpm=4e5, min_fraction=0.5)
    assert calls["HSC"].tolist() == [1, 0, 1]  # peak 3: 50% of HSC-A, 0% of HSC-B -> 1 of 2 replicates
    assert calls["MPP"].tolist() == [0, 1, 1]  # peak 3: 40% and 29% -> 1 of 2
    strict = accessibility_calls(counts, groups, min_cpm=4e5, min_fraction=1.0)
    assert strict["HSC"].tolist() == [1, 0, 0] and strict["MPP"].tolist() == [0, 1, 0]


def test_read_counts_rejects_other_layouts(tmp_path):
    with pytest.raises(ValueError, match="Chr, Start, End"):
        read_counts(write_counts(tmp_path, "chrom\tfrom\tto\ts1\nchr1\t1\t2\t3\n"))
    with pytest.raises(ValueError, match="not numeric: s1"):
        read_counts(write_counts(tmp_path, "Chr\tStart\tEnd\ts1\nchr1\t1\t2\tmany\n"))
    with pytest.raises(ValueError, match="no counts: s1"):
        accessibility_calls(pd.DataFrame({"s1": [0, 0]}), {"x": ["s1"]})
    assert np.isfinite(accessibility_calls(pd.DataFrame({"s1": [1, 3]}), {"x": ["s1"]}).to_numpy()).all()


def test_windows_from_calls_checks_coordinates_and_labels(tmp_path):
    from sfcrepro.invivo import windows_from_calls
    from sfcrepro.regions import PeakError

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t5000\t6\t60\t61\nchrM\t1000\t0\t60\t61\n")
    calls = pd.DataFrame({"chrom": ["chr1", "chr1", "chrM"], "start": [1000, 1100, 10], "end": [1200, 1400, 500],
                          "HSC": [1, 0, 1], "MPP": [0, 1, 0], "NK": [0, 0, 0]})
    windows = windows_from_calls(calls, ["HSC", "MPP", "NK"], fai, chromosomes="chr[0-9]+")
    # Same peaks as the by-hand case of test_regions: 9 windows on chr1; chrM is not used.
    assert windows["chrom"].tolist() == ["chr1"] * 9
    assert windows["HSC"].tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert windows["MPP"].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1]
    assert windows["NK"].tolist() == [0] * 9  # a cell type with no accessible peak
    bad = calls.assign(start=[1000, 1500, 10])
    with pytest.raises(PeakError, match="counts matrix, line 3: start 1500 is not below end 1400"):
        windows_from_calls(bad, ["HSC"], fai)


def narrowpeak(path, rows, signal=None):
    """rows: (chrom, start, end, summit offset[, signal])."""
    lines = []
    for i, row in enumerate(rows):
        chrom, start, end, offset = row[:4]
        value = row[4] if len(row) > 4 else (signal or 10)
        lines.append(f"{chrom}\t{start}\t{end}\tp{i}\t0\t.\t{value}\t-1\t-1\t{offset}\n")
    path.write_text("".join(lines))
    return path


def test_tf_examples_from_files_relaxed_default_chromosomes_and_summit_at_width(tmp_path):
    from sfcrepro.invivo import tf_examples_from_files

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t10000\t6\t60\t61\nchr2\t10000\t0\t60\t61\nchrM\t5000\t0\t60\t61\n")
    # Summit offset 400 == width: the summit is the peak's end, legal in real ENCODE files.
    chip = narrowpeak(tmp_path / "chip.narrowPeak", [("chr1", 2000, 2400, 400), ("chrM", 2000, 2400, 100)])
    dnase = narrowpeak(tmp_path / "dnase.narrowPeak", [
        ("chr1", 2300, 2500, 100),  # overlaps the ChIP peak
        ("chr2", 5000, 5200, 100),  # overlaps only the relaxed peak below
        ("chr2", 8000, 8200, 50),
    ])
    relaxed = narrowpeak(tmp_path / "relaxed.narrowPeak", [("chr1", 2000, 2400, 200, 9.0), ("chr2", 4900, 5100, 100, 3.0)])

    own = tf_examples_from_files("CTCF", chip, dnase, fai, chromosomes="chr[0-9]+")
    assert own.values.tolist() == [
        ["chr1", 1900, 2900, 1],  # centred on 2400, the summit at the peak's end
        ["chr2", 4600, 5600, 0],
        ["chr2", 7550, 8550, 0],
    ]
    assert list(own.columns) == ["chrom", "start", "end", "CTCF"]
    with_relaxed = tf_examples_from_files("CTCF", chip, dnase, fai, relaxed=relaxed, chromosomes="chr[0-9]+")
    assert with_relaxed.values.tolist() == [["chr1", 1900, 2900, 1], ["chr2", 7550, 8550, 0]]
    # Only the top relaxed peak (by signal) excludes negatives.
    top1 = tf_examples_from_files("CTCF", chip, dnase, fai, relaxed=relaxed, chromosomes="chr[0-9]+", top=1)
    assert top1.values.tolist() == own.values.tolist()
    # Without a chromosome filter the chrM positive is used too.
    assert len(tf_examples_from_files("CTCF", chip, dnase, fai)) == 4


def test_tf_examples_from_files_names_the_bad_line(tmp_path):
    from sfcrepro.invivo import tf_examples_from_files
    from sfcrepro.regions import PeakError

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t10000\t6\t60\t61\n")
    chip = narrowpeak(tmp_path / "chip.narrowPeak", [("chr1", 2000, 2400, 500)])  # summit outside the peak
    dnase = narrowpeak(tmp_path / "dnase.narrowPeak", [("chr1", 5000, 5200, 100)])
    with pytest.raises(PeakError, match=r"chip.narrowPeak \(CTCF ChIP-seq peaks\), line 1: .*summit"):
        tf_examples_from_files("CTCF", chip, dnase, fai)
