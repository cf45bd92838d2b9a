# Attribution scored against the planted motifs: every seed's model of a variant explained by each
# configured method on the same sequences (simulated TF binding: fresh ones; simulated
# accessibility and sequences from .simdata files: sequences of a split); then the summary over
# seeds, the accuracy figure and Figure 4a's scores for every seed, and motif discovery.


rule attribution_simulated_tf:
    input:
        models=lambda wc: model_files(wc.dataset, wc.variant),
        motifs=dataset_motifs,
    output:
        scores="results/attribution/{dataset}/{variant}.tsv",
        curves="results/attribution/{dataset}/{variant}_curves.tsv",
        h5="results/attribution/{dataset}/{variant}.h5",
    log:
        "logs/attribution/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/attribution/{dataset}/{variant}.tsv"
    wildcard_constraints:
        dataset=one_of(ATTRIBUTION_TF),
    priority: variant_priority(follow_up=True)
    conda:
        MODEL_ENV
    threads: config["threads"]["attribution"]
    resources:
        gpu=config["gpus_per_job"],
    params:
        seeds=SEEDS,
        # simulated_tf only (attribution_regions, below, reads its sequences from a split)
        simulation=lambda wc: DATASETS[wc.dataset].get("simulation"),
        seed=dataset_option("seed"),
        attribution=dataset_option("attribution"),
        backend=BACKEND,
    script:
        "../scripts/attribution.py"


use rule attribution_simulated_tf as attribution_regions with:
    input:
        models=lambda wc: model_files(wc.dataset, wc.variant),
        data=lambda wc: dataset_file(
            wc.dataset, DATASETS[wc.dataset]["attribution"]["split"]
        ),
    wildcard_constraints:
        dataset=one_of(ATTRIBUTION_SPLIT),


rule attribution_summary:
    input:
        scores=lambda wc: expand(
            "results/attribution/{{dataset}}/{variant}.tsv",
            variant=variants(wc.dataset),
        ),
        curves=lambda wc: expand(
            "results/attribution/{{dataset}}/{variant}_curves.tsv",
            variant=variants(wc.dataset),
        ),
        metrics=lambda wc: expand(
            "results/metrics/{{dataset}}/{variant}.tsv", variant=variants(wc.dataset)
        ),
    output:
        scores="results/attribution/{dataset}.tsv",
        summary="results/attribution/{dataset}_summary.tsv",
        curves="results/attribution/{dataset}_curves.tsv",
        png=reported(
            "results/figures/attribution_{dataset}.png",
            "attribution",
            "Beyond the paper",
            "Attribution accuracy",
        ),
        pdf="results/figures/attribution_{dataset}.pdf",
        seeds_png=reported(
            "results/figures/fig4a_seeds_{dataset}.png",
            "fig4a_seeds",
            "Beyond the paper",
            "Figure 4a over seeds",
        ),
        seeds_pdf="results/figures/fig4a_seeds_{dataset}.pdf",
    log:
        "logs/attribution/{dataset}_summary.log",
    wildcard_constraints:
        dataset=one_of(ATTRIBUTION),
    localrule: True
    conda:
        ENV
    params:
        baseline=dataset_option("baseline"),
        effect_sizes=config["effect_sizes"],
        title=lambda wc: dataset_title(wc.dataset),
    script:
        "../scripts/attribution_summary.py"


# Motif discovery: TF-MoDISco on the kept attributions of every seed of a variant, each pattern
# matched to the motif file with Tomtom; whether the planted motifs come back.
rule motif_discovery:
    input:
        h5="results/attribution/{dataset}/{variant}.h5",
        motifs=dataset_motifs,
    output:
        found="results/discovery/{dataset}/{variant}.tsv",
        patterns="results/discovery/{dataset}/{variant}_patterns.tsv",
        ohe="results/discovery/{dataset}/{variant}_modisco/ohe.npz",
        shap="results/discovery/{dataset}/{variant}_modisco/shap.npz",
        png=reported(
            "results/figures/discovery_{dataset}_{variant}.png",
            "discovery_logos",
            "Beyond the paper",
            "Motif discovery",
        ),
        pdf="results/figures/discovery_{dataset}_{variant}.pdf",
    log:
        "logs/discovery/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/discovery/{dataset}/{variant}.tsv"
    wildcard_constraints:
        dataset=one_of(ATTRIBUTION),
    priority: variant_priority(follow_up=True)
    conda:
        ENV
    threads: config["threads"]["discovery"]
    params:
        planted=lambda wc: planted_motifs(DATASETS[wc.dataset]),
        settings=lambda wc: DATASETS[wc.dataset]["attribution"]["discovery"],
    script:
        "../scripts/motif_discovery.py"


rule discovery_summary:
    input:
        found=lambda wc: expand(
            "results/discovery/{{dataset}}/{variant}.tsv", variant=variants(wc.dataset)
        ),
        patterns=lambda wc: expand(
            "results/discovery/{{dataset}}/{variant}_patterns.tsv",
            variant=variants(wc.dataset),
        ),
    output:
        found=report(
            "results/discovery/{dataset}.tsv",
            caption="../report/discovery.rst",
            category="Beyond the paper",
            subcategory="Motif discovery",
        ),
        patterns="results/discovery/{dataset}_patterns.tsv",
    log:
        "logs/discovery/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(ATTRIBUTION),
    localrule: True
    conda:
        ENV
    script:
        "../scripts/discovery_summary.py"
