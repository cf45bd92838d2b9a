"""Tests of sfcrepro.network.models: parameter matching, the three architectures and their heads."""

import re

import numpy as np
import pytest
import yaml

from sfcrepro.network.layers import SeparableFC
from sfcrepro.network.models import (
    PAPER_UNITS,
    basset,
    build_model,
    sfc_units,
    simulated_tf,
    tf_binding,
)


def count(model, layer_name):
    return model.get_layer(layer_name).count_params()


def test_sfc_units_paper_numbers():
    assert sfc_units(35, 50, 50) == 648  # simulated TF binding
    assert sfc_units(47, 16, 1, symmetric=True) == 18  # in vivo TF binding, symmetric
    assert sfc_units(47, 16, 1) == 11
    assert sfc_units(35, 50, 50, symmetric=True) == 741


@pytest.mark.parametrize(
    "length,channels,outputs", [(35, 50, 50), (47, 16, 1), (21, 200, 1000), (5, 2, 3)]
)
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
        model = builder(head, units="matched")
        sfc = model.get_layer("sfc")
        n = sfc.units
        assert n == sfc_units(length, channels, next_width, symmetric=head == "symm")
        assert (
            sfc.count_params()
            == n * ((length + 1) // 2 if head == "symm" else length) + n * channels
        )
        assert sfc.count_params() + count(model, dense_after) - next_width <= std_weights
        assert model.count_params() <= std.count_params()


def test_basset_shapes_and_paper_units():
    model = basset("sep", tasks=2)
    sfc = model.get_layer("sfc")
    assert sfc.input.shape[1:] == (21, 200)  # 1000 -> 334 -> 84 -> 21
    assert sfc.units == 1000
    assert model.output.shape[1:] == (2,)
    assert basset("symm").get_layer("sfc").positional_kernel.shape == (1000, 11)
    assert basset("sep", units="matched").get_layer("sfc").units == sfc_units(21, 200, 1000)


def matched_count(length, channels, outputs, symmetric):
    # The largest n with n * (L' + C + O) <= O * L * C, by search (independent of sfc_units).
    learned = (length + 1) // 2 if symmetric else length
    n = 0
    while (n + 1) * (learned + channels + outputs) <= outputs * length * channels:
        n += 1
    return n


@pytest.mark.parametrize(
    "architecture,length,tasks,conv,dense_after,paper",
    [
        ("simulated_tf", 200, 3, (35, 50), 50, 648),
        ("tf_binding", 1000, 1, (47, 16), 1, 18),
        ("basset", 1000, 2, (21, 200), 1000, 1000),
    ],
)
@pytest.mark.parametrize("head", ["sep", "symm"])
def test_units_none_is_the_paper_count_and_matched_is_parameter_matched(
    architecture, length, tasks, conv, dense_after, paper, head
):
    assert PAPER_UNITS[architecture] == paper
    default = build_model(architecture, head=head, length=length, tasks=tasks)
    assert default.get_layer("sfc").units == paper
    assert (
        build_model(architecture, head=head, length=length, tasks=tasks, units=None)
        .get_layer("sfc")
        .units
        == paper
    )
    matched = build_model(architecture, head=head, length=length, tasks=tasks, units="matched")
    expected = matched_count(*conv, dense_after, symmetric=head == "symm")
    assert matched.get_layer("sfc").units == expected
    assert (
        build_model(architecture, head=head, length=length, tasks=tasks, units=7)
        .get_layer("sfc")
        .units
        == 7
    )


def test_basset_matched_units_number():
    # 1000 x 21 x 200 = 4,200,000 dense weights; an SFC unit costs 21 + 200 + 1000 = 1,221.
    assert matched_count(21, 200, 1000, False) == 4_200_000 // 1_221 == 3439
    assert basset("sep", units="matched").get_layer("sfc").units == 3439
    assert basset("sep", units=None).get_layer("sfc").units == 1000
    with pytest.raises(ValueError, match="matched"):
        basset("sep", units="paper")
    with pytest.raises(ValueError, match="positive int"):
        basset("sep", units=0)


def test_invivo_tf_parameter_matched_sep_is_11_units(root):
    assert sfc_units(47, 16, 1) == 11  # 11 x (47 + 16 + 1) = 704 <= 752 < 12 x 64
    assert 18 * (47 + 16 + 1) == 1152 > 47 * 16  # the paper's 18 is matched only for symm
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    variants = config["datasets"]["invivo_tf"]["variants"]
    assert variants["sep_matched"] == {"head": "sep", "units": sfc_units(47, 16, 1)}
    assert variants["sep"]["units"] == variants["symm"]["units"] == 18  # the paper's variants stay
    assert tf_binding("sep", units=variants["sep_matched"]["units"]).get_layer("sfc").units == 11


def test_explicit_units_and_curvature():
    model = simulated_tf("symm", units=32, curvature=10.0)
    sfc = model.get_layer("sfc")
    assert sfc.units == 32 and sfc.positional_regularizer.strength == 10.0
    assert sfc.positional_regularizer.norm == "l1"  # the paper's
    assert len(model.losses) == 1
    l2 = simulated_tf("symm", units=32, curvature=10.0, curvature_norm="l2").get_layer("sfc")
    assert l2.positional_regularizer.norm == "l2"
    with pytest.raises(ValueError, match="l1, l2"):
        simulated_tf("symm", units=32, curvature=1.0, curvature_norm="l3")


def test_builder_errors_name_the_choices():
    with pytest.raises(ValueError, match="std, sep, symm, gap"):
        simulated_tf("dense")
    with pytest.raises(TypeError, match="basset\\(\\) got unknown options unitz; the head options"):
        basset("sep", unitz=3)
    with pytest.raises(ValueError, match=r"positional weights \(sep, symm\)"):
        basset("std", curvature=1.0)
    with pytest.raises(ValueError, match=r"\(sep, symm\), not 'gap'"):
        tf_binding("gap", curvature=1.0)
    with pytest.raises(ValueError, match="simulated_tf, tf_binding, basset"):
        build_model("deepsea")


@pytest.mark.parametrize(
    "architecture,length", [("simulated_tf", 200), ("tf_binding", 1000), ("basset", 1000)]
)
def test_models_predict_probabilities(architecture, length):
    model = build_model(architecture, head="symm", tasks=3, length=length)
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, size=(2, length))]
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, 3) and np.all((y > 0) & (y < 1))
    assert any(isinstance(layer, SeparableFC) for layer in model.layers)


def test_loading_refuses_code_in_a_model_file(tmp_path):
    # A .keras file whose Lambda layer carries Python bytecode: what a malicious model would hold.
    import keras

    from sfcrepro.network.models import load_model

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        load_model(tmp_path / "lambda.keras")
    assert (
        keras.saving.load_model(tmp_path / "lambda.keras", safe_mode=False) is not None
    )  # the file is loadable


def test_nothing_unpickles(root):
    # No module or script of the pipeline unpickles, or lifts Keras' safe mode.
    for path in [
        *(root / "src" / "sfcrepro").glob("*.py"),
        *(root / "workflow" / "scripts").glob("*.py"),
    ]:
        text = path.read_text()
        for unsafe in (
            "import pickle",
            "pickle.load",
            "allow_pickle=True",
            "safe_mode=False",
            "torch.load",
            "joblib",
            "import dill",
            "pd.read_pickle",
        ):
            assert unsafe not in text, f"{path.name} uses {unsafe}"
        for call in re.findall(r"np\.load\([^)]*\)", text):  # said explicitly at every call
            assert "allow_pickle=False" in call, f"{path.name}: {call}"


@pytest.mark.parametrize(
    "architecture,length,tasks,width",
    [("simulated_tf", 200, 3, 50), ("tf_binding", 1000, 2, 16), ("basset", 300, 2, 200)],
)
def test_gap_head_is_an_sfc_layer_with_uniform_positions_and_identity_channels(
    architecture, length, tasks, width
):
    # The gap head (channel means) equals SFC with positional weights 1/L and channel weights
    # the identity (units = channels), followed by the same dense layer, on the same input.
    import keras

    gap = build_model(architecture, head="gap", tasks=tasks, length=length)
    assert isinstance(gap.get_layer("gap"), keras.layers.GlobalAveragePooling1D)
    features = gap.get_layer("gap").input  # the convolutional stack's output (batch, L, C)
    _, conv_length, channels = features.shape
    assert channels == width
    sfc = SeparableFC(channels, name="sfc_uniform")
    sfc.build((None, conv_length, channels))
    sfc.set_weights(
        [
            np.full((channels, conv_length), 1 / conv_length, "float32"),
            np.eye(channels, dtype="float32"),
        ]
    )
    after = gap.layers[gap.layers.index(gap.get_layer("gap")) + 1 :]
    x = sfc(features)
    for layer in after:
        x = layer(x)
    twin = keras.Model(gap.inputs[0], x)
    seqs = np.eye(4, dtype="float32")[np.random.default_rng(1).integers(0, 4, (5, length))]
    np.testing.assert_allclose(
        np.asarray(twin(seqs, training=False)),
        np.asarray(gap(seqs, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
    # the dense layer after it sees C inputs instead of the std head's L x C
    std = build_model(architecture, head="std", tasks=tasks, length=length)
    assert after[0].kernel.shape[0] == channels
    assert std.get_layer(after[0].name).kernel.shape[0] == conv_length * channels


def test_training_flops_count_the_layer_shapes():
    from sfcrepro.network.models import training_flops_per_example

    convs = 190 * 11 * 4 * 50 + 180 * 11 * 50 * 50  # 200 -> 190 -> 180 positions
    logits = 50 * 3
    std = convs + 35 * 50 * 50 + logits  # flatten: Dense(50) on 35 x 50 values
    assert training_flops_per_example(simulated_tf("std")) == 6 * std == 32_733_900
    sep = convs + 35 * 50 * 648 + 648 * 50 + logits
    assert training_flops_per_example(simulated_tf("sep")) == 6 * sep
    gap = convs + 50 * 50 + logits
    assert training_flops_per_example(simulated_tf("gap")) == 6 * gap
