# sfcrepro: reproduce "Separable Fully Connected Layers Improve Deep Learning Models for Genomics".
# Run with `snakemake --cores N` (or `make reproduce`); configuration in config/config.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/regions.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/invivo.smk"
include: "workflow/rules/user_data.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/importance.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/tracks.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_outputs(),


onsuccess:
    print_outputs()
