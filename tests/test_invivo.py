"""sfcrepro.data.invivo on hand-made peaks and a tiny counts matrix."""

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import PAPER_CELL_TYPES

from sfcrepro.data.invivo import (
    accessibility_calls,
    map_samples,
    read_counts,
    tf_examples,
    tf_examples_from_files,
)
from sfcrepro.data.regions import centre_on_summits, one_summit_per_peak, top_by_signal

SIZES = {"chr1": 10_000, "chr2": 10_000}


def peaks(rows, columns=("chrom", "start", "end", "summit")):
    return pd.DataFrame(rows, columns=list(columns))


def test_centre_on_summits_drops_regions_off_the_chromosome():
    regions = centre_on_summits(
        peaks([("chr1", 100, 300, 300), ("chr1", 4000, 4200, 4100), ("chr2", 9800, 9990, 9900)]),
        1000,
        SIZES,
    )
    assert regions.values.tolist() == [
        ["chr1", 3600, 4600]
    ]  # summit 300 and 9900 leave the chromosome


def test_top_by_signal():
    relaxed = peaks(
        [("chr1", 0, 10, 3.0), ("chr1", 20, 30, 9.0), ("chr1", 40, 50, 5.0)],
        ("chrom", "start", "end", "signal"),
    )
    assert top_by_signal(relaxed, 2)["start"].tolist() == [20, 40]


def test_tf_examples_by_hand():
    positives = peaks([("chr1", 2000, 2400, 2200), ("chr2", 5000, 5300, 5100)])
    # Top-2 relaxed peaks by signal: chr1 2000-2500 and chr2 7000-7100; chr1 8000-8100 is weak.
    relaxed = peaks(
        [("chr1", 2000, 2500, 50.0), ("chr2", 7000, 7100, 40.0), ("chr1", 8000, 8100, 1.0)],
        ("chrom", "start", "end", "signal"),
    )
    dnase = peaks(
        [
            ("chr1", 2300, 2600, 2450),  # overlaps a top relaxed peak: not a negative
            ("chr1", 8050, 8150, 8100),  # overlaps only the weak relaxed peak: negative
            ("chr2", 3000, 3200, 3100),  # no ChIP peak: negative
            ("chr2", 9700, 9900, 9800),  # negative, but its 1000 bp region leaves chr2: dropped
        ]
    )
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


# Column names as the GEO matrix spells them (tests/data/GSE74912_sample_columns.tsv).
HSC_A, HSC_B, MPP_A, MPP_B, CD8, LSC = (
    "Donor2596-HSC-1A-150303",
    "4983-1A",
    "6792-2A",
    "Donor7256-2B-110614",
    "Donor5483-CD8-10A-150305",
    "SU070-LSC-140603",
)
COUNTS = (
    f"Chr\tStart\tEnd\t{HSC_A}\t{HSC_B}\t{MPP_A}\t{MPP_B}\t{CD8}\t{LSC}\n"
    "chr1\t100\t600\t50\t40\t0\t1\t10\t3\n"
    "chr1\t900\t1400\t0\t0\t60\t70\t10\t3\n"
    "chr2\t100\t600\t50\t0\t40\t29\t980\t994\n"
)


def test_read_counts_and_map_normal_samples(tmp_path):
    regions, counts = read_counts(write_counts(tmp_path, COUNTS))
    assert regions.values.tolist() == [["chr1", 100, 600], ["chr1", 900, 1400], ["chr2", 100, 600]]
    normal = r"^(Donor)?\d+-([A-Za-z][A-Za-z0-9]*-)?{}[A-Z]?(-\d+)?$"  # as in config/config.yaml
    patterns = {
        "HSC": normal.format(1),
        "MPP": normal.format(2),
        "CD8": normal.format(10),
        "LSC": r"^SU\d+-LSC\b",
    }
    groups = map_samples(list(counts.columns), patterns)
    assert groups == {
        "HSC": [HSC_A, HSC_B],
        "MPP": [MPP_A, MPP_B],
        "CD8": [CD8],
        "LSC": [LSC],
    }  # 1 does not take 10


def test_map_samples_errors_list_unmatched_and_doubly_matched(tmp_path):
    _, counts = read_counts(write_counts(tmp_path, COUNTS))
    with pytest.raises(ValueError) as error:
        map_samples(list(counts.columns), {"HSC": "-HSC-", "Blast": "Leuk", "Any": "Donor"})
    message = str(error.value)
    assert "Blast: pattern 'Leuk' matches no sample column" in message
    assert f"column {HSC_A!r} matches HSC, Any" in message


def test_a_column_no_cell_type_claims_stops_unless_listed_as_unused(caplog):
    normal = r"^(Donor)?\d+-([A-Za-z][A-Za-z0-9]*-)?{}[A-Z]?(-\d+)?$"
    patterns = {"HSC": normal.format(1), "MPP": normal.format(2)}
    # a header with a suffix the pattern does not expect: the sample would silently leave HSC
    columns = [HSC_A, f"{HSC_B}_rerun", MPP_A, "BM-CD34-1"]
    with pytest.raises(ValueError) as error:
        map_samples(columns, patterns, unused=["BM-CD34-1"])
    message = str(error.value)
    assert f"column '{HSC_B}_rerun' is claimed by no cell type" in message
    assert "unused_samples" in message and "'BM-CD34-1'" not in message.split("Columns:")[0]
    with pytest.raises(ValueError, match="'BM-CD34-1' is claimed by no cell type"):
        map_samples([HSC_A, MPP_A, "BM-CD34-1"], patterns)  # nothing listed: stops too
    with caplog.at_level("INFO", logger="sfcrepro.data.invivo"):
        groups = map_samples([HSC_A, MPP_A, "BM-CD34-1"], patterns, unused=["BM-CD34-1", "x"])
    assert groups == {"HSC": [HSC_A], "MPP": [MPP_A]}
    assert "unused_samples lists columns the counts matrix does not have: x" in caplog.text
    with pytest.raises(ValueError, match=f"{MPP_A!r} is listed under unused_samples but MPP"):
        map_samples([HSC_A, MPP_A], patterns, unused=[MPP_A])


def test_accessibility_calls_cpm_and_replicate_fraction(tmp_path):
    _, counts = read_counts(write_counts(tmp_path, COUNTS))
    groups = {"HSC": [HSC_A, HSC_B], "MPP": [MPP_A, MPP_B]}
    # Library sizes: HSC-A 100, HSC-B 40, MPP-A 100, MPP-B 100 counts. With min_cpm = 400,000
    # (40% of the library) and at least half the replicates:
    calls = accessibility_calls(counts, groups, min_cpm=4e5, min_fraction=0.5)
    assert calls["HSC"].tolist() == [
        1,
        0,
        1,
    ]  # peak 3: 50% of HSC-A, 0% of HSC-B -> 1 of 2 replicates
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
    assert np.isfinite(
        accessibility_calls(pd.DataFrame({"s1": [1, 3]}), {"x": ["s1"]}).to_numpy()
    ).all()


def test_windows_from_calls_tiles_checks_coordinates_and_labels(tmp_path):
    from sfcrepro.data.invivo import windows_from_calls
    from sfcrepro.data.regions import PeakError, label_windows

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t5000\t6\t60\t61\nchrM\t1000\t0\t60\t61\n")
    calls = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chrM"],
            "start": [1000, 1100, 10],
            "end": [1200, 1400, 500],
            "HSC": [1, 0, 1],
            "MPP": [0, 1, 0],
            "NK": [0, 0, 0],
        }
    )
    windows = windows_from_calls(
        calls, ["HSC", "MPP", "NK"], fai, chromosomes="chr[0-9]+", recipe="tiles"
    )
    # Same peaks as the by-hand case of test_regions: 9 windows on chr1; chrM is not used.
    assert windows["chrom"].tolist() == ["chr1"] * 9
    assert windows["HSC"].tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert windows["MPP"].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1]
    assert windows["NK"].tolist() == [0] * 9  # a cell type with no accessible peak
    # The tiles recipe is exactly the tiling of simulated accessibility (options passed through).
    options = {"pad": 50, "window": 100, "stride": 100, "min_overlap": 0.3, "length": 500}
    tiles = windows_from_calls(
        calls, ["HSC", "MPP", "NK"], fai, chromosomes="chr[0-9]+", recipe="tiles", **options
    )
    used = calls[calls["chrom"] == "chr1"]
    direct = label_windows(
        {c: used.loc[used[c] == 1, ["chrom", "start", "end"]] for c in ["HSC", "MPP", "NK"]},
        {"chr1": 5000},
        **options,
    )
    pd.testing.assert_frame_equal(tiles, direct)
    assert tiles.to_csv(sep="\t", index=False) == direct.to_csv(sep="\t", index=False)
    assert len(tiles) != len(windows)  # the options were used
    bad = calls.assign(start=[1000, 1500, 10])
    for recipe in ("tiles", "peaks"):
        with pytest.raises(
            PeakError, match="counts matrix, line 3: start 1500 is not below end 1400"
        ):
            windows_from_calls(bad, ["HSC"], fai, recipe=recipe)


def calls_frame(rows, cells=("HSC", "MPP")):
    return pd.DataFrame(rows, columns=["chrom", "start", "end", *cells])


def test_peak_regions_centre_label_and_drop_at_chromosome_ends(caplog):
    from sfcrepro.data.invivo import peak_regions

    calls = calls_frame(
        [
            ("chr2", 3000, 3501, 0, 1),  # centre 3250 (odd width rounds down)
            ("chr1", 4000, 4501, 1, 1),
            ("chr1", 100, 601, 1, 0),  # centre 350: region -150..850 leaves chr1
            ("chr1", 2000, 2501, 0, 0),  # accessible nowhere: kept, all labels 0
            ("chr2", 9500, 9900, 1, 0),  # centre 9700: region 9200..10200 leaves chr2 (10,000 bp)
            ("chr1", 500, 1001, 0, 1),  # centre 750: region 250..1250 fits
        ]
    )
    with caplog.at_level("INFO", logger="sfcrepro.data"):
        regions = peak_regions(calls, ["HSC", "MPP"], SIZES, length=1000)
    assert list(regions.columns) == ["chrom", "start", "end", "HSC", "MPP"]
    assert regions.values.tolist() == [
        ["chr1", 250, 1250, 0, 1],
        ["chr1", 1750, 2750, 0, 0],
        ["chr1", 3750, 4750, 1, 1],
        ["chr2", 2750, 3750, 0, 1],
    ]  # genome order, each region centred on (start + end) // 2, labels = the peak's calls
    assert (regions[["HSC", "MPP"]].dtypes == np.uint8).all()
    assert "dropped 2 of 6 peaks whose 1000 bp region leaves the chromosome" in caplog.text
    odd = peak_regions(calls.iloc[[1]], ["HSC"], SIZES, length=201)
    assert odd[["start", "end"]].values.tolist() == [[4150, 4351]]  # centre 4250 - 100, length 201


def test_peak_regions_same_region_twice_is_kept_once_with_or_of_labels(caplog):
    from sfcrepro.data.invivo import peak_regions

    calls = calls_frame(
        [
            ("chr1", 5000, 5500, 1, 0),
            ("chr1", 1000, 1200, 0, 0),  # centre 1100
            ("chr1", 1050, 1150, 1, 0),  # centre 1100 too: the same region
            ("chr1", 900, 1300, 0, 1),  # and again
        ]
    )
    with caplog.at_level("INFO", logger="sfcrepro.data"):
        regions = peak_regions(calls, ["HSC", "MPP"], SIZES, length=1000)
    assert regions.values.tolist() == [["chr1", 600, 1600, 1, 1], ["chr1", 4750, 5750, 1, 0]]
    assert (regions[["HSC", "MPP"]].dtypes == np.uint8).all()
    assert "2 peaks give the same 1000 bp region as an earlier peak" in caplog.text


def test_windows_from_calls_default_recipe_is_one_region_per_peak(tmp_path, caplog):
    from sfcrepro.data.invivo import windows_from_calls

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t5000\t6\t60\t61\nchr2\t3000\t0\t60\t61\nchrM\t1000\t0\t60\t61\n")
    calls = calls_frame(
        [
            ("chr1", 1000, 1200, 1, 0),
            ("chr1", 1100, 1400, 0, 1),
            ("chrM", 10, 500, 1, 1),
            ("chr2", 2600, 2900, 1, 1),
            ("chr2", 1000, 1501, 0, 0),
        ]
    )
    with caplog.at_level("INFO", logger="sfcrepro.data"):
        regions = windows_from_calls(
            calls,
            ["HSC", "MPP"],
            fai,
            chromosomes="chr[0-9]+",
            pad=100,
            window=200,
            stride=50,
            min_overlap=0.5,
            length=1000,
        )
    # One region per peak on chr1/chr2 (chrM is outside the pattern; chr2 2750 + 500 > 3000 leaves chr2);
    # the tiling options are ignored.
    assert regions.values.tolist() == [
        ["chr1", 600, 1600, 1, 0],
        ["chr1", 750, 1750, 0, 1],
        ["chr2", 750, 1750, 0, 0],
    ]
    assert "dropped 1 of 5 peaks on chromosomes outside 'chr[0-9]+'" in caplog.text
    assert "ignoring the tiling options min_overlap, pad, stride, window" in caplog.text
    explicit = windows_from_calls(
        calls, ["HSC", "MPP"], fai, chromosomes="chr[0-9]+", recipe="peaks"
    )
    pd.testing.assert_frame_equal(explicit, regions)
    # Without a chromosome filter chrM's peak is used too; with 400 bp regions every peak fits.
    short = windows_from_calls(calls, ["HSC", "MPP"], fai, length=400)
    assert short["chrom"].tolist() == ["chr1", "chr1", "chr2", "chr2", "chrM"]
    assert short[["start", "end"]].values.tolist()[-2:] == [[2550, 2950], [55, 455]]
    with pytest.raises(
        ValueError, match="unknown region recipe 'tile'; choose one of peaks, tiles"
    ):
        windows_from_calls(calls, ["HSC"], fai, recipe="tile")


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
    from sfcrepro.data.invivo import tf_examples_from_files

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t10000\t6\t60\t61\nchr2\t10000\t0\t60\t61\nchrM\t5000\t0\t60\t61\n")
    # Summit offset 400 == width: the summit is the peak's end, legal in real ENCODE files.
    chip = narrowpeak(
        tmp_path / "chip.narrowPeak", [("chr1", 2000, 2400, 400), ("chrM", 2000, 2400, 100)]
    )
    dnase = narrowpeak(
        tmp_path / "dnase.narrowPeak",
        [
            ("chr1", 2300, 2500, 100),  # overlaps the ChIP peak
            ("chr2", 5000, 5200, 100),  # overlaps only the relaxed peak below
            ("chr2", 8000, 8200, 50),
        ],
    )
    relaxed = narrowpeak(
        tmp_path / "relaxed.narrowPeak",
        [("chr1", 2000, 2400, 200, 9.0), ("chr2", 4900, 5100, 100, 3.0)],
    )

    own = tf_examples_from_files("CTCF", chip, dnase, fai, chromosomes="chr[0-9]+")
    assert own.values.tolist() == [
        ["chr1", 1900, 2900, 1],  # centred on 2400, the summit at the peak's end
        ["chr2", 4600, 5600, 0],
        ["chr2", 7550, 8550, 0],
    ]
    assert list(own.columns) == ["chrom", "start", "end", "CTCF"]
    with_relaxed = tf_examples_from_files(
        "CTCF", chip, dnase, fai, relaxed=relaxed, chromosomes="chr[0-9]+"
    )
    assert with_relaxed.values.tolist() == [["chr1", 1900, 2900, 1], ["chr2", 7550, 8550, 0]]
    # Only the top relaxed peak (by signal) excludes negatives.
    top1 = tf_examples_from_files(
        "CTCF", chip, dnase, fai, relaxed=relaxed, chromosomes="chr[0-9]+", top=1
    )
    assert top1.values.tolist() == own.values.tolist()
    # Without a chromosome filter the chrM positive is used too.
    assert len(tf_examples_from_files("CTCF", chip, dnase, fai)) == 4


def test_tf_examples_from_files_names_the_bad_line(tmp_path):
    from sfcrepro.data.invivo import tf_examples_from_files
    from sfcrepro.data.regions import PeakError

    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t10000\t6\t60\t61\n")
    chip = narrowpeak(
        tmp_path / "chip.narrowPeak", [("chr1", 2000, 2400, 500)]
    )  # summit outside the peak
    dnase = narrowpeak(tmp_path / "dnase.narrowPeak", [("chr1", 5000, 5200, 100)])
    with pytest.raises(
        PeakError, match=r"chip.narrowPeak \(CTCF ChIP-seq peaks\), line 1: .*summit"
    ):
        tf_examples_from_files("CTCF", chip, dnase, fai)


# tests/data/H1_DNase.chr21.narrowPeak.gz: the chr21 lines of ENCODE H1 DNase-seq IDR peaks
# (ENCSR000EMU; source in tests/data/README.md), a MACS2 file that lists
# 286 of its 1,009 chr21 peaks more than once, with different summits.
H1_CHR21 = Path(__file__).parent / "data" / "H1_DNase.chr21.narrowPeak.gz"
NARROWPEAK = ["chrom", "start", "end", "name", "score", "strand", "signal", "p", "q", "offset"]


def test_one_summit_per_peak_keeps_the_strongest():
    frame = peaks(
        [
            ("chr1", 10, 90, 20, 1.0),
            ("chr1", 10, 90, 60, 3.0),
            ("chr1", 10, 90, 40, 3.0),
            ("chr2", 5, 50, 7, 0.5),
        ],
        ("chrom", "start", "end", "summit", "signal"),
    )
    assert one_summit_per_peak(frame).values.tolist() == [
        ["chr1", 10, 90, 60, 3.0],
        ["chr2", 5, 50, 7, 0.5],
    ]


def test_real_macs2_dnase_peaks_give_one_negative_each(tmp_path):
    table = pd.read_csv(H1_CHR21, sep="\t", names=NARROWPEAK)
    unique = table.drop_duplicates(["chrom", "start", "end"])
    assert len(table) == 1401 and len(unique) == 1009  # the subset is what the comment above says
    fai = tmp_path / "hg19.chr21.fai"
    fai.write_text("chr21\t48129895\t7\t60\t61\n")
    chip = tmp_path / "chip.narrowPeak"
    chip.write_text("chr21\t1000000\t1000400\t.\t0\t.\t50\t-1\t-1\t200\n")  # far from every H1 peak
    examples = tf_examples_from_files("TF", chip, H1_CHR21, fai, length=1000)
    negatives = examples[examples["TF"] == 0]
    assert len(negatives) == len(unique)  # one per peak, not one per listed summit (1,401 lines)
    # Each negative is centred on its peak's strongest summit.
    table["summit"] = table["start"] + table["offset"]
    best = table.sort_values("signal", ascending=False, kind="stable").drop_duplicates(
        ["chrom", "start", "end"]
    )
    assert sorted((negatives["start"] + 500).tolist()) == sorted(best["summit"].tolist())


def test_counts_matrix_with_the_real_columns_gives_16_cell_types(tmp_path, root):
    import yaml

    from sfcrepro.data.invivo import calls_from_counts

    columns = pd.read_csv(root / "tests/data/GSE74912_sample_columns.tsv", sep="\t")[
        "column"
    ].tolist()
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    patterns = {
        cell: entry["pattern"]
        for cell, entry in config["datasets"]["invivo_access"]["samples"].items()
    }
    rng = np.random.default_rng(0)
    counts = rng.poisson(5, size=(4, len(columns)))
    lines = ["Chr\tStart\tEnd\t" + "\t".join(columns)]
    lines += [
        f"chr1\t{1000 * i}\t{1000 * i + 501}\t" + "\t".join(map(str, row))
        for i, row in enumerate(counts)
    ]
    unused = config["datasets"]["invivo_access"]["unused_samples"]
    path = write_counts(tmp_path, "\n".join(lines) + "\n")
    calls = calls_from_counts(path, patterns, min_cpm=2.0, min_fraction=0.5, unused=unused)
    assert list(calls.columns) == ["chrom", "start", "end", *PAPER_CELL_TYPES]
    assert len(calls) == 4
    # one real header changed slightly (a trailing space): the run stops, naming file and column
    lines[0] = lines[0].replace("\t4983-1A\t", "\t4983-1A \t")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    named = f"(?s){re.escape(str(path))}: .*column '4983-1A ' is claimed by no cell type"
    with pytest.raises(ValueError, match=named):
        calls_from_counts(path, patterns, unused=unused)
