"""Snakemake script: train the seeds of one training job (a group of seeds of one variant).

The state after each epoch goes to ``resume.npz`` next to each seed's model, so that a killed
job, run again, resumes every seed from its last finished epoch; the files are removed once
every seed's model is written.
"""

from pathlib import Path

from sfcrepro.pipeline.runtime import configure, describe_devices, job_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    specs = sm.params.specs
    backend = configure(
        backend=sm.params.backend,
        threads=sm.threads,
        seed=specs[0]["seed"],
        require_gpu=sm.config["require_gpu"],
    )
    log.info(
        "Keras backend %s, %d threads; devices: %s",
        backend,
        sm.threads,
        ", ".join(describe_devices()),
    )
    from sfcrepro.pipeline.settings import TrainingSpec
    from sfcrepro.pipeline.train import Execution, RunFiles, train_runs

    runs = [
        RunFiles(TrainingSpec(**spec), model, history, Path(model).with_name("resume.npz"))
        for spec, model, history in zip(specs, sm.output.model, sm.output.history, strict=True)
    ]
    train_runs(runs, sm.input.train, sm.input.valid, Execution.from_config(sm.config["execution"]))
