"""The TensorFlow step of :class:`sfcrepro.pipeline.engine.Engine`.

A ``tf.function`` per group of models (it closes over their variables, so each group traces its
own graph; TensorFlow retraces only for a new shape), XLA with ``jit_compile``; the steps of one
call run in one ``tf.while_loop``. In a group of several models each model's update sits in a
``tf.cond`` on its ``active`` flag, so a model that stopped is frozen without a new graph; a group
of one has no condition (the graph of a single model, as trained alone).
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from sfcrepro.pipeline.engine import batch_loss, one_hot_batch

__all__ = ["TensorFlowSteps"]


class TensorFlowSteps:
    """Training and prediction programs of an engine's models under TensorFlow."""

    #: the last prediction chunk keeps its length (TensorFlow predicts it as Keras would)
    pad_chunks = False

    def __init__(self, engine):
        self.engine = engine
        self._programs = {}

    def _program(self, kind, members, build):
        key = (kind, members)
        if key not in self._programs:
            self._programs[key] = build(members)
        return self._programs[key]

    def train(self, members, active, tokens, labels, rows):
        run = self._program("train", members, self._build_train)
        if len(members) == 1:
            return run(tokens, labels, rows)
        return run(tokens, labels, rows, tf.constant(active))

    def _build_train(self, members):
        engine = self.engine
        models = [engine.models[m] for m in members]
        weights = [engine.class_weights[m] for m in members]

        def update(k, tokens, labels, rows):
            model = models[k]
            loss, grads = self._gradients(model, weights[k], tokens, labels, rows)
            model.optimizer.apply(grads, model.trainable_variables)
            return loss

        def one_step(tokens, labels, rows, active):
            losses = []
            for k in range(len(models)):
                if active is None:
                    losses.append(update(k, tokens, labels, rows[k]))
                else:
                    losses.append(
                        tf.cond(
                            active[k],
                            lambda k=k: update(k, tokens, labels, rows[k]),
                            lambda: tf.constant(0.0, tf.float32),
                        )
                    )
            return tf.stack(losses)

        def run(tokens, labels, rows, active=None):
            steps = tf.shape(rows)[1]
            losses = tf.TensorArray(tf.float32, size=steps)
            for s in tf.range(steps):
                losses = losses.write(s, one_step(tokens, labels, rows[:, s], active))
            return tf.transpose(losses.stack())

        return tf.function(run, jit_compile=engine.jit_compile, reduce_retracing=True)

    def _gradients(self, model, weights, tokens, labels, rows):
        with tf.GradientTape() as tape:
            x, y, w = one_hot_batch(tokens, labels, rows, weights, self.engine.reverse_complement)
            loss = batch_loss(y, model(x, training=True), w, model.losses)
        return loss, tape.gradient(loss, model.trainable_variables)

    def loss_and_gradients(self, member, tokens, labels, rows):
        model = self.engine.models[member]
        return self._gradients(model, self.engine.class_weights[member], tokens, labels, rows)

    def predict(self, members, x):
        return ops.stack(self._program("predict", members, self._build_predict)(x))

    def _build_predict(self, members):
        models = [self.engine.models[m] for m in members]
        # a list out, stacked outside: tf.stack inside the graph changed the forward pass by 1 ulp
        return tf.function(
            lambda x: [ops.cast(m(x, training=False), "float32") for m in models],
            jit_compile=self.engine.jit_compile,
        )

    def sync(self, members=None) -> None:
        """The variables are trained in place: nothing to write back."""

    def reload(self) -> None:
        """The variables are trained in place: nothing to reload."""
