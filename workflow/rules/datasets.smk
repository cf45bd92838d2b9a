# Datasets built in one job by the builder their type names in sfcrepro.data.dataset_types (your
# own sequences; any new type with a builder): the dataset's source files in, its three split
# files out. A type with a builder needs no rule of its own (docs/development.md).


rule build_dataset:
    input:
        unpack(dataset_build_inputs),
    output:
        expand("results/datasets/{{dataset}}/{split}.h5", split=SPLITS),
    log:
        "logs/build_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/build_dataset/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(BUILT_BY_BUILDER),
    conda:
        ENV
    threads: config["threads"]["simulate"]
    params:
        settings=dataset_build_settings,
    script:
        "../scripts/build_dataset.py"
