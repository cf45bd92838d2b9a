"""Snakemake script: train one variant of one dataset at one seed.

The state after each epoch goes to ``resume.npz`` next to the model, so that a killed job, run
again, resumes from its last finished epoch; the file is removed when the model is written.
"""

from pathlib import Path

from sfcrepro.runtime import configure, describe_devices, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    backend = configure(
        backend=sm.params.backend,
        threads=sm.threads,
        seed=sm.params.spec["seed"],
        require_gpu=sm.config["require_gpu"],
    )
    log.info(
        "Keras backend %s, %d threads; devices: %s",
        backend,
        sm.threads,
        ", ".join(describe_devices()),
    )
    from sfcrepro.config import TrainingSpec
    from sfcrepro.train import train

    train(
        TrainingSpec(**sm.params.spec),
        sm.input.train,
        sm.input.valid,
        sm.output.model,
        sm.output.history,
        checkpoint_path=Path(sm.output.model).with_name("resume.npz"),
    )
