# Training: one job per training set (a dataset, or one TF of in vivo TF binding), variant and seed. Jobs ask for `gpu` (gpus_per_job in the
# config); locally that limits nothing unless snakemake gets --resources gpu=N.


# The devices the backend sees, where GPU jobs run (it asks for a GPU like them); with
# require_gpu it fails before any training when there is none. Scheduled first.
rule check_gpu:
    output:
        "results/check_gpu.txt",
    log:
        "logs/check_gpu.log",
    priority: 1000
    conda:
        GPU_ENV
    resources:
        gpu=config["gpus_per_job"],
    params:
        backend=BACKEND,
        require_gpu=config["require_gpu"],
    script:
        "../scripts/check_gpu.py"


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
    priority: variant_priority()
    conda:
        GPU_ENV
    threads: config["threads"]["train"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        spec=training_spec,
        backend=BACKEND,
    script:
        "../scripts/train.py"


# Learning-rate robustness (figS1): the variants of one dataset at other learning rates, with
# the figure's own seeds. Runs identical to a main-run model are not repeated (see lr_history).
if enabled_figure("lr_robustness"):

    use rule train as train_lr with:
        output:
            model="results/lr_robustness/{trainset}/{variant}/lr{lr}/seed{seed}/model.keras",
            history="results/lr_robustness/{trainset}/{variant}/lr{lr}/seed{seed}/history.tsv",
        log:
            "logs/train_lr/{trainset}/{variant}/lr{lr}/seed{seed}.log",
        benchmark:
            "results/benchmarks/train_lr/{trainset}/{variant}/lr{lr}/seed{seed}.tsv"
        wildcard_constraints:
            trainset=one_of([LR_ROBUSTNESS["dataset"]]),
            variant=one_of(LR_ROBUSTNESS["variants"]),
            lr=one_of([learning_rate_name(r) for r in LR_ROBUSTNESS["learning_rates"]]),
        priority: 1


# Training-set size (beyond the paper): the variants of a simulated TF-binding dataset trained on
# nested class-stratified subsets of its training split, with the figure's own seeds. Runs on the
# whole split identical to a main-run model are not repeated (see size_history).
if enabled_figure("training_size"):

    use rule train as train_size with:
        output:
            model="results/training_size/{trainset}/{variant}/n{per_class}/seed{seed}/model.keras",
            history="results/training_size/{trainset}/{variant}/n{per_class}/seed{seed}/history.tsv",
        log:
            "logs/train_size/{trainset}/{variant}/n{per_class}/seed{seed}.log",
        benchmark:
            "results/benchmarks/train_size/{trainset}/{variant}/n{per_class}/seed{seed}.tsv"
        wildcard_constraints:
            trainset=one_of([TRAINING_SIZE["dataset"]]),
            variant=one_of(TRAINING_SIZE["variants"]),
            per_class=one_of([str(n) for n in TRAINING_SIZE["per_class"]]),
        priority: 1
