"""Snakemake script: train the seeds of one training job (a group of seeds of one variant).

Each seed's state goes to ``resume.npz`` next to its model (every ``execution.checkpoint_every``
seconds, at the end of an epoch, and at its last epoch), so that a killed job, run again, resumes
every seed from its checkpoint; the files are removed once every seed's model is written.
"""

from pathlib import Path

from sfcrepro.pipeline.runtime import configure_gpu_job, describe_devices, job_logging
from sfcrepro.pipeline.settings import TrainingSpec

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_logging(sm.log[0]) as log:
    specs = sm.params.specs
    first = TrainingSpec(**specs[0])  # the seeds of a job share all but seed and name
    backend = configure_gpu_job(
        sm,
        seed=first.seed,
        deterministic=first.deterministic,
        float32_matmul=first.float32_matmul,
    )
    log.info(
        "Keras backend %s, %d threads; devices: %s",
        backend,
        sm.threads,
        ", ".join(describe_devices()),
    )
    from sfcrepro.pipeline.train import Execution, RunFiles, train_runs

    runs = [
        RunFiles(TrainingSpec(**spec), model, history, Path(model).with_name("resume.npz"))
        for spec, model, history in zip(specs, sm.output.model, sm.output.history, strict=True)
    ]
    train_runs(runs, sm.input.train, sm.input.valid, Execution.from_config(sm.config["execution"]))
