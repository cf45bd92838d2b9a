"""sfcrepro.data.regions on hand-made intervals with known answers."""

import gzip

import pandas as pd
import pytest

from sfcrepro.data.regions import (
    PeakError,
    intersect_summits,
    label_windows,
    read_chrom_sizes,
    read_peaks,
)

SIZES = {"chr1": 5000, "chr2": 1200}


def frame(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def test_windows_and_labels_by_hand():
    # Merged peaks chr1:1000-1400, padded to 900-1500: 200 bp windows at 900, 950, ..., 1300 (9).
    # E116 (1000-1200) covers >= 100 bp of the windows starting 900..1100; E123 (1100-1400) of 1000..1300.
    # chr2's windows (padded 0-400) all leave the chromosome when expanded to 1000 bp.
    peaks = {
        "E116": frame([("chr1", 1000, 1200), ("chr2", 100, 300)]),
        "E123": frame([("chr1", 1100, 1400)]),
    }
    windows = label_windows(peaks, SIZES)
    assert windows["chrom"].tolist() == ["chr1"] * 9
    assert windows["start"].tolist() == list(range(500, 901, 50))  # centre - 500
    assert (windows["end"] - windows["start"] == 1000).all()
    assert windows["E116"].tolist() == [1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert windows["E123"].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1]


def test_a_window_missing_from_the_coverage_output_raises(monkeypatch):
    import pybedtools

    real = pybedtools.BedTool.coverage

    def coverage_losing_a_window(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        lines = str(result).splitlines(keepends=True)
        return pybedtools.BedTool("".join(lines[1:]), from_string=True)  # first window's row lost

    monkeypatch.setattr(pybedtools.BedTool, "coverage", coverage_losing_a_window)
    peaks = {"E116": frame([("chr1", 1000, 1200)])}
    with pytest.raises(
        RuntimeError,
        match=r"1 of 5 windows have no coverage row for E116 \(the first: chr1:900-1100\)",
    ):
        label_windows(peaks, SIZES)


def test_padding_clips_at_chromosome_start_and_partial_windows_are_dropped():
    # Peak 20-150 padded to 0-250 (clipped): windows at 0 and 50 are full, 100+ are partial.
    windows = label_windows({"a": frame([("chr1", 20, 150)])}, {"chr1": 5000}, length=200)
    assert windows["start"].tolist() == [0, 50]
    assert windows["a"].tolist() == [1, 1]  # 130 and 100 of 200 bp covered


def test_label_uses_the_union_of_a_cell_types_peaks_and_half_is_enough():
    # One 100 bp window, 1000-1100 (made by cell type "w"). "a" covers 30 + 20 = 50 bp of it in two
    # peaks (exactly half: labelled 1); "b" covers 60 bp with overlapping peaks (union, not 70);
    # "c" covers 49 bp (0).
    peaks = {
        "w": frame([("chr1", 1000, 1100)]),
        "a": frame([("chr1", 1000, 1030), ("chr1", 1080, 1100)]),
        "b": frame([("chr1", 1000, 1040), ("chr1", 1010, 1060)]),
        "c": frame([("chr1", 1051, 1100)]),
    }
    windows = label_windows(peaks, {"chr1": 5000}, pad=0, window=100, stride=100, length=100)
    assert windows[["start", "w", "a", "b", "c"]].values.tolist() == [[1000, 1, 1, 1, 0]]


def test_summits_in_regions():
    regions = frame([("chr1", 500, 1500), ("chr1", 550, 1550)])
    hits = intersect_summits(
        regions,
        {
            "CTCF": pd.DataFrame({"chrom": ["chr1", "chr1"], "summit": [1000, 4000]}),
            "MAX": pd.DataFrame({"chrom": ["chr1"], "summit": [520]}),
        },
    )
    assert hits.values.tolist() == [[0, "MAX", 520], [0, "CTCF", 1000], [1, "CTCF", 1000]]


def write(tmp_path, text, name="peaks.narrowPeak", compress=False):
    path = tmp_path / (name + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    return path


NARROW = "chr1\t100\t300\t.\t0\t.\t5\t-1\t-1\t{}\n"


def test_narrowpeak_summits_including_summit_equal_to_width(tmp_path):
    path = write(
        tmp_path, NARROW.format(50) + NARROW.format(200) + NARROW.format(-1), compress=True
    )
    peaks, skipped = read_peaks(path, SIZES, summits=True)
    assert peaks["summit"].tolist() == [150, 300, 200] and skipped == 0


@pytest.mark.parametrize(
    "line,message",
    [
        ("chr1\t100\n", "2 columns, but BED needs at least 3"),
        ("chr1\tten\t300\n", "whole numbers, got 'ten'"),
        ("chr1\t-5\t300\n", "negative start -5"),
        ("chr1\t300\t300\n", "start 300 is not below end 300"),
        ("chr1\t100\t6000\n", "beyond the end of chr1 \\(5000 bp\\)"),
        ("chrUn\t100\t300\n", "'chrUn' is not in the genome"),
        ("1\t100\t300\n", "with 'chr' \\('chr1'\\); the peaks use Ensembl names"),
    ],
)
def test_bad_lines_name_file_line_and_fix(tmp_path, line, message):
    path = write(tmp_path, "chr1\t1\t50\n" + line, name="cells.bed")
    with pytest.raises(PeakError, match=rf"cells.bed, line 2: .*{message}.*peak_errors: skip"):
        read_peaks(path, SIZES)


def test_summit_outside_peak_and_chr_prefix_other_way(tmp_path):
    with pytest.raises(PeakError, match="summit offset 201 lies outside the peak \\(width 200\\)"):
        read_peaks(write(tmp_path, NARROW.format(201)), SIZES, summits=True)
    with pytest.raises(PeakError, match="without 'chr' \\('1'\\)"):
        read_peaks(write(tmp_path, "chr1\t1\t5\n", name="x.bed"), {"1": 100})


def test_skip_policy_counts_and_empty_files(tmp_path):
    path = write(tmp_path, "chr1\t1\t50\nchr1\tx\t3\nchrZ\t1\t2\n", name="mixed.bed")
    peaks, skipped = read_peaks(path, SIZES, policy="skip")
    assert len(peaks) == 1 and skipped == 2
    with pytest.raises(PeakError, match="empty.bed: no usable peaks"):
        read_peaks(write(tmp_path, "", name="empty.bed"), SIZES)


def test_chrom_sizes_from_fai(tmp_path):
    fai = tmp_path / "g.fa.fai"
    fai.write_text("chr1\t5000\t6\t60\t61\nchr2\t1200\t5100\t60\t61\n")
    assert read_chrom_sizes(fai) == SIZES
