# sfcrepro: reproduce "Separable Fully Connected Layers Improve Deep Learning Models for Genomics".
# Run with `snakemake --cores N` (or `make reproduce`); configuration in config/config.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


rule all:
    input:
        all_outputs(),
