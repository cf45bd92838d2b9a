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
        MODEL_ENV
    resources:
        gpu=config["gpus_per_job"],
    params:
        backend=BACKEND,
        require_gpu=config["require_gpu"],
    script:
        "../scripts/check_gpu.py"


# The kinds of training: the main run (every enabled variant at the config's seeds), and each
# enabled sweep (sfcrepro.pipeline.sweeps: learning rate for figS1, training-set size) with its own seeds.
# Runs of a sweep identical to a main-run model are not repeated (see sweep_history).
# kind -> (sweep key or None, files under results/, wildcards there, seeds, constraints, priority)
TRAINING = {
    "train": (None, "models", "{trainset}/{variant}", SEEDS, {}, variant_priority())
}
for key, plan in SWEEP_PLANS.items():
    sweep = SWEEPS[key]
    TRAINING[sweep.rule] = (
        key,
        sweep.folder,
        f"{{trainset}}/{{variant}}/{sweep.prefix}{{value}}",
        plan["seeds"],
        {
            "trainset": one_of([plan["dataset"]]),
            "variant": one_of(plan["variants"]),
            "value": one_of([sweep_value_text(sweep, v) for v in plan[sweep.values]]),
        },
        1,
    )


# One rule per kind and group of seeds (execution.seeds_per_job): one job trains a group's seeds
# of one variant in one process; its outputs are each seed's model and history.
for kind, (sweep_key, folder, where, kind_seeds, constraints, rank) in TRAINING.items():
    for group in seed_groups(kind_seeds, main=SEEDS if sweep_key else ()):

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
                MODEL_ENV
            threads: profile_threads(kind, config["threads"]["train"])
            resources:
                **training_resources(kind),
            params:
                specs=training_specs(group, sweep_key),
                backend=BACKEND,
            script:
                "../scripts/train.py"
