# Configuration loading and validation, and the target list of `rule all`.
from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")


def all_outputs():
    """Every final output the configuration asks for."""
    return []
