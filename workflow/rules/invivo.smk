# In vivo hematopoiesis accessibility (Corces et al. 2016): accessibility calls per cell type
# from the counts matrix; regions by windows.recipe (peaks: one region centred on each peak,
# labelled by its calls; tiles: the window recipe of simulated accessibility); real sequence.


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
        calls=dataset_option("calls"),
        unused=dataset_option("unused_samples"),
        n_cells=lambda wc: len(tasks_of(DATASETS[wc.dataset])),
        cell_list=lambda wc: ", ".join(tasks_of(DATASETS[wc.dataset])),
    message:
        "accessibility_calls ({wildcards.dataset}): calls for {params.n_cells} cell types ({params.cell_list})"
    script:
        "../scripts/accessibility_calls.py"


rule label_windows_from_calls:
    input:
        calls="results/regions/{dataset}/calls.tsv.gz",
        fai=dataset_fai,
    output:
        "results/regions/{dataset}/windows.tsv.gz",
    log:
        "logs/label_windows_from_calls/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(INVIVO_ACCESS),
    conda:
        ENV
    params:
        cells=dataset_tasks,
        windows=dataset_option("windows"),
        chromosomes=dataset_chromosomes,
    script:
        "../scripts/label_windows_from_calls.py"


rule build_invivo_access:
    input:
        unpack(dataset_genome),
        regions="results/regions/{dataset}/windows.tsv.gz",
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
        tasks=dataset_tasks,
        seed=dataset_option("seed"),
        splits=dataset_option("splits"),
        max_n_fraction=dataset_option("max_n_fraction"),
    script:
        "../scripts/build_genome_regions.py"


# In vivo TF binding (GM12878 ChIP-seq; Shrikumar et al. 2017b): per TF, regions centred on its
# ChIP-seq summits (1) and on DNase summits away from its top relaxed peaks (0), real sequence.


rule tf_examples:
    input:
        chip=lambda wc: source_file(DATASETS[wc.dataset]["tfs"][wc.tf]),
        relaxed=lambda wc: source_file(
            DATASETS[wc.dataset]["tfs"][wc.tf].get("relaxed")
            or DATASETS[wc.dataset]["tfs"][wc.tf]
        ),
        dnase=lambda wc: source_file(DATASETS[wc.dataset]["dnase"]),
        fai=dataset_fai,
    output:
        "results/regions/{dataset}/{tf}/examples.tsv.gz",
    log:
        "logs/tf_examples/{dataset}/{tf}.log",
    wildcard_constraints:
        dataset=one_of(INVIVO_TF),
        tf=one_of(INVIVO_TF_NAMES),
    conda:
        ENV
    params:
        chromosomes=dataset_chromosomes,
        peak_errors=dataset_option("peak_errors"),
        length=dataset_option("length"),
        top=dataset_option("top_relaxed"),
    script:
        "../scripts/tf_examples.py"


rule build_invivo_tf:
    input:
        unpack(dataset_genome),
        regions="results/regions/{dataset}/{tf}/examples.tsv.gz",
    output:
        expand("results/datasets/{{dataset}}/{{tf}}/{split}.h5", split=SPLITS),
    log:
        "logs/build_invivo_tf/{dataset}/{tf}.log",
    benchmark:
        "results/benchmarks/build_invivo_tf/{dataset}/{tf}.tsv"
    wildcard_constraints:
        dataset=one_of(INVIVO_TF),
        tf=one_of(INVIVO_TF_NAMES),
    conda:
        ENV
    threads: config["threads"]["simulate"]
    params:
        tasks=lambda wc: [wc.tf],
        seed=dataset_option("seed"),
        splits=dataset_option("splits"),
        max_n_fraction=dataset_option("max_n_fraction"),
    script:
        "../scripts/build_genome_regions.py"
