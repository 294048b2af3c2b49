"""Argument checks shared by layers, factories, the tuner and the CLI.

Every message names the argument, the allowed values and what was received,
in the style of Keras's own constructor checks.
"""

import numbers


def _prefix(where):
    return f"{where}: " if where else ""


def check_positive_int(value, name, where=None):
    """Raise ValueError unless `value` is an int > 0 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{_prefix(where)}Invalid value received for argument `{name}`. "
            f"Expected an integer > 0. Received: {name}={value!r}"
        )
    return int(value)


def check_fraction(value, name, where=None):
    """Raise ValueError unless 0 <= value < 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"{_prefix(where)}Invalid value received for argument `{name}`. "
            f"Expected a float in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def check_choice(value, name, allowed, where=None):
    """Raise ValueError unless `value` is one of `allowed`."""
    if value not in allowed:
        raise ValueError(
            f"{_prefix(where)}Invalid value received for argument `{name}`. "
            f"Expected one of {tuple(allowed)}. Received: {name}={value!r}"
        )
    return value


def check_units(units, depth, where=None):
    """Normalise `units` (int or per-layer list) to a list of `depth` ints."""
    depth = check_positive_int(depth, "depth", where=where)
    if isinstance(units, (list, tuple)):
        if len(units) != depth:
            raise ValueError(
                f"{_prefix(where)}Invalid value received for argument `units`. "
                f"Expected an integer > 0 or a list of {depth} integers > 0 "
                f"(one per layer, depth={depth}). Received: units={list(units)!r}"
            )
        return [check_positive_int(u, "units", where=where) for u in units]
    return [check_positive_int(units, "units", where=where)] * depth
