# Attribution tracks of genome-derived datasets (their `tracks` block): per-base attributions of
# each variant's best seed over regions of a split, one bigWig per task, for a genome browser.


rule attribution_tracks:
    input:
        models=lambda wc: model_files(wc.trainset, wc.variant),
        metrics="results/metrics/{trainset}/{variant}.tsv",
        data=lambda wc: dataset_file(
            wc.trainset, dataset_of(wc.trainset)["tracks"]["split"]
        ),
        fai=lambda wc: genome_files(split_training_set(wc.trainset)[0])["fai"],
    output:
        directory("results/tracks/{trainset}/{variant}"),
    log:
        "logs/attribution_tracks/{trainset}/{variant}.log",
    benchmark:
        "results/benchmarks/attribution_tracks/{trainset}/{variant}.tsv"
    wildcard_constraints:
        trainset=one_of(TRACKS),
    priority: variant_priority(follow_up=True)
    conda:
        MODEL_ENV
    threads: config["threads"]["attribution"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        seeds=SEEDS,
        settings=lambda wc: dataset_of(wc.trainset)["tracks"],
        backend=BACKEND,
    script:
        "../scripts/attribution_tracks.py"
