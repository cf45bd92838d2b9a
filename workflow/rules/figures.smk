# Figures, each as PNG and PDF in results/figures/.


rule fig2_performance:
    input:
        "results/summary.tsv",
    output:
        figure_files("fig2_performance"),
    log:
        "logs/figures/fig2_performance.log",
    conda:
        ENV
    params:
        titles={name: ds.get("title", name) for name, ds in DATASETS.items()},
        split=FIGURES.get("performance", {}).get("split", "valid"),
    script:
        "../scripts/fig2_performance.py"


if enabled_figure("learning_curves"):

    rule fig3_learning_curves:
        input:
            histories=[
                path
                for variant in FIGURES["learning_curves"]["variants"]
                for path in model_files(
                    FIGURES["learning_curves"]["dataset"], variant, "history.tsv"
                )
            ],
        output:
            figure_files("fig3_learning_curves"),
        log:
            "logs/figures/fig3_learning_curves.log",
        conda:
            ENV
        params:
            variants=FIGURES["learning_curves"]["variants"],
            seeds=SEEDS,
        script:
            "../scripts/fig3_learning_curves.py"


if enabled_figure("importance_sim_tf"):

    rule fig4a_importance_sim_tf:
        input:
            expand(
                "results/importance/{dataset}/{variant}.tsv",
                dataset=FIGURES["importance_sim_tf"]["dataset"],
                variant=FIGURES["importance_sim_tf"]["variants"],
            ),
        output:
            figure_files("fig4a_importance_sim_tf"),
        log:
            "logs/figures/fig4a_importance_sim_tf.log",
        conda:
            ENV
        params:
            variants=FIGURES["importance_sim_tf"]["variants"],
            task=DATASETS[FIGURES["importance_sim_tf"]["dataset"]]["importance"]["task"],
        script:
            "../scripts/fig4a_importance_sim_tf.py"
