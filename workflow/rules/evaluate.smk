# Evaluation: auROC/auPRC per task of every seed's model on the validation and test splits,
# collected per dataset (on the submitting host: localrule), then summarised over seeds for all datasets.


rule evaluate:
    input:
        models=lambda wc: model_files(wc.trainset, wc.variant),
        valid=lambda wc: dataset_file(wc.trainset, "valid"),
        test=lambda wc: dataset_file(wc.trainset, "test"),
    output:
        metrics="results/metrics/{trainset}/{variant}.tsv",
    log:
        "logs/evaluate/{trainset}/{variant}.log",
    wildcard_constraints:
        trainset=one_of([t for t in TRAINING_SETS if t not in GENOME_TRAINSETS]),
    priority: variant_priority(follow_up=True)
    conda:
        MODEL_ENV
    threads: config["threads"]["evaluate"]
    params:
        dataset=lambda wc: split_training_set(wc.trainset)[0],
        seeds=SEEDS,
        backend=BACKEND,
    script:
        "../scripts/evaluate.py"


# Genome-derived data: the same, plus every region's predictions (a BED-like table).
use rule evaluate as evaluate_regions with:
    output:
        metrics="results/metrics/{trainset}/{variant}.tsv",
        predictions="results/predictions/{trainset}/{variant}.bed.gz",
    wildcard_constraints:
        trainset=one_of(GENOME_TRAINSETS),


rule collect_metrics:
    input:
        lambda wc: expand(
            "results/metrics/{trainset}/{variant}.tsv",
            trainset=training_sets_of(wc.dataset),
            variant=variants(wc.dataset),
        ),
    output:
        reported(
            "results/metrics/{dataset}.tsv",
            "metrics",
            lambda wc: dataset_title(wc.dataset),
            "Scores per seed",
        ),
    log:
        "logs/collect_metrics/{dataset}.log",
    localrule: True
    conda:
        ENV
    script:
        "../scripts/collect_metrics.py"


rule summary:
    input:
        expand("results/metrics/{dataset}.tsv", dataset=DATASETS),
    output:
        reported("results/summary.tsv", "summary", "All datasets", "Summary"),
    log:
        "logs/summary.log",
    localrule: True
    conda:
        ENV
    params:
        baseline={name: ds["baseline"] for name, ds in DATASETS.items()},
        failed_auroc=config["failed_auroc"],
        effect_sizes=config["effect_sizes"],
    script:
        "../scripts/summary.py"
