# In vivo hematopoiesis accessibility (Corces et al. 2016): accessibility calls per cell type
# from the counts matrix, the same window recipe as simulated accessibility, real sequence.


rule accessibility_calls:
    input:
        lambda wc: source_file(DATASETS[wc.dataset]["counts"]),
    output:
        "results/regions/{dataset}/calls.tsv.gz",
    log:
        "logs/accessibility_calls/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(INVIVO_ACCESS),
    conda:
        ENV
    params:
        patterns=lambda wc: {
            cell: entry["pattern"]
            for cell, entry in DATASETS[wc.dataset]["samples"].items()
        },
        calls=lambda wc: DATASETS[wc.dataset]["calls"],
    script:
        "../scripts/accessibility_calls.py"


rule label_windows_from_calls:
    input:
        calls="results/regions/{dataset}/calls.tsv.gz",
        fai=lambda wc: genome_files(wc.dataset)["fai"],
    output:
        "results/regions/{dataset}/windows.tsv.gz",
    log:
        "logs/label_windows_from_calls/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(INVIVO_ACCESS),
    conda:
        ENV
    params:
        cells=lambda wc: tasks_of(DATASETS[wc.dataset]),
        windows=lambda wc: DATASETS[wc.dataset]["windows"],
        chromosomes=lambda wc: config["genomes"][DATASETS[wc.dataset]["genome"]][
            "chromosomes"
        ],
    script:
        "../scripts/label_windows_from_calls.py"


rule build_invivo_access:
    input:
        unpack(lambda wc: genome_files(wc.dataset)),
        windows="results/regions/{dataset}/windows.tsv.gz",
    output:
        expand("results/datasets/{{dataset}}/{split}.h5", split=SPLITS),
    log:
        "logs/build_invivo_access/{dataset}.log",
    benchmark:
        "results/benchmarks/build_invivo_access/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(INVIVO_ACCESS),
    conda:
        ENV
    threads: config["threads"]["simulate"]
    params:
        tasks=lambda wc: tasks_of(DATASETS[wc.dataset]),
        seed=lambda wc: DATASETS[wc.dataset]["seed"],
        splits=lambda wc: DATASETS[wc.dataset]["splits"],
        max_n_fraction=lambda wc: DATASETS[wc.dataset]["max_n_fraction"],
    script:
        "../scripts/build_invivo_access.py"
