# Training: one job per training set (a dataset, or one TF of in vivo TF binding), variant and seed. Jobs ask for `gpu` (gpus_per_job in the
# config); locally that limits nothing unless snakemake gets --resources gpu=N.


rule train:
    input:
        train=lambda wc: dataset_file(wc.trainset, "train"),
        valid=lambda wc: dataset_file(wc.trainset, "valid"),
    output:
        model="results/models/{trainset}/{variant}/seed{seed}/model.keras",
        history="results/models/{trainset}/{variant}/seed{seed}/history.tsv",
    log:
        "logs/train/{trainset}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{trainset}/{variant}/seed{seed}.tsv"
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        spec=lambda wc: training_settings(
            dataset_of(wc.trainset),
            wc.variant,
            int(wc.seed),
            f"{wc.trainset}/{wc.variant}",
        ),
        backend=config["backend"],
    script:
        "../scripts/train.py"
