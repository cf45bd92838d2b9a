"""The pipeline's steps: configuration and its checks, the runtime, training (engine, sweeps),
evaluation, interpretation jobs, tracks and figures. Imports every other subpackage."""
