# Importance: gradient x input per position for the best seed (validation auROC) of a variant.


rule importance_simulated_tf:
    input:
        models=lambda wc: model_files(wc.dataset, wc.variant),
        metrics="results/metrics/{dataset}/{variant}.tsv",
        motifs=dataset_motifs,
    output:
        "results/importance/{dataset}/{variant}.tsv",
    log:
        "logs/importance/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/importance/{dataset}/{variant}.tsv"
    wildcard_constraints:
        dataset=one_of(SIMULATED_TF),
    priority: variant_priority(follow_up=True)
    conda:
        MODEL_ENV
    threads: config["threads"]["importance"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        seeds=SEEDS,
        simulation=dataset_option("simulation"),
        seed=dataset_option("seed"),
        importance=dataset_option("importance"),
        backend=BACKEND,
    script:
        "../scripts/importance_simulated_tf.py"


# Importance over real regions of a split (Figures 4b, 4c): the training set and task of each
# enabled region-importance figure.
rule importance_regions:
    input:
        models=lambda wc: model_files(wc.trainset, wc.variant),
        metrics="results/metrics/{trainset}/{variant}.tsv",
        data=lambda wc: dataset_file(
            wc.trainset, REGION_IMPORTANCE[wc.trainset]["split"]
        ),
    output:
        "results/importance/{trainset}/{variant}.tsv",
    log:
        "logs/importance/{trainset}/{variant}.log",
    benchmark:
        "results/benchmarks/importance/{trainset}/{variant}.tsv"
    wildcard_constraints:
        trainset=one_of(REGION_IMPORTANCE),
    priority: variant_priority(follow_up=True)
    conda:
        MODEL_ENV
    threads: config["threads"]["importance"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        seeds=SEEDS,
        plan=lambda wc: {
            key: REGION_IMPORTANCE[wc.trainset][key]
            for key in ("task", "split", "regions", "seed", "batch_size")
        },
        backend=BACKEND,
    script:
        "../scripts/importance_regions.py"
