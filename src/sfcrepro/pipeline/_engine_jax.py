"""The JAX step of :class:`sfcrepro.pipeline.engine.Engine`.

The step is stateless (Keras' ``stateless_call`` and the optimizer's ``stateless_apply``) and is
traced from one *template* model per architecture, the state (trainable, non-trainable and
optimizer variables) passed in: so one compiled program serves every model of that architecture,
and ``jax.jit`` compiles it once per shape. A group of one model is stepped as it is; a group of
several is stacked along a leading axis and stepped with ``jax.vmap``, and the stack stays on the
device between calls (it is unstacked only to write a model's variables, :meth:`JaxSteps.sync`).
A frozen member of a group keeps its state (``jnp.where`` on its ``active`` flag), so a model that
stops early changes no program. On a GPU the state is donated to the step (updated in place).
The functions compiled are named ``train_step`` and ``predict_chunk`` (JAX's compile log names
them).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from keras import ops

from sfcrepro.pipeline.engine import batch_loss, one_hot_batch

__all__ = ["JaxSteps"]


class JaxSteps:
    """Training and prediction programs of an engine's models under JAX, and their state."""

    #: every prediction chunk has one shape (one compile): the last one is padded
    pad_chunks = True

    def __init__(self, engine):
        self.engine = engine
        # group (tuple of model indices) -> its state: a group of one holds the model's
        # (trainable, non_trainable, optimizer) lists, a larger group those lists stacked.
        # Each model's state is in at most one group; a model in none is read from its variables.
        self._states = {}
        self._weights = {}  # group -> its class weights (stacked for a larger group) or None
        self._programs = {}

    # -- state --------------------------------------------------------------------------------
    def _group(self, members):
        """The state of a group, made from its members' states the first time."""
        if members not in self._states:
            parts = [self._take(m) for m in members]
            self._states[members] = parts[0] if len(members) == 1 else _stack(parts)
        return self._states[members]

    def _take(self, member):
        """Model ``member``'s own state, taken out of the group that holds it (a larger group is
        unstacked into groups of one first), or read from its variables."""
        for group in list(self._states):
            if member in group and len(group) > 1:
                stacked = self._states.pop(group)
                for k, m in enumerate(group):
                    self._states[(m,)] = _unstack(stacked, k)
        if (member,) in self._states:
            return self._states.pop((member,))
        model = self.engine.models[member]
        # copies: the compiled step donates its input on a GPU
        return tuple(
            [jnp.array(v.value, copy=True) for v in variables]
            for variables in (
                model.trainable_variables,
                model.non_trainable_variables,
                model.optimizer.variables,
            )
        )

    def _group_weights(self, members):
        if members not in self._weights:
            weights = [self.engine.class_weights[m] for m in members]
            if weights[0] is not None and len(members) > 1:
                weights = ops.stack(weights)
            else:
                weights = weights[0]
            self._weights[members] = weights
        return self._weights[members]

    def sync(self, members=None) -> None:
        # On a GPU the next step donates the state's buffers: the variables get copies, so that
        # they stay readable between steps (a copy of the weights per epoch).
        donated = self.engine.kind == "gpu"
        for group, state in self._states.items():
            for k, member in enumerate(group):
                if members is not None and member not in members:
                    continue
                own = state if len(group) == 1 else _unstack(state, k)
                if donated and len(group) == 1:
                    own = jax.tree_util.tree_map(lambda x: jnp.array(x, copy=True), own)
                model = self.engine.models[member]
                for variables, values in zip(
                    (
                        model.trainable_variables,
                        model.non_trainable_variables,
                        model.optimizer.variables,
                    ),
                    own,
                    strict=True,
                ):
                    for variable, value in zip(variables, values, strict=True):
                        variable.assign(value)

    def reload(self) -> None:
        self._states.clear()

    # -- programs -----------------------------------------------------------------------------
    def _program(self, kind, members, build):
        """The compiled function of ``kind`` for a group: one per template and group width
        (``jax.jit`` then compiles once per shape)."""
        key = (kind, self.engine.template[members[0]], len(members))
        if key not in self._programs:
            self._programs[key] = build(self.engine.models[key[1]], len(members) > 1)
        return self._programs[key]

    def train(self, members, active, tokens, labels, rows):
        program = self._program("train", members, self._build_train)
        state, weights = self._group(members), self._group_weights(members)
        if len(members) == 1:
            state, losses = program(state, weights, tokens, labels, rows)
        else:
            state, losses = program(state, weights, tokens, labels, rows, jnp.asarray(active))
        self._states[members] = state
        return losses

    def _build_train(self, template, stacked):
        reverse = self.engine.reverse_complement

        def one_model(state, weights, tokens, labels, rows):
            trainable, non_trainable, optimizer = state
            loss, grads, non_trainable = gradients(
                template, trainable, non_trainable, weights, tokens, labels, rows, reverse
            )
            trainable, optimizer = template.optimizer.stateless_apply(optimizer, grads, trainable)
            return (trainable, non_trainable, optimizer), loss

        if stacked:

            def masked(state, weights, rows, active, tokens, labels):
                new, loss = one_model(state, weights, tokens, labels, rows)
                return jax.tree_util.tree_map(
                    lambda n, o: jnp.where(active, n, o), new, state
                ), loss

            def one_step(state, weights, tokens, labels, rows, active):
                in_axes = (0, None if weights is None else 0, 0, 0, None, None)
                return jax.vmap(masked, in_axes=in_axes)(
                    state, weights, rows, active, tokens, labels
                )

        else:

            def one_step(state, weights, tokens, labels, rows, active):
                state, loss = one_model(state, weights, tokens, labels, rows[0])
                return state, loss[None]

        def train_step(state, weights, tokens, labels, rows, active=None):
            steps = rows.shape[1]
            if steps == 1:
                state, losses = one_step(state, weights, tokens, labels, rows[:, 0], active)
                return state, losses[:, None]

            def body(s, carry):
                state, losses = carry
                step_rows = jax.lax.dynamic_index_in_dim(rows, s, axis=1, keepdims=False)
                state, step_losses = one_step(state, weights, tokens, labels, step_rows, active)
                return state, losses.at[:, s].set(step_losses)

            losses = jnp.zeros(rows.shape[:2], "float32")
            return jax.lax.fori_loop(0, steps, body, (state, losses))

        # the state is donated on a GPU (updated in place); CPUs cannot take donations
        return jax.jit(train_step, donate_argnums=(0,) if self.engine.kind == "gpu" else ())

    def predict(self, members, x):
        program = self._program("predict", members, self._build_predict)
        trainable, non_trainable, _ = self._group(members)
        return program(trainable, non_trainable, x)

    def _build_predict(self, template, stacked):
        def forward(trainable, non_trainable, x):
            out = template.stateless_call(trainable, non_trainable, x, training=False)[0]
            return ops.cast(out, "float32")

        if stacked:

            def predict_chunk(trainable, non_trainable, x):
                return jax.vmap(forward, in_axes=(0, 0, None))(trainable, non_trainable, x)

        else:

            def predict_chunk(trainable, non_trainable, x):
                return forward(trainable, non_trainable, x)[None]

        return jax.jit(predict_chunk)

    def loss_and_gradients(self, member, tokens, labels, rows):
        state = self._group((member,))
        trainable, non_trainable, optimizer = state
        loss, grads, non_trainable = gradients(
            self.engine.models[member],
            trainable,
            non_trainable,
            self.engine.class_weights[member],
            tokens,
            labels,
            rows,
            self.engine.reverse_complement,
        )
        self._states[(member,)] = (trainable, non_trainable, optimizer)
        return loss, grads


def gradients(model, trainable, non_trainable, weights, tokens, labels, rows, reverse):
    """Loss, gradients and updated non-trainable state of one batch (stateless)."""

    def loss_fn(trainable, non_trainable):
        x, y, w = one_hot_batch(tokens, labels, rows, weights, reverse)
        predictions, non_trainable, losses = model.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True
        )
        return batch_loss(y, predictions, w, losses), non_trainable

    (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        trainable, non_trainable
    )
    return loss, grads, non_trainable


def _stack(states):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *states)


def _unstack(stacked, k):
    return jax.tree_util.tree_map(lambda x: x[k], stacked)
