# Figures, each as PNG and PDF in results/figures/. Plotting runs on the submitting host under a
# cluster executor (localrule); the inputs are small tables (and, for Figure 5, a few models).


rule fig2_performance:
    input:
        "results/summary.tsv",
    output:
        png=reported(
            "results/figures/fig2_performance.png",
            "fig2_performance",
            "All datasets",
            "Figure 2",
        ),
        pdf="results/figures/fig2_performance.pdf",
    log:
        "logs/figures/fig2_performance.log",
    localrule: True
    conda:
        ENV
    params:
        titles={name: dataset_title(name) for name in DATASETS},
        split=FIGURES["performance"]["split"],
    script:
        "../scripts/fig2_performance.py"


# Beyond the paper: the forest plot of every effect (variant - baseline, median over seeds, with
# its bootstrap interval) of performance and, where scored, attribution accuracy.
rule effect_sizes:
    input:
        summary="results/summary.tsv",
        attribution=expand(
            "results/attribution/{dataset}_summary.tsv", dataset=ATTRIBUTION
        ),
    output:
        png=reported(
            "results/figures/effect_sizes.png",
            "effect_sizes",
            "All datasets",
            "Effect sizes",
        ),
        pdf="results/figures/effect_sizes.pdf",
        table=reported(
            "results/figures/effect_sizes.tsv",
            "effect_sizes",
            "All datasets",
            "Effect sizes",
        ),
    log:
        "logs/figures/effect_sizes.log",
    localrule: True
    conda:
        ENV
    params:
        datasets=ATTRIBUTION,
        titles={name: dataset_title(name) for name in DATASETS},
        confidence=config["effect_sizes"]["confidence"],
    script:
        "../scripts/effect_sizes.py"


if enabled_figure("learning_curves"):

    rule fig3_learning_curves:
        input:
            histories=[
                path
                for variant in LEARNING_CURVES["variants"]
                for path in model_files(
                    LEARNING_CURVES["dataset"], variant, "history.tsv"
                )
            ],
        output:
            png=reported(
                "results/figures/fig3_learning_curves.png",
                "fig3_learning_curves",
                dataset_title(LEARNING_CURVES["dataset"]),
                "Figure 3",
            ),
            pdf="results/figures/fig3_learning_curves.pdf",
        log:
            "logs/figures/fig3_learning_curves.log",
        localrule: True
        conda:
            ENV
        params:
            variants=LEARNING_CURVES["variants"],
            seeds=SEEDS,
        script:
            "../scripts/fig3_learning_curves.py"


rule fig4_importance:
    input:
        lambda wc: expand(
            "results/importance/{trainset}/{variant}.tsv",
            trainset=IMPORTANCE[wc.figure]["trainset"],
            variant=IMPORTANCE[wc.figure]["variants"],
        ),
    output:
        png=reported(
            "results/figures/{figure}.png",
            "fig4_importance",
            lambda wc: IMPORTANCE[wc.figure]["title"],
            "Figure 4",
        ),
        pdf="results/figures/{figure}.pdf",
        scores=reported(
            "results/figures/{figure}.tsv",
            "fig4_importance",
            lambda wc: IMPORTANCE[wc.figure]["title"],
            "Figure 4",
        ),
    log:
        "logs/figures/{figure}.log",
    localrule: True
    conda:
        ENV
    params:
        variants=lambda wc: IMPORTANCE[wc.figure]["variants"],
        # split: region panels only (the simulated panel explains fresh sequences).
        plan=lambda wc: {
            key: value
            for key, value in IMPORTANCE[wc.figure].items()
            if key in ("title", "task", "split", "simulated")
        },
    script:
        "../scripts/fig4_importance.py"


if enabled_figure("positional_weights"):

    rule fig5_positional_weights:
        input:
            models=[
                path
                for variant in POSITIONAL_WEIGHTS["variants"]
                for path in model_files(POSITIONAL_WEIGHTS["dataset"], variant)
            ],
            metrics=expand(
                "results/metrics/{dataset}/{variant}.tsv",
                dataset=POSITIONAL_WEIGHTS["dataset"],
                variant=POSITIONAL_WEIGHTS["variants"],
            ),
        output:
            png=reported(
                "results/figures/fig5_positional_weights.png",
                "fig5_positional_weights",
                dataset_title(POSITIONAL_WEIGHTS["dataset"]),
                "Figure 5",
            ),
            pdf="results/figures/fig5_positional_weights.pdf",
            table=reported(
                "results/figures/fig5_positional_weights.tsv",
                "fig5_positional_weights",
                dataset_title(POSITIONAL_WEIGHTS["dataset"]),
                "Figure 5",
            ),
        log:
            "logs/figures/fig5_positional_weights.log",
        localrule: True
        conda:
            MODEL_ENV
        params:
            variants=POSITIONAL_WEIGHTS["variants"],
            curvature=[
                DATASETS[POSITIONAL_WEIGHTS["dataset"]]["variants"][v].get(
                    "curvature", 0.0
                )
                for v in POSITIONAL_WEIGHTS["variants"]
            ],
            title=dataset_title(POSITIONAL_WEIGHTS["dataset"]),
            clusters=POSITIONAL_WEIGHTS["clusters"],
            seed=POSITIONAL_WEIGHTS["seed"],
            seeds=SEEDS,
            backend=BACKEND,
        script:
            "../scripts/fig5_positional_weights.py"


# One figure per enabled sweep (sfcrepro.pipeline.sweeps): validation scores of every run, the figure,
# the table of runs and its summary per value (workflow/scripts/sweep_figure.py).
for key, plan in SWEEP_PLANS.items():
    sweep = SWEEPS[key]
    figure = sweep_figure_name(sweep, plan)
    category = dataset_title(plan["dataset"])

    rule:
        name:
            sweep.figure_rule
        input:
            sweep_histories(key),
        output:
            png=reported(
                f"results/figures/{figure}.png",
                sweep.caption,
                category,
                sweep.subcategory,
            ),
            pdf=f"results/figures/{figure}.pdf",
            table=reported(
                f"results/figures/{figure}.tsv",
                sweep.caption,
                category,
                sweep.subcategory,
            ),
            summary=reported(
                f"results/figures/{figure}_summary.tsv",
                f"{sweep.caption}_summary",
                category,
                sweep.subcategory,
            ),
        log:
            f"logs/figures/{figure}.log",
        localrule: True
        conda:
            ENV
        params:
            runs=sweep_runs(sweep, plan),
            sweep=key,
            dataset=plan["dataset"],
            baseline=DATASETS[plan["dataset"]]["baseline"],
            failed_auroc=config["failed_auroc"],
            effect_sizes=config["effect_sizes"],
            title=category,
        script:
            "../scripts/sweep_figure.py"
