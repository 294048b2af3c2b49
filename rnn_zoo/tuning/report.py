"""Results of a search: a table (CSV and Markdown), a PNG plot, a best-trial summary."""

import csv
import io
import json
import os

from rnn_zoo import atomic
from rnn_zoo.tuning.runner import read_run_log


def trial_rows(oracle, project_dir):
    """One dict per trial, in start order, with its active hyperparameters.

    Args:
        oracle: the search's oracle (chief or single process).
        project_dir: keras-tuner's project folder (holds `trial_runs.jsonl`).

    Returns:
        A list of dicts: trial_id, status, score, best_step, runs (how many
        times the trial ended), fit_seconds, then one key per hyperparameter.
    """
    runs = {}
    for record in read_run_log(project_dir):
        if record["event"] == "end":
            entry = runs.setdefault(record["trial_id"], {"runs": 0, "fit_seconds": 0.0})
            entry["runs"] += 1
            entry["fit_seconds"] += record.get("fit_seconds", 0.0)
    rows = []
    order = list(oracle.start_order) + sorted(set(oracle.trials) - set(oracle.start_order))
    for trial_id in order:
        trial = oracle.trials[trial_id]
        hp = trial.hyperparameters
        values = {k: v for k, v in sorted(hp.values.items()) if hp.is_active(k)}
        row = {"trial_id": trial_id, "status": trial.status,
               "score": trial.score, "best_step": trial.best_step,
               **runs.get(trial_id, {"runs": 0, "fit_seconds": 0.0}), **values}
        rows.append(row)
    return rows


def best_row(rows, direction):
    """The completed row with the best score, or None."""
    done = [r for r in rows if r["status"] == "COMPLETED" and r["score"] is not None]
    if not done:
        return None
    return (max if direction == "max" else min)(done, key=lambda r: r["score"])


def _columns(rows):
    columns = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def write_report(rows, output_dir, objective, direction, title="search"):
    """Write `results.csv`, `results.md`, `trials.png` and `best.json` into `output_dir`.

    Args:
        rows: from `trial_rows`.
        output_dir: folder (created if needed).
        objective: the objective's name (a column header and the plot's y label).
        direction: "max" or "min".
        title: the plot's title.

    Returns:
        Dict of the written paths, keyed "csv", "markdown", "plot", "best".
    """
    os.makedirs(output_dir, exist_ok=True)
    columns = _columns(rows)
    paths = {name: os.path.join(output_dir, file) for name, file in
             (("csv", "results.csv"), ("markdown", "results.md"),
              ("plot", "trials.png"), ("best", "best.json"))}
    # Every file is written atomically: a resumed or distributed search rewrites
    # them while someone may be reading the last ones.
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k) for k in columns})
    atomic.write_text(paths["csv"], table.getvalue())
    best = best_row(rows, direction)
    lines = [f"# {title}", "", f"Objective: `{objective}` ({direction}). "
             f"Trials: {len(rows)}, completed: "
             f"{sum(r['status'] == 'COMPLETED' for r in rows)}.", ""]
    if best is not None:
        lines += [f"Best: trial {best['trial_id']}, {objective} = {best['score']:.4f}.", ""]
    header = [("score" if c == "score" else c) for c in columns]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    atomic.write_text(paths["markdown"], "\n".join(lines) + "\n")
    atomic.write_text(paths["best"], json.dumps(
        {"objective": objective, "direction": direction, "best": best}, indent=2, default=str))
    _plot(rows, paths["plot"], objective, direction, title)
    return paths


def _plot(rows, path, objective, direction, title):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 3.5))
    points = [(i, r["score"]) for i, r in enumerate(rows)
              if r["status"] == "COMPLETED" and r["score"] is not None]
    if points:
        xs, ys = zip(*points)
        axes.scatter(xs, ys, label="trial", color="tab:blue")
        best_so_far, running = [], None
        for y in ys:
            running = y if running is None else (max if direction == "max" else min)(running, y)
            best_so_far.append(running)
        axes.step(xs, best_so_far, where="post", color="tab:orange", label="best so far")
        axes.legend(loc="best")
    axes.set_xlabel("trial (start order)")
    axes.set_ylabel(objective)
    axes.set_title(title)
    figure.tight_layout()
    atomic.write_with(path, lambda temporary: figure.savefig(temporary, dpi=100, format="png"))
    pyplot.close(figure)
