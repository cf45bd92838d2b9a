"""The PyTorch step of :class:`sfcrepro.pipeline.engine.Engine`.

**The step is a function of tensors.** One *template* model per architecture (the engine's
``template``) is called through Keras' ``stateless_call``, with the trainable and non-trainable
values of whichever model steps passed in: so one function serves every seed of a job, and
``torch.compile`` traces and compiles it once per shape (the full batches, the last shorter
one), never per seed. One step is: gather the batch from the device-resident split
(:func:`~sfcrepro.pipeline.engine.one_hot_batch`), the forward pass, the loss in plain torch ops
(Keras' binary cross-entropy: probabilities clipped to Keras' epsilon, mean over tasks, times the
class weight, mean over the batch, plus the regularisation losses; Keras' own loss function has a
graph break), its gradients, and Keras' Adam (the operations of Keras' own PyTorch Adam, in its
order, with the model's ``beta_1``, ``beta_2``, ``epsilon``, learning rate and iteration count;
``torch.optim.Adam`` puts epsilon elsewhere). With ``jit_compile`` the whole of it is one
``torch.compile`` graph (``fullgraph=True``, ``dynamic=False``; the gradients by
``torch.func.grad_and_value``, so forward, backward and optimizer are compiled together and no
autograd runs at run time). Without, the same function runs eagerly, the gradients by autograd
(``torch.func``'s wrapped tensors made the eager step about 20% slower); it performs Keras' own
step's operations in their order (equal to ``train_on_batch`` to the last bit on a CPU in
tests/torch_step_check.py).

**Where the state lives.** In the models' own Keras variables: the step updates their tensors
(weights, Adam's moments, its iteration count, non-trainable state) in place, so
:meth:`TorchSteps.sync` and :meth:`TorchSteps.reload` have nothing to do, checkpoints and
``model.get_weights()`` always see the current state, and a frozen member (``active`` False) is
simply not stepped. Only plain Adam is supported (no clipping, weight decay, EMA, AMSGrad,
gradient accumulation, loss scaling or learning-rate schedule): the one ``train_runs`` compiles.
The models of a group are stepped one after another (each with its own tensors, through the same
compiled function).

**Random numbers.** Keras draws an unseeded dropout mask from PyTorch's global generator; each
model has its own copy of that state (``Engine.rng_states``), swapped in around its steps, so a
model trained with others draws what it would draw alone; the compiled step draws from the same
generator. Inductor's own random kernels draw other numbers than eager PyTorch, and its fused
kernels keep bfloat16 intermediate results in float32. So when deterministic results are
requested (``torch.are_deterministic_algorithms_enabled()``, the default on a CPU:
:func:`sfcrepro.pipeline.runtime.configure`) the step is compiled with Inductor's
``fallback_random`` and ``emulate_precision_casts``: it draws exactly the eager step's dropout
masks and rounds as it does (a step equals Keras' to float tolerance, also in
``mixed_bfloat16``; tests/torch_step_check.py). Without (the default on a GPU) Inductor may use
its own, faster random kernels: reproducible from the same state, but not necessarily the eager
step's draws (on a CPU it kept PyTorch's ``bernoulli_`` for dropout either way).

**A compile failure is an error** (:class:`TorchCompileError`, naming the fix
``execution.jit_compile: false``), not a warning and a silent fall back to the eager step. On a
GPU cluster, ``jit_compile`` is on by default and is what a user sized the job for: a job that
quietly fell back would run at the eager step's speed (for small models mostly Python and kernel
launches) and, with Inductor's random kernels, draw other dropout masks than the same job
compiled, with only a log line to tell. The error comes at the first step of a shape, after the
compile's seconds to minutes, not hours into the job. The recompile limit of Dynamo
(``fullgraph``) is an error too.

Predictions: with ``jit_compile`` the template's forward pass, compiled once (every chunk padded
to one shape: ``pad_chunks``); without, the model's own forward pass under ``torch.no_grad``.
The compiled functions are named ``train_step``, ``loss_and_grads`` and ``predict_chunk``
(:func:`compile_counts` counts their programs).
"""

from __future__ import annotations

import collections
import logging
import types
import warnings

import keras
import numpy as np
import torch
import torch._dynamo
from keras.src.backend.common import global_state

from sfcrepro.pipeline.engine import global_rng_state, one_hot_batch

__all__ = ["TorchCompileError", "TorchSteps", "compile_counts", "set_global_rng_state"]

log = logging.getLogger("sfcrepro.pipeline.engine")

# Keras' per-thread global attributes that its forward pass reads, and what it reads for a
# missing one. An attribute missing when torch.compile traces the step becomes a guard ("not
# hasattr"), and the first Keras call that sets it (the traced step's own exit from Keras'
# stateless scope sets "uninitialized_variables" to []) would recompile the step: missing ones are
# set before each call.
_KERAS_GLOBALS = {
    "autocast_scope": lambda: None,
    "current_call_ctx": lambda: None,
    "flash_attention": lambda: None,
    "remat_scope_stack": lambda: None,
    "stateless_scope": lambda: None,
    "symbolic_scope": lambda: None,
    "torch_device": lambda: None,
    "uninitialized_variables": list,
}


# Programs compiled in this process, per compiled function's name (compile_counts).
_COMPILES = collections.Counter()


class TorchCompileError(RuntimeError):
    """torch.compile could not compile a step (with ``jit_compile``)."""


def set_global_rng_state(state: dict) -> None:
    """Restore PyTorch's global random state from :func:`global_rng_state`'s copy."""
    torch.set_rng_state(torch.from_numpy(np.asarray(state["rng_cpu"], np.uint8)))
    if "rng_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.from_numpy(np.asarray(state["rng_cuda"], np.uint8)))


def check_optimizer(optimizer) -> None:
    """Raise ValueError unless ``optimizer`` is a plain Keras Adam (what the step implements)."""
    if not isinstance(optimizer, keras.optimizers.Adam):
        raise ValueError(
            f"The PyTorch training step implements Keras' Adam only; got {type(optimizer)}."
        )
    unsupported = {
        "amsgrad": optimizer.amsgrad,
        "clipnorm": optimizer.clipnorm,
        "clipvalue": optimizer.clipvalue,
        "global_clipnorm": optimizer.global_clipnorm,
        "weight_decay": optimizer.weight_decay,
        "use_ema": optimizer.use_ema,
        "gradient_accumulation_steps": optimizer.gradient_accumulation_steps,
        "loss_scale_factor": optimizer.loss_scale_factor,
        "learning rate schedule": isinstance(
            optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule
        ),
    }
    used = sorted(name for name, value in unsupported.items() if value)
    if used:
        raise ValueError(
            f"The PyTorch training step implements plain Adam; the optimizer has {', '.join(used)}."
        )


def batch_loss(y, predictions, weights, regularization):
    """:func:`sfcrepro.pipeline.engine.batch_loss` in plain torch ops (Keras' binary
    cross-entropy calls ``torch.backends.mps.is_available()``, a graph break)."""
    eps = keras.config.epsilon()
    p = torch.clip(predictions.float(), eps, 1.0 - eps)
    per_example = torch.nn.functional.binary_cross_entropy(p, y, reduction="none").mean(-1)
    if weights is not None:
        per_example = per_example * weights
    loss = per_example.mean()
    for term in regularization:
        loss = loss + term.to(loss.dtype)
    return loss


class _State:
    """A model's variables as tensors that share their storage (updated in place by the step)."""

    def __init__(self, model):
        optimizer, trainable = model.optimizer, model.trainable_variables
        index = optimizer._get_variable_index  # as Keras' own PyTorch Adam finds the moments
        self.trainable = [_tensor(v) for v in trainable]
        self.non_trainable = [_tensor(v) for v in model.non_trainable_variables]
        self.iterations = _tensor(optimizer.iterations)
        self.learning_rate = _tensor(optimizer._learning_rate)
        self.momentums = [_tensor(optimizer._momentums[index(v)]) for v in trainable]
        self.velocities = [_tensor(optimizer._velocities[index(v)]) for v in trainable]

    def train_args(self):
        return (
            self.trainable,
            self.non_trainable,
            self.iterations,
            self.learning_rate,
            self.momentums,
            self.velocities,
        )


def _tensor(variable):
    """The torch tensor of a Keras variable, without autograd (it shares the storage)."""
    return variable._value.detach()


class TorchSteps:
    """Training and prediction of an engine's models under PyTorch."""

    def __init__(self, engine):
        self.engine = engine
        self.compile = bool(engine.jit_compile)
        #: compiled predictions get every chunk at one shape (one compile)
        self.pad_chunks = self.compile
        for model in engine.models:
            check_optimizer(model.optimizer)
        self._programs = {}
        self._states = {}

    # -- state --------------------------------------------------------------------------------
    def _state(self, member):
        if member not in self._states:
            self._states[member] = _State(self.engine.models[member])
        return self._states[member]

    def sync(self, members=None) -> None:
        """The step updates the variables in place: nothing to write back."""

    def reload(self) -> None:
        """The step reads the variables themselves; their tensors are looked up again."""
        self._states.clear()

    # -- programs -----------------------------------------------------------------------------
    def _program(self, kind, member, build):
        """The function of ``kind`` for a model: one per template (``torch.compile`` then
        compiles once per shape)."""
        template = self.engine.template[member]
        optimizer = self.engine.models[member].optimizer
        hyper = tuple(float(getattr(optimizer, k)) for k in ("beta_1", "beta_2", "epsilon"))
        key = (kind, template, hyper)
        if key not in self._programs:
            if self.compile:
                _untrack_reduction_axes(self.engine.models[template])
            function = build(self.engine.models[template], *hyper)
            self._programs[key] = self._compiled(function) if self.compile else function
        return self._programs[key]

    def _compiled(self, function):
        """``function`` under ``torch.compile`` (whole: a graph break is an error), raising
        :class:`TorchCompileError` when it cannot be compiled."""
        options = None
        if torch.are_deterministic_algorithms_enabled():
            # the eager step's random draws, and its bfloat16 rounding of intermediate results
            options = {"fallback_random": True, "emulate_precision_casts": True}
        # torch.compile keeps its programs (and its recompile limit, 8) per code object: each
        # engine's function gets a code object of its own, so that engines built one after
        # another in a process neither add up to the limit nor keep each other's programs alive
        function = _own_code(function)
        code, name = function.__code__, function.__name__
        compiled = torch.compile(function, fullgraph=True, dynamic=False, options=options)
        log.info(
            "PyTorch %s: torch.compile (whole graph, once per shape, Inductor options %s)",
            name,
            options or "default",
        )
        programs = 0

        def call(*args):
            nonlocal programs
            _settle_keras_globals()
            try:
                with warnings.catch_warnings():
                    # Keras caches its dtype promotion (a pure function) with functools.lru_cache,
                    # which Dynamo traces through, warning once that it does
                    warnings.filterwarnings("ignore", "Dynamo detected a call to a `functools")
                    result = compiled(*args)
            except (torch._dynamo.exc.TorchDynamoException, _recompile_limit_error()) as error:
                raise TorchCompileError(
                    f"torch.compile could not compile the PyTorch {name}: {_cause(error)}. Set "
                    "execution.jit_compile: false in the config to train without compiling."
                ) from error
            now = len(torch._dynamo.eval_frame._debug_get_cache_entry_list(code))
            if now != programs:
                _COMPILES[name] += max(0, now - programs)
                programs = now
            return result

        call.__name__ = name
        return call

    def train(self, members, active, tokens, labels, rows):
        engine = self.engine
        steps = rows.shape[1]
        per_member = []
        for k, member in enumerate(members):
            if not active[k]:  # frozen: its state stays as it is
                per_member.append(torch.zeros(steps, device=rows.device))
                continue
            step = self._program("train", member, self._build_train)
            state = self._state(member).train_args()
            weights = engine.class_weights[member]
            own = engine.rng_states[member]
            if own is not None:  # this model's dropout draws, as if trained alone
                set_global_rng_state(own)
            losses = [step(*state, weights, tokens, labels, rows[k, s]) for s in range(steps)]
            if own is not None:
                engine.rng_states[member] = global_rng_state()
            per_member.append(torch.stack(losses))
        return torch.stack(per_member)

    def _build_train(self, template, beta_1, beta_2, epsilon):
        gradients = _gradient_function(template, self.engine.reverse_complement, self.compile)

        def train_step(
            trainable,
            non_trainable,
            iterations,
            learning_rate,
            momentums,
            velocities,
            weights,
            tokens,
            labels,
            rows,
        ):
            loss, grads, updated = gradients(
                trainable, non_trainable, weights, tokens, labels, rows
            )
            _adam(
                trainable,
                grads,
                iterations,
                learning_rate,
                momentums,
                velocities,
                beta_1,
                beta_2,
                epsilon,
            )
            if non_trainable:
                torch._foreach_copy_(non_trainable, updated)
            return loss

        return train_step

    def loss_and_gradients(self, member, tokens, labels, rows):
        program = self._program("grads", member, self._build_loss_and_grads)
        state = self._state(member)
        weights = self.engine.class_weights[member]
        return program(state.trainable, state.non_trainable, weights, tokens, labels, rows)

    def _build_loss_and_grads(self, template, *hyper):
        gradients = _gradient_function(template, self.engine.reverse_complement, self.compile)

        def loss_and_grads(trainable, non_trainable, weights, tokens, labels, rows):
            loss, grads, updated = gradients(
                trainable, non_trainable, weights, tokens, labels, rows
            )
            if non_trainable:
                torch._foreach_copy_(non_trainable, updated)
            return loss, grads

        return loss_and_grads

    # -- predictions --------------------------------------------------------------------------
    def predict(self, members, x):
        models = self.engine.models
        with torch.no_grad():
            if not self.compile:
                return torch.stack([models[m](x, training=False).float() for m in members])
            parts = []
            for member in members:
                program = self._program("predict", member, _build_predict)
                state = self._state(member)
                parts.append(program(state.trainable, state.non_trainable, x))
            return torch.stack(parts)


def _gradient_function(template, reverse, functional):
    """``(trainable, non_trainable, weights, tokens, labels, rows) -> (loss, gradients, updated
    non-trainable values)`` of one batch through ``template``, none of them tracked by autograd.

    ``functional``: by ``torch.func.grad_and_value``, which torch.compile traces into the step's
    graph; else by autograd (eagerly ``torch.func``'s wrapped tensors made the step about 20%
    slower). Both run the same backward formulas.
    """

    def loss_fn(trainable, non_trainable, x, y, w):
        predictions, non_trainable, losses = template.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True
        )
        return batch_loss(y, predictions, w, losses), non_trainable

    def gradients(trainable, non_trainable, weights, tokens, labels, rows):
        x, y, w = one_hot_batch(tokens, labels, rows, weights, reverse)
        grads, (loss, updated) = torch.func.grad_and_value(loss_fn, has_aux=True)(
            trainable, non_trainable, x, y, w
        )
        return loss, grads, updated

    def eager_gradients(trainable, non_trainable, weights, tokens, labels, rows):
        x, y, w = one_hot_batch(tokens, labels, rows, weights, reverse)
        leaves = [t.detach().requires_grad_() for t in trainable]
        loss, updated = loss_fn(leaves, non_trainable, x, y, w)
        grads = torch.autograd.grad(loss, leaves)
        return loss.detach(), list(grads), [u.detach() for u in updated]

    return gradients if functional else eager_gradients


def _adam(variables, grads, iterations, learning_rate, m, v, beta_1, beta_2, epsilon):
    """Keras' Adam step in place, in the order of Keras' PyTorch Adam
    (``keras/src/backend/torch/optimizers/torch_adam.py``), then ``iterations += 1``."""
    dtype = variables[0].dtype
    lr = learning_rate.to(dtype)
    local_step = (iterations + 1).to(dtype)
    beta_1_power = torch.pow(torch.full((), beta_1, dtype=dtype, device=lr.device), local_step)
    beta_2_power = torch.pow(torch.full((), beta_2, dtype=dtype, device=lr.device), local_step)
    alpha = lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    torch._foreach_mul_(m, beta_1)
    torch._foreach_add_(m, grads, alpha=1 - beta_1)
    torch._foreach_mul_(v, beta_2)
    torch._foreach_add_(v, torch._foreach_mul(grads, grads), alpha=1 - beta_2)
    torch._foreach_add_(
        variables,
        torch._foreach_div(
            torch._foreach_mul(m, alpha), torch._foreach_add(torch._foreach_sqrt(v), epsilon)
        ),
        alpha=-1,
    )
    iterations.add_(1)


def _build_predict(template, *hyper):
    def predict_chunk(trainable, non_trainable, x):
        return template.stateless_call(trainable, non_trainable, x, training=False)[0].float()

    return predict_chunk


def compile_counts() -> dict[str, int]:
    """How many programs ``torch.compile`` has compiled in this process for each compiled
    function of this module (``train_step``, ``loss_and_grads``, ``predict_chunk``): one per
    engine, template and shape when nothing recompiles (tests count them)."""
    return {name: _COMPILES[name] for name in ("train_step", "loss_and_grads", "predict_chunk")}


def _own_code(function):
    """A copy of ``function`` with a code object of its own."""
    return types.FunctionType(
        function.__code__.replace(),
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )


def _untrack_reduction_axes(model) -> None:
    """Batch normalization's reduction axes as a tuple: Keras keeps them in a ``TrackedList``
    (its attribute tracking wraps every list a layer is given), which Dynamo cannot pass to a
    torch op ("UserDefinedListVariable(TrackedList)"), so a model with batch normalization (Basset,
    in vivo TF binding) would not compile. The same axes, so the same computation."""
    for layer in model._flatten_layers():
        axes = getattr(layer, "_reduction_axes", None)
        if isinstance(layer, keras.layers.BatchNormalization) and isinstance(axes, list):
            object.__setattr__(layer, "_reduction_axes", tuple(axes))  # past Keras' tracking


def _settle_keras_globals() -> None:
    tracker = global_state.GLOBAL_STATE_TRACKER
    for name, missing in _KERAS_GLOBALS.items():
        if not hasattr(tracker, name):
            setattr(tracker, name, missing())


def _recompile_limit_error():
    return getattr(torch._dynamo.exc, "FailOnRecompileLimitHit", torch._dynamo.exc.Unsupported)


def _cause(error) -> str:
    """The innermost exception of ``error``'s chain, in one line."""
    seen = {id(error)}
    while True:
        inner = getattr(error, "inner_exception", None) or error.__cause__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        error = inner
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
