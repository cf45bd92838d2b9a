# Simulated datasets. TF binding: one job per split, each from its own random stream of the
# dataset seed. Accessibility: one job streams every chromosome into the three split files.


rule simulate_tf_binding:
    input:
        motifs=dataset_motifs,
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
        simulation=dataset_option("simulation"),
        seed=dataset_option("seed"),
    script:
        "../scripts/simulate_tf_binding.py"


rule build_sim_access:
    input:
        unpack(dataset_genome),
        regions="results/regions/{dataset}/windows.tsv.gz",
        summits="results/regions/{dataset}/summits.tsv.gz",
        motifs=dataset_motifs,
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
        tasks=dataset_tasks,
        motif_names=lambda wc: {
            tf: entry["motif"] for tf, entry in DATASETS[wc.dataset]["tfs"].items()
        },
        seed=dataset_option("seed"),
        splits=dataset_option("splits"),
        max_n_fraction=dataset_option("max_n_fraction"),
    script:
        "../scripts/build_genome_regions.py"
