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


# The kinds of training: the main run (every enabled variant at the config's seeds), and the
# learning-rate (figS1) and training-set-size sweeps with their own seeds. Runs of the sweeps
# identical to a main-run model are not repeated (see lr_history and size_history).
# kind -> (files under results/, wildcards there, seeds, wildcard constraints, priority)
TRAINING = {
    "train": (
        "models",
        "{trainset}/{variant}",
        SEEDS,
        {},
        variant_priority(),
    ),
}
if enabled_figure("lr_robustness"):
    TRAINING["train_lr"] = (
        "lr_robustness",
        "{trainset}/{variant}/lr{lr}",
        LR_ROBUSTNESS["seeds"],
        {
            "trainset": one_of([LR_ROBUSTNESS["dataset"]]),
            "variant": one_of(LR_ROBUSTNESS["variants"]),
            "lr": one_of(
                [learning_rate_name(r) for r in LR_ROBUSTNESS["learning_rates"]]
            ),
        },
        1,
    )
if enabled_figure("training_size"):
    TRAINING["train_size"] = (
        "training_size",
        "{trainset}/{variant}/n{per_class}",
        TRAINING_SIZE["seeds"],
        {
            "trainset": one_of([TRAINING_SIZE["dataset"]]),
            "variant": one_of(TRAINING_SIZE["variants"]),
            "per_class": one_of([str(n) for n in TRAINING_SIZE["per_class"]]),
        },
        1,
    )


# One rule per kind and group of seeds (execution.seeds_per_job): one job trains a group's seeds
# of one variant in one process; its outputs are each seed's model and history.
for kind, (folder, where, kind_seeds, constraints, rank) in TRAINING.items():
    for group in seed_groups(kind_seeds, main=SEEDS if kind != "train" else ()):

        rule:
            name:
                training_rule_name(kind, group)
            input:
                train=lambda wc: dataset_file(wc.trainset, "train"),
                valid=lambda wc: dataset_file(wc.trainset, "valid"),
            output:
                model=expand(
                    f"results/{folder}/{where}/seed{{seed}}/model.keras",
                    seed=group,
                    allow_missing=True,
                ),
                history=expand(
                    f"results/{folder}/{where}/seed{{seed}}/history.tsv",
                    seed=group,
                    allow_missing=True,
                ),
            log:
                f"logs/{kind}/{where}/{seed_label(group)}.log",
            benchmark:
                f"results/benchmarks/{kind}/{where}/{seed_label(group)}.tsv"
            wildcard_constraints:
                **constraints,
            priority: rank
            conda:
                GPU_ENV
            threads: profile_threads(kind, config["threads"]["train"])
            resources:
                **training_resources(kind),
            params:
                specs=training_specs(group),
                backend=BACKEND,
            script:
                "../scripts/train.py"
