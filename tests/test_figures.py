"""Each figure function draws from small tables and writes PNG and PDF files."""

import numpy as np
import pandas as pd

from sfcrepro.pipeline import figures


def check_files(paths):
    for path in paths:
        assert path.stat().st_size > 1000
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"


def test_performance_figure(tmp_path):
    rows = []
    for dataset in ("sim_tf", "other"):
        for variant in ("std", "sep", "symm"):
            for metric in ("auroc", "auprc"):
                rows.append(
                    {
                        "dataset": dataset,
                        "split": "valid",
                        "variant": variant,
                        "metric": metric,
                        "median": 0.8,
                        "min": 0.7,
                        "max": 0.9,
                        "n_seeds": 3,
                    }
                )
    fig = figures.performance(
        pd.DataFrame(rows), {"sim_tf": "Simulated TF binding", "other": "Other"}
    )
    assert [ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_visible()] == [
        "Simulated TF binding",
        "Other",
    ]
    paths = [tmp_path / "f.png", tmp_path / "f.pdf"]
    figures.save(fig, paths)
    check_files(paths)


def test_performance_figure_has_one_panel_per_dataset_present():
    rows = [
        {
            "dataset": d,
            "split": "valid",
            "variant": v,
            "metric": m,
            "median": 0.8,
            "min": 0.7,
            "max": 0.9,
            "n_seeds": 3,
        }
        for d in ("a", "b", "c", "d")
        for v in ("std", "sep")
        for m in ("auroc", "auprc")
    ]
    titles = {"a": "A", "b": "B", "c": "C", "d": "D"}
    four = figures.performance(pd.DataFrame(rows), titles)
    assert [ax.get_title().split("\n")[0] for ax in four.axes if ax.get_visible()] == [
        "A",
        "B",
        "C",
        "D",
    ]
    # A disabled dataset (no scores) leaves no panel, empty or hidden.
    three = figures.performance(pd.DataFrame([r for r in rows if r["dataset"] != "b"]), titles)
    assert [ax.get_title().split("\n")[0] for ax in three.axes] == ["A", "C", "D"]


def test_learning_curves_and_importance(tmp_path):
    histories = pd.DataFrame(
        [
            {"variant": v, "seed": s, "epoch": e, "val_auroc": 0.5 + 0.05 * e}
            for v in ("std", "sep")
            for s in range(3)
            for e in range(1, 4 + s)
        ]
    )
    paths = [tmp_path / "c.png", tmp_path / "c.pdf"]
    figures.save(figures.learning_curves(histories), paths)
    check_files(paths)
    tables = {
        v: pd.DataFrame(
            {"position": np.arange(10), "importance_mean": np.sin(np.arange(10)), "seed": 1}
        )
        for v in ("std", "sep", "symm")
    }
    fig = figures.importance_curves(tables, "title")
    assert "seed 1" in fig.axes[0].get_title()
    paths = [tmp_path / "i.png", tmp_path / "i.pdf"]
    figures.save(fig, paths)
    check_files(paths)


def test_positional_weights_ignore_each_unit_sign():
    # Negating some units (W_pos[o] and W_chan[o] together: the same model) changes nothing drawn.
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(12, 21))
    flipped = kernel * np.where(rng.random(12) < 0.5, -1.0, 1.0)[:, None]
    fig = figures.positional_weights({"a": kernel, "b": flipped}, "title", clusters=3, seed=0)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    np.testing.assert_allclose(images[0], images[1])
    figures.plt.close(fig)


def test_positional_weights_and_lr_robustness(tmp_path):
    rng = np.random.default_rng(0)
    kernels = {
        "symm: CR 0": rng.normal(size=(30, 21)),
        "high_reg: CR 10": rng.normal(size=(30, 21)),
    }
    fig = figures.positional_weights(kernels, "title", clusters=4, seed=0)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "symm: CR 0\n(30 units, 4 clusters)",
        "high_reg: CR 10\n(30 units, 4 clusters)",
    ]
    paths = [tmp_path / "w.png", tmp_path / "w.pdf"]
    figures.save(fig, paths)
    check_files(paths)
    scores = pd.DataFrame(
        [
            {"variant": v, "learning_rate": lr, "seed": s, "val_auroc": 0.9 - lr}
            for v in ("std", "symm")
            for lr in (1e-3, 1e-2)
            for s in range(3)
        ]
    )
    fig = figures.lr_robustness(scores, "Sim")
    assert fig.axes[0].get_xscale() == "log"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "std (3 seeds)",
        "symm (3 seeds)",
    ]
    paths = [tmp_path / "l.png", tmp_path / "l.pdf"]
    figures.save(fig, paths)
    check_files(paths)


def test_training_size_panels_medians_and_bands(tmp_path):
    scores = pd.DataFrame(
        [
            {
                "variant": v,
                "per_class": n,
                "seed": s,
                "val_auroc": 0.5 + n / 4000 + s / 100,
                "val_auprc": 0.4 + n / 4000,
            }
            for v in ("std", "sep", "symm", "gap")
            for n in (100, 400, 1600)
            for s in range(3)
        ]
    )
    fig = figures.training_size(scores, "Sim")
    auroc, auprc = fig.axes
    assert auroc.get_xscale() == "log" and auprc.get_xscale() == "log"
    assert auroc.get_ylabel() == "validation auROC (mean over tasks)"
    assert auprc.get_ylabel() == "validation auPRC (mean over tasks)"
    assert [t.get_text() for t in auroc.get_legend().get_texts()] == [
        f"{v} (3 seeds)" for v in ("std", "sep", "symm", "gap")
    ]
    x, y = auroc.get_lines()[0].get_data()
    assert list(x) == [100, 400, 1600]
    np.testing.assert_allclose(y, [0.5 + n / 4000 + 0.01 for n in (100, 400, 1600)])  # medians
    band = auroc.collections[0].get_paths()[0].vertices[:, 1]  # min-max band of std
    np.testing.assert_allclose([band.min(), band.max()], [0.525, 0.92])
    paths = [tmp_path / "s.png", tmp_path / "s.pdf"]
    figures.save(fig, paths)
    check_files(paths)
