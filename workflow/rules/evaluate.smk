# Evaluation: auROC/auPRC per task of every seed's model on the validation and test splits,
# collected per dataset, then summarised over seeds for all datasets.


rule evaluate:
    input:
        models=lambda wc: model_files(wc.dataset, wc.variant),
        valid=lambda wc: dataset_file(wc.dataset, "valid"),
        test=lambda wc: dataset_file(wc.dataset, "test"),
    output:
        "results/metrics/{dataset}/{variant}.tsv",
    log:
        "logs/evaluate/{dataset}/{variant}.log",
    conda:
        ENV
    threads: config["threads"]["evaluate"]
    params:
        seeds=SEEDS,
        backend=config["backend"],
    script:
        "../scripts/evaluate.py"


rule collect_metrics:
    input:
        lambda wc: expand(
            "results/metrics/{{dataset}}/{variant}.tsv", variant=variants(wc.dataset)
        ),
    output:
        "results/metrics/{dataset}.tsv",
    log:
        "logs/collect_metrics/{dataset}.log",
    conda:
        ENV
    script:
        "../scripts/collect_metrics.py"


rule summary:
    input:
        expand("results/metrics/{dataset}.tsv", dataset=DATASETS),
    output:
        "results/summary.tsv",
    log:
        "logs/summary.log",
    conda:
        ENV
    params:
        baseline={name: ds.get("baseline", "std") for name, ds in DATASETS.items()},
    script:
        "../scripts/summary.py"
