"""DeepLIFT-SHAP: sfcrepro against tangermeme on the same models, sequences and references.

Runs under the torch backend (tangermeme explains torch modules). For each model (randomly
initialised, BatchNorm statistics randomised so that it is not the identity), both compute
DeepLIFT-SHAP of task 0's logit for the same one-hot sequences from the same dinucleotide-shuffled
references, after a warm-up; the table gives sequences per second, the speed ratio, each
method's largest completeness gap (|sum of attributions - (logit(x) - mean logit(references))|,
zero for exact DeepLIFT) relative to the mean |logit difference|, and the correlation of the two
methods' per-position scores.

tangermeme hooks the torch modules it recognises (torch.nn.ReLU, MaxPool1d, ...). A Keras model
under the torch backend is a torch module, but its ReLUs are functional calls inside Keras
layers, so tangermeme sees none and computes gradient x (input - reference): not exact, which
the gap column shows. With ``--keras-activations`` the Keras ``Activation`` layers are passed to
tangermeme as nonlinear modules (``additional_nonlinear_ops``); ReLUs fused into Conv1D/Dense
layers and Keras max pooling remain invisible to it.

Needs tangermeme (not a dependency of sfcrepro; MIT, 244 kB)::

    pip install --no-deps --target <dir> tangermeme==1.6.0 figwig

Example::

    KERAS_BACKEND=torch PYTHONPATH=<dir> python benchmarks/deeplift_shap_speed.py --sequences 64
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sfcrepro.data.sequences import one_hot  # noqa: E402
from sfcrepro.explain.attribution import (  # noqa: E402
    completeness_gap,
    deeplift_shap,
    logit_model,
    shuffled_references,
)
from sfcrepro.network import models  # noqa: E402

CASES = {
    "simulated_tf_sep": ("simulated_tf", "sep", 200),
    "tf_binding_symm": ("tf_binding", "symm", 1000),
    "basset_sep": ("basset", "sep", 1000),
}


class ChannelsFirst(torch.nn.Module):
    """tangermeme's layout ``(N, 4, L)`` in, the Keras model's logits out."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits(x.permute(0, 2, 1))


def _cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def compare(case, args, extra, rng) -> str:
    """One table row: both methods on one randomly initialised model."""
    from tangermeme.deep_lift_shap import deep_lift_shap as tangermeme_dls

    architecture, head, length = CASES[case]
    keras.utils.set_random_seed(args.seed)
    model = models.build_model(architecture, head=head, length=length)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.2, shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2, shape).astype("float32"))
    x = one_hot(rng.integers(0, 4, (args.sequences, length)).astype(np.uint8))
    refs = shuffled_references(x, args.references, args.seed)
    logits = logit_model(model)
    wrapped = ChannelsFirst(logits)
    xt = torch.tensor(x.transpose(0, 2, 1))
    rt = torch.tensor(refs.transpose(0, 1, 3, 2))

    def ours(n):
        return deeplift_shap(model, x[:n], 0, references=refs[:n], batch_size=args.batch_size)

    def theirs(n):
        out = tangermeme_dls(
            wrapped,
            xt[:n],
            target=0,
            references=rt[:n],
            batch_size=args.batch_size,
            additional_nonlinear_ops=extra,
            warning_threshold=float("inf"),
        )
        return out.detach().numpy().transpose(0, 2, 1)

    ours(2), theirs(2)  # warm-up
    start = time.perf_counter()
    a = ours(args.sequences)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    b = theirs(args.sequences)
    t_theirs = time.perf_counter() - start
    out = keras.ops.convert_to_numpy(logits(x))[:, 0]
    out_refs = keras.ops.convert_to_numpy(logits(refs.reshape(-1, length, 4)))[:, 0]
    scale = np.abs(out - out_refs.reshape(len(x), -1).mean(1)).mean()
    gap_ours = np.abs(completeness_gap(model, x, 0, a.scores, refs)).max() / scale
    gap_theirs = np.abs(completeness_gap(model, x, 0, b, refs)).max() / scale
    r = np.corrcoef(a.per_position().ravel(), b.sum(-1).ravel())[0, 1]
    n = args.sequences
    return (
        f"| {architecture} {head} | {length} | {n / t_ours:.1f} | {n / t_theirs:.1f} | "
        f"{t_theirs / t_ours:.2f}x | {gap_ours:.1e} | {gap_theirs:.1e} | {r:.3f} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sequences", type=int, default=64)
    parser.add_argument("--references", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256, help="(sequence, reference) pairs")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--keras-activations", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "torch":
        parser.error("run with KERAS_BACKEND=torch (tangermeme explains torch modules)")
    from tangermeme.deep_lift_shap import _nonlinear

    extra = {keras.layers.Activation: _nonlinear} if args.keras_activations else None
    print(
        f"Machine: {_cpu()}; cores {os.cpu_count()}, torch threads {torch.get_num_threads()}; "
        f"{args.sequences} sequences x {args.references} references, batch {args.batch_size} "
        f"pairs; Keras Activation layers given to tangermeme: {args.keras_activations}\n"
    )
    print(
        "| model | length | sfcrepro seq/s | tangermeme seq/s | ratio | sfcrepro max gap | "
        "tangermeme max gap | correlation |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(args.seed)
    for case in args.cases:
        print(compare(case, args, extra, rng), flush=True)


if __name__ == "__main__":
    main()
