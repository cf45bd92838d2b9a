# Simulated datasets. TF binding: one job per split, each from its own random stream of the
# dataset seed. Accessibility: one job streams every chromosome into the three split files.


rule simulate_tf_binding:
    input:
        motifs=lambda wc: motif_files(wc.dataset),
    output:
        "results/datasets/{dataset}/{split}.h5",
    log:
        "logs/simulate_tf_binding/{dataset}/{split}.log",
    wildcard_constraints:
        dataset=one_of(SIMULATED_TF),
    conda:
        ENV
    threads: config["threads"]["simulate"]
    params:
        simulation=lambda wc: DATASETS[wc.dataset]["simulation"],
        seed=lambda wc: DATASETS[wc.dataset]["seed"],
    script:
        "../scripts/simulate_tf_binding.py"


rule build_sim_access:
    input:
        unpack(lambda wc: genome_files(wc.dataset)),
        windows="results/regions/{dataset}/windows.tsv.gz",
        summits="results/regions/{dataset}/summits.tsv.gz",
        motifs=lambda wc: motif_files(wc.dataset),
    output:
        expand("results/datasets/{{dataset}}/{split}.h5", split=SPLITS),
    log:
        "logs/build_sim_access/{dataset}.log",
    benchmark:
        "results/benchmarks/build_sim_access/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(SIMULATED_ACCESS),
    conda:
        ENV
    threads: config["threads"]["simulate"]
    params:
        tasks=lambda wc: tasks_of(DATASETS[wc.dataset]),
        motif_names=lambda wc: {
            tf: entry["motif"] for tf, entry in DATASETS[wc.dataset]["tfs"].items()
        },
        seed=lambda wc: DATASETS[wc.dataset]["seed"],
        splits=lambda wc: DATASETS[wc.dataset]["splits"],
        max_n_fraction=lambda wc: DATASETS[wc.dataset]["max_n_fraction"],
    script:
        "../scripts/build_sim_access.py"
