# Training: one job per dataset, variant and seed. Jobs ask for `gpu` (gpus_per_job in the
# config); locally that limits nothing unless snakemake gets --resources gpu=N.


rule train:
    input:
        train=lambda wc: dataset_file(wc.dataset, "train"),
        valid=lambda wc: dataset_file(wc.dataset, "valid"),
    output:
        model="results/models/{dataset}/{variant}/seed{seed}/model.keras",
        history="results/models/{dataset}/{variant}/seed{seed}/history.tsv",
    log:
        "logs/train/{dataset}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{variant}/seed{seed}.tsv"
    conda:
        ENV
    threads: config["threads"]["train"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        spec=lambda wc: training_settings(
            DATASETS[wc.dataset],
            wc.variant,
            int(wc.seed),
            f"{wc.dataset}/{wc.variant}",
        ),
        backend=config["backend"],
    script:
        "../scripts/train.py"
