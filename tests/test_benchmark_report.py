"""How benchmarks/train_speed.py turns measured step times into its report.

No timing here: the rows are made up, and the test checks the arithmetic
and the `met` decision the RESULTS.md table shows.
"""

import importlib.util
import types
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"


def _train_speed():
    spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(backend, model, ms, cell="lstm"):
    return {"backend": backend, "model": model, "cell": cell, "size": "small", "ms": ms}


def _ratio_lines(rows):
    train_speed = _train_speed()
    args = types.SimpleNamespace(command_line="python benchmarks/train_speed.py", repeats=3,
                                 steps=5, threads=1, sizes=["small"], rounds=1)
    report = train_speed.render(rows, train_speed.summarize(rows), args,
                                ((0.1, 0.1, 0.1), (0.1, 0.1, 0.1)), 1.0)
    return {line.split(" | ")[2]: line for line in report.splitlines()
            if line.startswith("| lstm | small | ") and "/" in line.split(" | ")[2]}


def test_ratios_use_medians_and_name_the_best_backend():
    lines = _ratio_lines([
        _row("torch", "zoo", [11.0, 12.0, 50.0]),
        _row("torch", "keras", [30.0, 30.0, 30.0]),
        _row("torch", "raw", [10.0, 10.0, 10.0]),
        _row("jax", "zoo", [8.0, 9.0, 9.0]),
        _row("jax", "keras", [8.0, 9.0, 9.0]),
    ])
    # Median 12 / 10: the outlier repeat (50) does not move it.
    # Paired: 11/10, 12/10, 50/10 -> median 1.2; unpaired across processes: "-".
    assert "| zoo torch/raw torch | 1.20 | 1.10 | 1.20 | " in lines["zoo torch/raw torch"]
    # The paired ratio sits on the target and the outlier repeat widens the
    # interval past it: one run can't decide, and the table says so.
    assert lines["zoo torch/raw torch"].endswith("| 1.10-5.00 | <= 1.2 | within noise |")
    assert "| best zoo (jax)/raw torch | 0.90 | 0.80 | - | " in lines["best zoo (jax)/raw torch"]
    assert lines["best zoo (jax)/raw torch"].endswith("| 0.80-0.90 | <= 1.0 | met |")
    assert "| zoo/keras (torch) | 0.40 | 0.37 | 0.40 | " in lines["zoo/keras (torch)"]


def test_tensorflow_and_jax_overhead_is_decided_by_the_direct_measurement():
    rows = [
        _row("tensorflow", "zoo", [40.0, 44.0, 48.0]),
        _row("tensorflow", "keras", [36.0, 40.0, 44.0]),  # whole steps: 1.10, noise
        # 0.2 ms against the zoo's median step of 44 ms: 0.45%.
        _row("tensorflow", "alignment", [0.2, 0.2, 0.2], cell="-"),
        _row("jax", "zoo", [10.0, 10.0, 10.0]),
        _row("jax", "keras", [10.0, 10.0, 10.0]),
        _row("jax", "alignment", [0.5, 0.5, 0.5], cell="-"),  # 5%: over the 2% target
    ]
    lines = _ratio_lines(rows)
    assert "| zoo/keras (tensorflow) | 1.10 | 1.11 | 1.10 | " in lines["zoo/keras (tensorflow)"]
    assert lines["zoo/keras (tensorflow)"].endswith("| <= 1.02 | met (+0.45%) |")
    assert lines["zoo/keras (jax)"].endswith("| 1.00-1.00 | <= 1.02 | not met (+5.00%) |")


def test_without_a_direct_measurement_the_whole_step_ratio_decides():
    lines = _ratio_lines([
        _row("tensorflow", "zoo", [44.0]),
        _row("tensorflow", "keras", [40.0]),
    ])
    assert lines["zoo/keras (tensorflow)"].endswith(
        "| 1.10 | 1.10 | 1.10 | 1.10-1.10 | <= 1.02 | not met |")


def test_the_paired_ratio_decides_where_the_models_alternated():
    lines = _ratio_lines([
        # A burst of load hit the zoo's second repeat, and both models' third:
        # medians 22/12 = 1.83, but two pairs of three say 1.10x.
        _row("torch", "zoo", [11.0, 24.0, 22.0]),
        _row("torch", "raw", [10.0, 12.0, 20.0]),
        _row("jax", "zoo", [11.0, 11.0, 11.0]),
    ])
    assert "| zoo torch/raw torch | 1.83 | 1.10 | 1.10 | " in lines["zoo torch/raw torch"]
    # Paired 1.10 is under the target, but with three repeats the interval
    # (1.10-2.00) still spans it.
    assert lines["zoo torch/raw torch"].endswith("| 1.10-2.00 | <= 1.2 | within noise |")
    # Different processes: no pairs, the ratio of medians decides (11/12).
    assert "| best zoo (jax)/raw torch | 0.92 | " in lines["best zoo (jax)/raw torch"]
    assert "| - | " in lines["best zoo (jax)/raw torch"]
    lines = _ratio_lines([
        _row("torch", "zoo", [14.0, 15.0, 16.0]),
        _row("torch", "raw", [10.0, 10.0, 10.0]),
    ])
    assert lines["zoo torch/raw torch"].endswith("| 1.40-1.60 | <= 1.2 | not met |")


def test_interval_pairs_repeats_measured_in_one_process():
    train_speed = _train_speed()
    # The machine slows down by half over the run; both models slow alike.
    raw = [10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0]
    zoo = [1.1 * value for value in raw]
    low, high = train_speed.ratio_interval(zoo, raw, paired=True)
    assert abs(low - 1.1) < 1e-9 and abs(high - 1.1) < 1e-9
    # Unpaired, the same numbers only bound the ratio loosely.
    low, high = train_speed.ratio_interval(zoo, raw, paired=False)
    assert low < 1.0 < 1.2 < high
    # Deterministic: the same draws every time.
    assert train_speed.ratio_interval(zoo, raw, paired=False) == (low, high)


def test_rounds_split_the_repeats_and_keep_the_pairs():
    train_speed = _train_speed()
    assert train_speed.round_sizes(9, 3) == [3, 3, 3]
    assert train_speed.round_sizes(7, 3) == [3, 2, 2]
    assert sum(train_speed.round_sizes(5, 5)) == 5
    first = [_row("torch", "zoo", [11.0, 12.0]), _row("torch", "raw", [10.0, 10.0])]
    second = [_row("torch", "zoo", [13.0]), _row("torch", "raw", [10.0])]
    merged = {row["model"]: row["ms"] for row in train_speed.merge_rounds([first, second])}
    assert merged == {"zoo": [11.0, 12.0, 13.0], "raw": [10.0, 10.0, 10.0]}
    # Merging did not change the rows it was given.
    assert first[0]["ms"] == [11.0, 12.0]


def test_the_best_backend_is_the_one_with_the_lowest_deciding_ratio():
    lines = _ratio_lines([
        # torch: medians 8.8 / 10 = 0.88, but paired 1.01 (the raw loop had
        # two fast repeats when the zoo had slow ones).
        _row("torch", "zoo", [10.1, 8.8, 8.0]),
        _row("torch", "raw", [10.0, 7.0, 12.0]),
        _row("jax", "zoo", [9.5, 9.5, 9.5]),  # 9.5 / 10 = 0.95, another process
    ])
    assert "| best zoo (jax)/raw torch | 0.95 | " in lines["best zoo (jax)/raw torch"]
    assert lines["best zoo (jax)/raw torch"].endswith("| 0.79-1.36 | <= 1.0 | within noise |")
