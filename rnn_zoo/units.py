"""How quantities read in log and progress lines: one spelling for sizes.

A leaf: standard library only, so the command line (which must not import
Keras for `--help`) and the library's log lines share it.

Example:

>>> from rnn_zoo.units import human_size
>>> human_size(3891)
'3.8 KiB'
"""


def human_size(count):
    """A byte count as people read it, the one spelling every command prints.

    Binary units, one decimal above bytes: `98 B`, `3.8 KiB`, `152.6 KiB`,
    `1.2 MiB`, `4.0 GiB`.

    Args:
        count: a number of bytes (int >= 0).

    Returns:
        The text, e.g. "3.8 KiB".

    Example:

    >>> human_size(98), human_size(1258291)
    ('98 B', '1.2 MiB')
    """
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            break
        size /= 1024
    else:
        unit = "TiB"
    return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
