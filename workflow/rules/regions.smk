# Peak processing: merge, pad, tile and label windows per cell type, then the TF summits that
# fall inside each window's expanded region.


rule label_windows:
    input:
        peaks=lambda wc: [
            source_file(entry) for entry in DATASETS[wc.dataset]["cell_types"].values()
        ],
        fai=dataset_fai,
    output:
        "results/regions/{dataset}/windows.tsv.gz",
    log:
        "logs/label_windows/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(SIMULATED_ACCESS),
    conda:
        ENV
    params:
        cell_types=lambda wc: list(DATASETS[wc.dataset]["cell_types"]),
        windows=dataset_option("windows"),
        chromosomes=dataset_chromosomes,
        peak_errors=dataset_option("peak_errors"),
    script:
        "../scripts/label_windows.py"


rule tf_summits:
    input:
        windows="results/regions/{dataset}/windows.tsv.gz",
        peaks=lambda wc: [
            source_file(entry) for entry in DATASETS[wc.dataset]["tfs"].values()
        ],
        fai=dataset_fai,
    output:
        "results/regions/{dataset}/summits.tsv.gz",
    log:
        "logs/tf_summits/{dataset}.log",
    conda:
        ENV
    params:
        tfs=lambda wc: list(DATASETS[wc.dataset]["tfs"]),
        peak_errors=dataset_option("peak_errors"),
    script:
        "../scripts/tf_summits.py"
