"""The PyTorch step of :class:`sfcrepro.pipeline.engine.Engine`.

The step of Keras' own PyTorch trainer (forward, ``backward``, optimizer) per model and step,
eagerly or under ``torch.compile`` (``jit_compile``). Each model's dropout draws come from its
own copy of PyTorch's global random state, swapped in around its steps, so that a model trained
with others draws what it would draw alone.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from keras import ops

from sfcrepro.pipeline.engine import batch_loss, global_rng_state, one_hot_batch

__all__ = ["TorchSteps", "set_global_rng_state"]

log = logging.getLogger("sfcrepro.pipeline.engine")


def set_global_rng_state(state: dict) -> None:
    """Restore PyTorch's global random state from :func:`global_rng_state`'s copy."""
    torch.set_rng_state(torch.from_numpy(np.asarray(state["rng_cpu"], np.uint8)))
    if "rng_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.from_numpy(np.asarray(state["rng_cuda"], np.uint8)))


class TorchSteps:
    """Training and prediction of an engine's models under PyTorch."""

    pad_chunks = False

    def __init__(self, engine):
        self.engine = engine
        self._compiled = torch.compile(self._one_step) if engine.jit_compile else None

    def _step(self, *args):
        if self._compiled is not None:
            try:
                return self._compiled(*args)
            except Exception as error:  # noqa: BLE001 (a graph torch.compile cannot take)
                log.warning("torch.compile failed (%s); this job trains eagerly.", error)
                self._compiled = None
        return self._one_step(*args)

    def _one_step(self, model, weights, tokens, labels, rows):
        loss, grads = self._gradients(model, weights, tokens, labels, rows)
        with torch.no_grad():
            model.optimizer.apply(grads, model.trainable_variables)
        return loss.detach()

    def train(self, members, active, tokens, labels, rows):
        engine = self.engine
        losses = torch.zeros(rows.shape[:2], device=rows.device)
        for s in range(rows.shape[1]):
            for k, member in enumerate(members):
                if not active[k]:
                    continue
                own = engine.rng_states[member]
                if own is not None:  # this model's dropout draws, as if trained alone
                    set_global_rng_state(own)
                model = engine.models[member]
                losses[k, s] = self._step(
                    model, engine.class_weights[member], tokens, labels, rows[k, s]
                )
                if own is not None:
                    engine.rng_states[member] = global_rng_state()
        return losses

    def _gradients(self, model, weights, tokens, labels, rows):
        x, y, w = one_hot_batch(tokens, labels, rows, weights, self.engine.reverse_complement)
        loss = batch_loss(y, model(x, training=True), w, model.losses)
        model.zero_grad()
        loss.backward()
        return loss, [v.value.grad for v in model.trainable_variables]

    def loss_and_gradients(self, member, tokens, labels, rows):
        model = self.engine.models[member]
        return self._gradients(model, self.engine.class_weights[member], tokens, labels, rows)

    def predict(self, members, x):
        with torch.no_grad():
            return torch.stack(
                [ops.cast(self.engine.models[m](x, training=False), "float32") for m in members]
            )

    def sync(self) -> None:
        """The variables are trained in place: nothing to write back."""

    def reload(self) -> None:
        """The variables are trained in place: nothing to reload."""
