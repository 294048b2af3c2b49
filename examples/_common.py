"""Small helpers shared by the example scripts (not part of the rnn_zoo API)."""

import os
import sys

# Run from a checkout without installing: make `import rnn_zoo` find the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OUTPUT_DIR = os.environ.get("RNN_ZOO_EXAMPLES_OUTPUT",
                            os.path.join(os.path.dirname(os.path.abspath(__file__)), "output"))


def output_path(name):
    """Where an example writes `name` (examples/output/ unless overridden)."""
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    return os.path.join(OUTPUT_DIR, name)


def print_table(headers, rows):
    """Print rows (lists of already formatted strings) under headers."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def bar_plot(path, labels, series, ylabel, title):
    """A grouped bar chart: `series` maps a legend name to one value per label."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axis = pyplot.subplots(figsize=(1.2 + 1.1 * len(labels) * max(1, len(series)) / 2, 3.2))
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        axis.bar([i + k * width for i in range(len(labels))], values, width, label=name)
    axis.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))])
    axis.set_xticklabels(labels)
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    if len(series) > 1:
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    print(f"wrote {path}")
