# Simulated datasets: one job per split, each from its own random stream of the dataset seed.


rule simulate_tf_binding:
    output:
        "results/datasets/{dataset}/{split}.h5",
    wildcard_constraints:
        dataset=one_of(SIMULATED_TF),
    params:
        simulation=lambda wc: DATASETS[wc.dataset]["simulation"],
        seed=lambda wc: DATASETS[wc.dataset]["seed"],
    log:
        "logs/simulate_tf_binding/{dataset}/{split}.log",
    threads: config["threads"]["simulate"]
    conda:
        ENV
    script:
        "../scripts/simulate_tf_binding.py"
