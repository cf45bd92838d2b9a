# Importance: gradient x input per position for the best seed (validation auROC) of a variant.


rule importance_simulated_tf:
    input:
        models=lambda wc: model_files(wc.dataset, wc.variant),
        metrics="results/metrics/{dataset}/{variant}.tsv",
        motifs=lambda wc: motif_files(wc.dataset),
    output:
        "results/importance/{dataset}/{variant}.tsv",
    log:
        "logs/importance/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/importance/{dataset}/{variant}.tsv"
    wildcard_constraints:
        dataset=one_of(SIMULATED_TF),
    conda:
        ENV
    threads: config["threads"]["importance"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        seeds=SEEDS,
        simulation=lambda wc: DATASETS[wc.dataset]["simulation"],
        seed=lambda wc: DATASETS[wc.dataset]["seed"],
        importance=lambda wc: DATASETS[wc.dataset]["importance"],
        backend=config["backend"],
    script:
        "../scripts/importance_simulated_tf.py"
