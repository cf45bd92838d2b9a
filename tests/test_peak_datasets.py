"""sfcrepro.data.peak_datasets on small synthetic genomes with GC-rich peak neighbourhoods."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfcrepro.data.negatives import gc_fraction
from sfcrepro.data.peak_datasets import (
    merge_intervals,
    overlaps,
    peak_dataset_regions,
    read_blacklist,
    read_task_peaks,
)
from sfcrepro.data.regions import PeakError, label_windows, read_chrom_sizes
from sfcrepro.data.sequences import encode

DATA = Path(__file__).parent / "data"
LENGTH = 200
SPLITS = {"valid": ["chr1"], "test": ["chr2"]}
PATTERN = r"chr[0-9]+"
# 10 GC bins (0.1 wide) for the main genome: with 20, the rare windows of 75-80% GC in the 65%
# stretches can leave a bin one candidate short, depending on the random sequence.
NEGATIVES = {"ratio": 1.0, "gc_bins": 10}
# Main genome: four 200 kb chromosomes at 40% GC with five 16 kb stretches at 65% GC, where the
# peaks are; chr4 has 4 kb of N and 3 kb of 20% N; chrUn_x (outside PATTERN) has peaks too.
CHROM_SIZE = 200_000
RICH = [4_000 + 40_000 * k for k in range(5)]  # starts of the GC-rich stretches
STRETCH = 16_000
N_STRETCH = ("chr4", 28_000, 32_000)


def random_sequence(rng, n, gc):
    """``n`` random bases, each G or C with probability ``gc``."""
    strong = rng.random(n) < gc
    return "".join(np.where(strong, rng.choice(list("GC"), n), rng.choice(list("AT"), n)).tolist())


def write_genome(folder, sequences: dict[str, str]):
    """FASTA (60 bases per line) and its .fai; returns their paths."""
    import pyfaidx

    fasta = folder / "genome.fa"
    with open(fasta, "w") as out:
        for name, seq in sequences.items():
            out.write(f">{name}\n")
            out.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
    pyfaidx.Faidx(str(fasta), rebuild=True).close()
    return str(fasta), str(fasta) + ".fai"


def narrowpeak(path, rows):
    """rows: (chrom, start, end, summit offset[, signal])."""
    lines = []
    for i, row in enumerate(rows):
        chrom, start, end, summit = row[:4]
        signal = row[4] if len(row) > 4 else 10.0
        lines.append(f"{chrom}\t{start}\t{end}\tpeak{i}\t0\t.\t{signal}\t-1\t-1\t{summit}\n")
    path.write_text("".join(lines))
    return str(path)


def bed(path, rows):
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows))
    return str(path)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """The main synthetic genome, two tasks' peaks (narrowPeak A, BED3 B) and a blacklist."""
    folder = tmp_path_factory.mktemp("peak_genome")
    rng = np.random.default_rng(7)
    sequences = {}
    for chrom in ("chr1", "chr2", "chr3", "chr4", "chrUn_x"):
        size = CHROM_SIZE if chrom != "chrUn_x" else 30_000
        parts, position = [], 0
        for start in [s for s in RICH if s + STRETCH <= size]:
            parts += [random_sequence(rng, start - position, 0.4)]
            parts += [random_sequence(rng, STRETCH, 0.65)]
            position = start + STRETCH
        parts.append(random_sequence(rng, size - position, 0.4))
        sequences[chrom] = "".join(parts)
    chrom, n_start, n_end = N_STRETCH
    seq = sequences[chrom]
    sequences[chrom] = seq[:n_start] + "N" * (n_end - n_start) + seq[n_end:]
    # 3 kb between chr4's peaks of 20% N and 80% GC otherwise: GC fractions like the positives',
    # too many N to be negatives.
    mixed = np.array(list(random_sequence(rng, 3_000, 0.8)))
    mixed[rng.random(3_000) < 0.2] = "N"
    first = RICH[3] + 2_300
    seq = sequences[chrom]
    sequences[chrom] = seq[:first] + "".join(mixed) + seq[first + 3_000 :]
    fasta, fai = write_genome(folder, sequences)

    rng = np.random.default_rng(8)  # the peaks do not depend on the sequence's draws
    a_rows, b_rows = [], []
    for chrom, seq in sequences.items():
        for start in [s for s in RICH if s + STRETCH <= len(seq)]:
            for k in range(3):
                peak = start + 1_000 + 4_500 * k + int(rng.integers(0, 500))
                width = int(rng.integers(300, 600))
                a_rows.append((chrom, peak, peak + width, int(rng.integers(0, width))))
            first = a_rows[-3]
            b_rows.append((chrom, first[1] + 100, first[1] + 500))  # overlaps an A peak
            peak = start + 14_000 + int(rng.integers(0, 500))
            b_rows.append((chrom, peak, peak + int(rng.integers(200, 400))))
    # An A peak at the edge of chr4's N stretch: its region is mostly N.
    a_rows.append(("chr4", n_end - 150, n_end + 50, 140))
    # A narrow B peak on chr3 whose region (not the peak) overlaps the blacklist.
    narrow = RICH[2] + 8_000
    b_rows.append(("chr3", narrow, narrow + 100))
    # Blacklist: the whole of the second A peak of chr3's first stretch, 20 bp just right of the
    # narrow B peak, and 3 kb of GC-rich sequence (negatives would be drawn there).
    listed = [r for r in a_rows if r[0] == "chr3"][1]
    black_rows = [
        ("chr3", listed[1] - 10, listed[2] + 10),
        ("chr3", narrow + 120, narrow + 140),
        ("chr3", RICH[1] + 2_300, RICH[1] + 5_300),  # GC-rich, between peaks
        ("chrM", 0, 100),  # not in the genome: ignored
    ]
    files = {
        "A": narrowpeak(folder / "A.narrowPeak", a_rows),
        "B": bed(folder / "B.bed", b_rows),
    }
    return {
        "folder": folder,
        "fasta": fasta,
        "fai": fai,
        "files": files,
        "sequences": sequences,
        "codes": {c: encode(s) for c, s in sequences.items()},
        "a": a_rows,
        "b": b_rows,
        "blacklist": bed(folder / "blacklist.bed", black_rows),
        "black_rows": black_rows[:3],
        "listed": listed,
        "narrow": (narrow, narrow + 100),
    }


def build(genome, **options):
    arguments = {
        "peak_files": genome["files"],
        "fasta": genome["fasta"],
        "fai": genome["fai"],
        "chromosomes": PATTERN,
        "windows": {"recipe": "peaks", "length": LENGTH},
        "negatives": NEGATIVES,
        "splits": SPLITS,
        "seed": 1,
        "blacklist": genome["blacklist"],
    }
    return peak_dataset_regions(**{**arguments, **options})


@pytest.fixture(scope="module")
def table(genome):
    return build(genome)


def split(chrom):
    return {"chr1": "valid", "chr2": "test"}.get(chrom, "train")


def gc_of(genome, frame):
    return np.array(
        [
            gc_fraction(genome["codes"][c][s:e])
            for c, s, e in frame[["chrom", "start", "end"]].itertuples(index=False)
        ]
    )


def histogram(gc, bins=10):
    counts = np.bincount(np.minimum((gc * bins + 1e-9).astype(int), bins - 1), minlength=bins)
    return counts / counts.sum()


def any_overlap(frame, rows):
    """Whether each region of ``frame`` overlaps any of ``rows`` (chrom, start, end, ...)."""
    hits = np.zeros(len(frame), dtype=bool)
    for k, (c, s, e) in enumerate(frame[["chrom", "start", "end"]].itertuples(index=False)):
        hits[k] = any(r[0] == c and r[1] < e and s < r[2] for r in rows)
    return hits


# --- Helpers -----------------------------------------------------------------------------------


def test_overlaps_and_merge_by_hand():
    starts, ends = merge_intervals([30, 0, 10, 50, 70], [40, 10, 20, 60, 70])
    assert starts.tolist() == [0, 30, 50] and ends.tolist() == [20, 40, 60]  # [70, 70) is empty
    hit = overlaps(
        [0, 20, 25, 39, 40, 55, 100], [5, 30, 30, 45, 50, 56, 110], [0, 30, 50], [20, 40, 60]
    )
    assert hit.tolist() == [True, False, False, True, False, True, False]
    assert overlaps([1], [2], [], []).tolist() == [False]


# --- The dataset -------------------------------------------------------------------------------


def test_table_layout(genome, table):
    assert list(table.columns) == ["chrom", "start", "end", "A", "B", "background"]
    assert (table["end"] - table["start"] == LENGTH).all()
    assert {table[c].dtype for c in ("A", "B", "background")} == {np.dtype(np.uint8)}
    order = {c: i for i, c in enumerate(read_chrom_sizes(genome["fai"]))}
    key = list(zip(table["chrom"].map(order), table["start"], strict=True))
    assert key == sorted(key)
    assert "chrUn_x" not in set(table["chrom"])
    positives = table[table["background"] == 0]
    assert ((positives["A"] == 1) | (positives["B"] == 1)).all()
    assert (table.loc[table["background"] == 1, ["A", "B"]] == 0).all().all()


def test_negatives_match_the_positives_gc_and_uniform_ones_would_not(genome, table):
    # Tolerance: total variation distance between the 10-bin GC histograms of a split's
    # negatives and positives below 0.05 (the genome has room, so every bin's quota is met and the
    # distance is 0). Control: as many random regions of the same chromosomes (away from peaks)
    # are far from the positives (distance above 0.3), since most of the genome is 40% GC.
    rng = np.random.default_rng(11)
    peaks = genome["a"] + genome["b"]
    for name in ("train", "valid", "test"):
        part = table[table["chrom"].map(split) == name]
        pos, neg = part[part["background"] == 0], part[part["background"] == 1]
        assert len(pos) > 20 and len(neg) == len(pos)
        distance = 0.5 * np.abs(histogram(gc_of(genome, pos)) - histogram(gc_of(genome, neg))).sum()
        assert distance < 0.05, (name, distance)
        assert abs(gc_of(genome, pos).mean() - gc_of(genome, neg).mean()) < 0.01
        chroms = sorted(set(part["chrom"]))
        uniform = []
        while len(uniform) < len(pos):
            c = chroms[int(rng.integers(len(chroms)))]
            s = int(rng.integers(0, CHROM_SIZE - LENGTH))
            if not any_overlap(
                pd.DataFrame([(c, s, s + LENGTH)], columns=["chrom", "start", "end"]), peaks
            )[0]:
                uniform.append((c, s, s + LENGTH))
        uniform = pd.DataFrame(uniform, columns=["chrom", "start", "end"])
        control = (
            0.5 * np.abs(histogram(gc_of(genome, pos)) - histogram(gc_of(genome, uniform))).sum()
        )
        assert control > 0.3, (name, control)


def test_negatives_avoid_peaks_blacklist_positives_and_each_other(genome, table):
    negatives = table[table["background"] == 1].reset_index(drop=True)
    positives = table[table["background"] == 0].reset_index(drop=True)
    every_peak = genome["a"] + genome["b"]  # blacklisted and N-region peaks included
    assert not any_overlap(negatives, every_peak).any()
    assert not any_overlap(negatives, genome["black_rows"]).any()
    assert not any_overlap(negatives, list(positives.itertuples(index=False))).any()
    for _, rows in negatives.groupby("chrom"):
        starts = np.sort(rows["start"].to_numpy())
        assert (np.diff(starts) >= LENGTH).all()  # no two negatives overlap
    for name in ("train", "valid", "test"):
        in_split = table["chrom"].map(split) == name
        assert (in_split & (table["background"] == 1)).sum() == (
            in_split & (table["background"] == 0)
        ).sum()
    n_fraction = [
        genome["sequences"][c][s:e].count("N") / LENGTH
        for c, s, e in table[["chrom", "start", "end"]].itertuples(index=False)
    ]
    assert max(n_fraction) <= 0.1


def test_regions_with_too_many_n_are_dropped(genome, table):
    chrom, _, n_end = N_STRETCH
    centre = n_end - 150 + 140
    assert not ((table["chrom"] == chrom) & (table["start"] == centre - LENGTH // 2)).any()
    kept = build(genome, max_n_fraction=1.0, negatives={"ratio": 0})
    assert ((kept["chrom"] == chrom) & (kept["start"] == centre - LENGTH // 2)).any()


def test_blacklisted_peaks_and_regions_are_removed(genome, table, caplog):
    positives = table[table["background"] == 0]
    listed = genome["listed"]
    listed_start = listed[1] + listed[3] - LENGTH // 2
    narrow_start = (genome["narrow"][0] + genome["narrow"][1]) // 2 - LENGTH // 2
    on_chr3 = positives[positives["chrom"] == "chr3"]
    assert listed_start not in set(on_chr3["start"])
    assert narrow_start not in set(on_chr3["start"])
    assert not any_overlap(positives, genome["black_rows"]).any()
    # Without the blacklist both regions are there.
    with caplog.at_level(logging.INFO, logger="sfcrepro.data.peak_datasets"):
        open_table = build(genome, blacklist=None, negatives={"ratio": 0})
    starts = set(open_table.loc[open_table["chrom"] == "chr3", "start"])
    assert {listed_start, narrow_start} <= starts
    assert len(open_table) == len(positives) + 2
    with caplog.at_level(logging.INFO, logger="sfcrepro.data.peak_datasets"):
        build(genome, negatives={"ratio": 0})
    assert "dropped 1 of" in caplog.text and "peaks overlapping the blacklist" in caplog.text
    assert "ignored 1 blacklist intervals on names absent from the genome (chrM)" in caplog.text


def test_peak_labels_of_two_overlapping_tasks_by_hand(tmp_path):
    rng = np.random.default_rng(5)
    sizes = {"chr1": 20_000, "chr2": 8_000, "chr3": 8_000}
    fasta, fai = write_genome(tmp_path, {c: random_sequence(rng, n, 0.5) for c, n in sizes.items()})
    a = narrowpeak(
        tmp_path / "A.narrowPeak",
        [
            ("chr1", 1000, 1400, 100),  # centre 1100, inside B's 1050-1300
            ("chr1", 5000, 5300, -1),  # no summit: midpoint 5150, also B's midpoint
            ("chr1", 8000, 8200, 200),  # summit on the peak's end: centre 8200
            ("chr1", 12000, 12400, 50, 5.0),  # one peak, two summits: the stronger (300) is used
            ("chr1", 12000, 12400, 300, 9.0),
            ("chr2", 3000, 3200, 100),
            ("chr3", 3000, 3200, 100),
        ],
    )
    b = bed(
        tmp_path / "B.bed",
        [("chr1", 1050, 1300), ("chr1", 1500, 1600), ("chr1", 5050, 5250), ("chr1", 8150, 8300)],
    )
    table = peak_dataset_regions(
        {"A": a, "B": b},
        fasta,
        fai,
        None,
        {"length": 200},
        {"ratio": 0},
        {"valid": ["chr2"], "test": ["chr3"]},
        seed=0,
    )
    expected = [
        ("chr1", 1000, 1, 1),  # A's 1100 lies in B's peak
        ("chr1", 1075, 1, 1),  # B's 1175 lies in A's peak
        ("chr1", 1450, 0, 1),
        ("chr1", 5050, 1, 1),  # A's and B's regions coincide: one region, both labels
        ("chr1", 8100, 1, 1),  # A's summit on its end still counts for A; it lies in B's peak
        ("chr1", 8125, 0, 1),  # B's 8225 is past A's end (8200)
        ("chr1", 12200, 1, 0),
        ("chr2", 3000, 1, 0),
        ("chr3", 3000, 1, 0),
    ]
    got = [
        (c, s, a_, b_)
        for c, s, a_, b_ in table[["chrom", "start", "A", "B"]].itertuples(index=False)
    ]
    assert got == expected
    assert (table["background"] == 0).all()


def test_tiles_recipe_is_label_windows_plus_negatives(genome):
    tiling = {"pad": 100, "window": 200, "stride": 50, "min_overlap": 0.5}
    # Tiling gives several windows per peak: a quarter as many negatives fit in the GC-rich parts.
    table = build(
        genome,
        blacklist=None,
        windows={"recipe": "tiles", "length": 400, **tiling},
        negatives={"ratio": 0.25, "gc_bins": 10},
    )
    peaks = {
        "A": pd.DataFrame([r[:3] for r in genome["a"]], columns=["chrom", "start", "end"]),
        "B": pd.DataFrame(genome["b"], columns=["chrom", "start", "end"]),
    }
    peaks = {t: p[p["chrom"] != "chrUn_x"] for t, p in peaks.items()}
    sizes = {c: n for c, n in read_chrom_sizes(genome["fai"]).items() if c != "chrUn_x"}
    expected = label_windows(peaks, sizes, length=400, **tiling)
    n_rich = np.array(
        [
            genome["sequences"][c][s:e].count("N") / 400 > 0.1
            for c, s, e in expected[["chrom", "start", "end"]].itertuples(index=False)
        ]
    )
    assert n_rich.any()
    expected = expected[~n_rich].reset_index(drop=True)
    positives = table[table["background"] == 0].drop(columns="background").reset_index(drop=True)
    pd.testing.assert_frame_equal(positives, expected, check_dtype=False)
    # Negatives: a quarter of the positives per split (rounded half up), give or take a few in the
    # highest GC bin, where one locus' many overlapping windows can outnumber the background slots.
    for name in ("train", "valid", "test"):
        in_split = table["chrom"].map(split) == name
        wanted = int(0.25 * (in_split & (table["background"] == 0)).sum() + 0.5)
        assert 0.8 * wanted <= (in_split & (table["background"] == 1)).sum() <= wanted
    assert (table["end"] - table["start"] == 400).all()


def test_same_seed_same_table_other_seed_other_negatives(genome, table):
    pd.testing.assert_frame_equal(build(genome), table)
    other = build(genome, seed=2)
    key = ["chrom", "start"]
    pd.testing.assert_frame_equal(
        other[other["background"] == 0].reset_index(drop=True),
        table[table["background"] == 0].reset_index(drop=True),
    )
    mine = set(map(tuple, table.loc[table["background"] == 1, key].to_numpy().tolist()))
    theirs = set(map(tuple, other.loc[other["background"] == 1, key].to_numpy().tolist()))
    assert len(theirs) == len(mine) and theirs != mine
    assert len(mine & theirs) < 0.5 * len(mine)


def test_chromosome_names_without_chr_raise_with_the_hint(genome, tmp_path):
    ensembl = bed(tmp_path / "ensembl.bed", [("1", 5000, 5300)])
    with pytest.raises(PeakError, match=r"line 1: chromosome '1' is not in the genome.*'chr1'"):
        build(genome, peak_files={"A": ensembl})
    # With policy skip, the bad line is dropped and the others are used.
    mixed = bed(tmp_path / "mixed.bed", [("1", 5000, 5300), *genome["b"]])
    skipped = build(genome, peak_files={"B": mixed}, policy="skip", negatives={"ratio": 0})
    assert len(skipped) > 20 and list(skipped.columns[3:]) == ["B", "background"]
    with pytest.raises(PeakError, match="without 'chr'"):
        read_blacklist(bed(tmp_path / "black.bed", [("chrZ", 0, 10)]), {"Z": 100})


def test_unfillable_gc_bins_warn_and_give_fewer_negatives(tmp_path, caplog):
    rng = np.random.default_rng(9)
    sequences = {c: random_sequence(rng, 30_000, 0.4) for c in ("chr1", "chr2", "chr3")}
    # chr3 (train) has a 400 bp stretch of pure GC covered by a peak: its region is 100% GC and
    # no background slot outside the peaks comes near that.
    seq = sequences["chr3"]
    sequences["chr3"] = seq[:15_000] + "GC" * 200 + seq[15_400:]
    fasta, fai = write_genome(tmp_path, sequences)
    rows = [(c, s, s + 300) for c in sequences for s in (3_000, 9_000, 21_000)]
    rows.append(("chr3", 15_000, 15_400))
    peaks = bed(tmp_path / "peaks.bed", rows)
    with caplog.at_level(logging.INFO, logger="sfcrepro.data.peak_datasets"):
        table = peak_dataset_regions(
            {"A": peaks}, fasta, fai, None, {"length": 200}, {"gc_bins": 20}, SPLITS, seed=3
        )
    train = table[table["chrom"] == "chr3"]
    assert (train["background"] == 0).sum() == 4
    assert (train["background"] == 1).sum() == 3
    assert (table["background"] == 1).sum() == (table["background"] == 0).sum() - 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "train: 1 GC bins have too few" in warnings[0].getMessage()
    assert "drew 3 negatives instead of 4" in warnings[0].getMessage()
    assert "0.95-1.00: 1 of 1" in warnings[0].getMessage()


def test_errors_name_the_problem(genome, tmp_path):
    with pytest.raises(ValueError, match="unknown region recipe 'windows'"):
        build(genome, windows={"recipe": "windows"})
    with pytest.raises(ValueError, match="unknown negatives options gc"):
        build(genome, negatives={"gc": 20})
    with pytest.raises(ValueError, match=r"Split 'test' has no positive regions.*chr9.*`splits`"):
        build(genome, splits={"valid": ["chr1"], "test": ["chr9"]})
    only_chr3 = bed(tmp_path / "one.bed", [("chr3", *genome["listed"][1:3])])
    with pytest.raises(PeakError, match=r"one.bed \(task A\): no peaks left.*blacklist"):
        build(genome, peak_files={"A": only_chr3})
    unused = bed(tmp_path / "unused.bed", [("chrUn_x", 5000, 5300)])
    with pytest.raises(PeakError, match=r"no peaks left on chromosomes matching 'chr\[0-9\]\+'"):
        build(genome, peak_files={"A": unused})


def test_bad_blacklist_lines_name_file_line_and_fix(genome, tmp_path):
    bad = tmp_path / "black.bed"
    bad.write_text("# ENCODE blacklist\nchr1\t100\t200\nchr1\t500\tend\n")
    with pytest.raises(PeakError, match=r"black.bed, line 3: expected 'chrom start end'.*Fix the"):
        build(genome, blacklist=str(bad))
    other_names = tmp_path / "ensembl.bed"
    other_names.write_text("1\t100\t200\n")
    with pytest.raises(PeakError, match="ensembl.bed: no blacklist interval.*with 'chr'"):
        build(genome, blacklist=str(other_names))


def test_real_encode_files_hg38():
    """Real files (tests/data/README.md): 300 chr19 peaks of ENCODE K562 CTCF (ENCSR000AKO,
    GRCh38 narrowPeak with summits) and the ENCODE pipeline's blacklist for its chr19 + chrM test
    genome, which lists no chr19 interval (nothing removed, no error)."""
    sizes = read_chrom_sizes(DATA / "hg38_chr19_chrM.chrom.sizes")
    peaks = read_task_peaks(DATA / "K562_CTCF.GRCh38.chr19.narrowPeak.gz", sizes, "chr19")
    assert len(peaks) == 300 and set(peaks["chrom"]) == {"chr19"}
    raw = pd.read_csv(DATA / "K562_CTCF.GRCh38.chr19.narrowPeak.gz", sep="\t", header=None)
    assert (peaks["centre"].to_numpy() == (raw[1] + raw[9]).to_numpy()).all()  # summits
    assert ((peaks["start"] <= peaks["centre"]) & (peaks["centre"] <= peaks["end"])).all()
    blacklist = read_blacklist(DATA / "hg38_chr19_chrM.blacklist.bed.gz", sizes)
    assert blacklist.empty
    assert (
        read_blacklist(DATA / "hg38_chr19_chrM.blacklist.bed.gz", {"chr16": 90_338_345}).shape[0]
        == 19
    )


def test_blacklisted_peak_of_one_task_still_labels_another_tasks_region(tmp_path):
    """B's peak 1000-3000 touches the blacklist (2900-3100), so it gives no region of its own; A's
    region around 1100 (1000-1200) is clear of the blacklist, and its centre lies in B's peak:
    positive for B too. A task named like a column of the table is refused."""
    rng = np.random.default_rng(6)
    sizes = {"chr1": 20_000, "chr2": 8_000, "chr3": 8_000}
    fasta, fai = write_genome(tmp_path, {c: random_sequence(rng, n, 0.5) for c, n in sizes.items()})
    a = bed(tmp_path / "A.bed", [("chr1", 1050, 1150), ("chr2", 3000, 3200), ("chr3", 3000, 3200)])
    b = bed(tmp_path / "B.bed", [("chr1", 1000, 3000), ("chr2", 5000, 5200)])
    black = bed(tmp_path / "black.bed", [("chr1", 2900, 3100)])
    options = {"length": 200}, {"ratio": 0}, {"valid": ["chr2"], "test": ["chr3"]}
    table = peak_dataset_regions({"A": a, "B": b}, fasta, fai, None, *options, 0, blacklist=black)
    chr1 = table[table["chrom"] == "chr1"]
    assert chr1[["start", "A", "B"]].values.tolist() == [[1000, 1, 1]]
    with pytest.raises(ValueError, match="Task names background are columns"):
        peak_dataset_regions({"background": a}, fasta, fai, None, *options, 0)
