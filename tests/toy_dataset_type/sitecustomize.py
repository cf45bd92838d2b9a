# With this folder on PYTHONPATH every Python process (Snakemake and its jobs) has the toy dataset
# type of toy_gc.py in its table, as a new type shipped in sfcrepro.data.dataset_types would be.
import toy_gc

toy_gc.register()
