"""Tests of sfcrepro.models: parameter matching and the three architectures."""

import re

import numpy as np
import pytest

from sfcrepro.layers import SeparableFC
from sfcrepro.models import basset, build_model, sfc_units, simulated_tf, tf_binding


def count(model, layer_name):
    return model.get_layer(layer_name).count_params()


def test_sfc_units_paper_numbers():
    assert sfc_units(35, 50, 50) == 648  # simulated TF binding
    assert sfc_units(47, 16, 1, symmetric=True) == 18  # in vivo TF binding, symmetric
    assert sfc_units(47, 16, 1) == 11
    assert sfc_units(35, 50, 50, symmetric=True) == 741


@pytest.mark.parametrize("length,channels,outputs", [(35, 50, 50), (47, 16, 1), (21, 200, 1000), (5, 2, 3)])
@pytest.mark.parametrize("symmetric", [False, True])
def test_sfc_units_is_largest_within_budget(length, channels, outputs, symmetric):
    n = sfc_units(length, channels, outputs, symmetric)
    per_unit = (length + 1) // 2 if symmetric else length
    cost = lambda k: k * (per_unit + channels + outputs)  # noqa: E731
    assert cost(n) <= outputs * length * channels < cost(n + 1)


def test_sfc_units_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        sfc_units(0, 4, 1)


@pytest.mark.parametrize(
    "builder,conv_shape,next_width",
    [(simulated_tf, (35, 50), 50), (tf_binding, (47, 16), 1)],
)
def test_parameter_matched_heads_do_not_exceed_std(builder, conv_shape, next_width):
    length, channels = conv_shape
    std = builder("std")
    assert std.get_layer("flatten").output.shape[1] == length * channels
    dense_after = "fc" if builder is simulated_tf else "logits"
    std_weights = length * channels * next_width
    assert count(std, dense_after) == std_weights + next_width  # weights + bias
    for head in ("sep", "symm"):
        model = builder(head)
        sfc = model.get_layer("sfc")
        n = sfc.units
        assert n == sfc_units(length, channels, next_width, symmetric=head == "symm")
        assert sfc.count_params() == n * ((length + 1) // 2 if head == "symm" else length) + n * channels
        assert sfc.count_params() + count(model, dense_after) - next_width <= std_weights
        assert model.count_params() <= std.count_params()


def test_basset_shapes_and_paper_units():
    model = basset("sep", tasks=2)
    sfc = model.get_layer("sfc")
    assert sfc.input.shape[1:] == (21, 200)  # 1000 -> 334 -> 84 -> 21
    assert sfc.units == 1000
    assert model.output.shape[1:] == (2,)
    assert basset("symm").get_layer("sfc").positional_kernel.shape == (1000, 11)
    assert basset("sep", units=None).get_layer("sfc").units == sfc_units(21, 200, 1000)


def test_explicit_units_and_curvature():
    model = simulated_tf("symm", units=32, curvature=10.0)
    sfc = model.get_layer("sfc")
    assert sfc.units == 32 and sfc.positional_regularizer.strength == 10.0
    assert len(model.losses) == 1


def test_builder_errors_name_the_choices():
    with pytest.raises(ValueError, match="std, sep, symm"):
        simulated_tf("dense")
    with pytest.raises(ValueError, match="'sep' or 'symm'"):
        basset("std", curvature=1.0)
    with pytest.raises(ValueError, match="simulated_tf, tf_binding, basset"):
        build_model("deepsea")


@pytest.mark.parametrize("architecture,length", [("simulated_tf", 200), ("tf_binding", 1000), ("basset", 1000)])
def test_models_predict_probabilities(architecture, length):
    model = build_model(architecture, head="symm", tasks=3, length=length)
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, size=(2, length))]
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, 3) and np.all((y > 0) & (y < 1))
    assert any(isinstance(layer, SeparableFC) for layer in model.layers)


def test_loading_refuses_code_in_a_model_file(tmp_path):
    # A .keras file whose Lambda layer carries Python bytecode: what a malicious model would hold.
    import keras

    from sfcrepro.models import load_model

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        load_model(tmp_path / "lambda.keras")
    assert keras.saving.load_model(tmp_path / "lambda.keras", safe_mode=False) is not None  # the file is loadable


def test_nothing_unpickles():
    # No module or script of the pipeline unpickles, or lifts Keras' safe mode.
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in [*(root / "src" / "sfcrepro").glob("*.py"), *(root / "workflow" / "scripts").glob("*.py")]:
        text = path.read_text()
        for unsafe in ("import pickle", "pickle.load", "allow_pickle=True", "safe_mode=False", "torch.load",
                       "joblib", "import dill", "pd.read_pickle"):
            assert unsafe not in text, f"{path.name} uses {unsafe}"
        for call in re.findall(r"np\.load\([^)]*\)", text):  # said explicitly at every call
            assert "allow_pickle=False" in call, f"{path.name}: {call}"
