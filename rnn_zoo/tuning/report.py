"""Results of a search: a table (CSV and Markdown), a PNG plot, a best-trial summary.

With a summary of the final models (`rnn_zoo.tuning.search.final_models`),
`best.json` and `results.md` also carry the winner's and the default
configuration's `cv_mean`, `cv_std`, `test_<metric>` and `test_ci95`.
"""

import csv
import io
import json
import os

from rnn_zoo import atomic
from rnn_zoo.tuning.runner import read_run_log

# The columns of a row that are not hyperparameters.
ROW_FIELDS = ("trial_id", "status", "score", "cv_std", "best_epoch", "best_step", "runs",
              "fit_seconds")


def trial_rows(oracle, project_dir):
    """One dict per trial, in start order, with its active hyperparameters.

    Args:
        oracle: the search's oracle (chief or single process).
        project_dir: keras-tuner's project folder (holds `trial_runs.jsonl`).

    Returns:
        A list of dicts: trial_id, status, score (the cross-validated mean),
        cv_std (its spread over folds), best_epoch (mean over folds),
        best_step, runs (how many times the trial ended), fit_seconds, then
        one key per hyperparameter.
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
        name = getattr(oracle.objective, "name", None)
        row = {"trial_id": trial_id, "status": trial.status, "score": trial.score,
               "cv_std": _last(trial, f"{name}_std"),
               "best_epoch": _last(trial, "best_epoch"), "best_step": trial.best_step,
               **runs.get(trial_id, {"runs": 0, "fit_seconds": 0.0}), **values}
        rows.append(row)
    return rows


def _last(trial, name):
    value = trial.metrics.get_last_value(name) if trial.metrics.exists(name) else None
    if name == "best_epoch" and value is not None:
        return int(round(value))
    return value


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


def write_report(rows, output_dir, objective, direction, title="search", summary=None):
    """Write `results.csv`, `results.md`, `trials.png` and `best.json` into `output_dir`.

    Args:
        rows: from `trial_rows`.
        output_dir: folder (created if needed).
        objective: the objective's name (a column header and the plot's y label).
        direction: "max" or "min".
        title: the plot's title.
        summary: optional dict from `final_models`: the refit winner and
            default, their CV and test scores (top level and under "default").

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
        spread = f" +- {best['cv_std']:.4f}" if best.get("cv_std") is not None else ""
        lines += [f"Best trial: {best['trial_id']}, {objective} = {best['score']:.4f}"
                  f"{spread}.", ""]
    if summary is not None:
        lines += _summary_lines(summary)
    header = [("score" if c == "score" else c) for c in columns]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    atomic.write_text(paths["markdown"], "\n".join(lines) + "\n")
    record = {"objective": objective, "direction": direction, "best": best}
    if summary is not None:
        record.update({k: v for k, v in summary.items() if k not in record})
    atomic.write_text(paths["best"], json.dumps(record, indent=2, default=str))
    _plot(rows, paths["plot"], objective, direction, title)
    return paths


def _interval(values):
    return "n/a" if not values else f"{values[0]:.4f}-{values[1]:.4f}"


def _summary_lines(summary):
    """The "Final models" section of results.md: winner and default, CV and test."""
    metric = summary["test_metric"]
    test_key = f"test_{metric}"
    lines = ["## Final models", ""]
    if summary.get("cv_note"):
        lines += [f"Note: {summary['cv_note']}.", ""]
    folds = summary["cv_folds"]
    scored = (f"{folds}-fold cross-validation on the training split" if folds > 1
              else "one validation split")
    lines += [f"Each configuration is scored by {scored} (`cv_mean` +- `cv_std` of "
              f"`{summary['objective']}`), refit on the whole training split for its mean best "
              "epoch, then scored once on the test split"
              + ("" if summary["test_split"] else " (this dataset has none)") + ".", "",
              f"| model | source | cv_mean | cv_std | refit_epochs | {test_key} | test_ci95 |",
              "|---|---|---|---|---|---|---|"]
    for name, entry in (("search winner", summary), ("default", summary["default"])):
        source = entry.get("source") or {}
        shown = {"trial": f"trial {source.get('trial_id')}",
                 "ensemble": f"ensemble of trials {source.get('trial_ids')}",
                 "default": "factory defaults + task_args"}.get(source.get("kind"), "")
        test = entry.get(test_key)
        lines.append(f"| {name} | {shown} | {entry['cv_mean']:.4f} | {entry['cv_std']:.4f} | "
                     f"{entry['refit_epochs']} | {'n/a' if test is None else f'{test:.4f}'} | "
                     f"{_interval(entry.get('test_ci95'))} |")
    chosen = "the search winner" if summary["chosen"] == "search" else "the default"
    lines += ["", f"Wins on CV (what `--export` ships): {chosen}.", ""]
    return lines


def _plot(rows, path, objective, direction, title):
    from matplotlib import pyplot

    figure = _figure(rows, objective, direction, title)
    atomic.write_with(path, lambda temporary: figure.savefig(temporary, dpi=100, format="png"))
    pyplot.close(figure)


def _figure(rows, objective, direction, title):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

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
    # Trials are counted: ticks only at whole numbers.
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial (start order)")
    axes.set_ylabel(objective)
    axes.set_title(title)
    figure.tight_layout()
    return figure
