"""Argument checks shared by layers, factories, the tuner and the CLI.

Every message names the argument, the allowed values and what was received,
in the style of Keras's own constructor checks. Every check raises
`ValueError` (never a `TypeError` from deep inside a comparison) and runs
before anything is allocated; sizes are compared with the stated limits of
`rnn_zoo.limits`, read at call time.
"""

import math
import numbers

from rnn_zoo import limits


def _prefix(where):
    return f"{where}: " if where else ""


def _shown(value):
    # A huge str or list in a message would be a second problem.
    text = repr(value)
    return text if len(text) <= 200 else f"{text[:120]}... ({len(text)} characters)"


def _invalid(name, expected, value, where):
    return ValueError(
        f"{_prefix(where)}Invalid value received for argument `{name}`. "
        f"Expected {expected}. Received: {name}={_shown(value)}"
    )


def _is_int(value):
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) \
        and type(value).__name__ not in ("bool_", "bool")


def check_int(value, name, minimum=None, maximum=None, where=None, limit=None):
    """Raise ValueError unless `value` is an int in [minimum, maximum] (bools rejected).

    Args:
        value: the argument.
        name: its name, for the message.
        minimum, maximum: inclusive bounds, or None.
        where: the function's name, for the message.
        limit: the name of the stated limit `maximum` comes from (e.g.
            "rnn_zoo.limits.MAX_UNITS"), for the message.

    Returns:
        `value` as a Python int.

    Example:

    >>> check_int(3, "depth", minimum=1, maximum=64)
    3
    """
    if not _is_int(value) or (minimum is not None and value < minimum):
        expected = "an integer" if minimum is None else (
            "an integer > 0" if minimum == 1 else f"an integer >= {minimum}")
        raise _invalid(name, expected, value, where)
    if maximum is not None and value > maximum:
        stated = f" (the stated limit {limit})" if limit else ""
        raise _invalid(name, f"an integer <= {maximum}{stated}", value, where)
    return int(value)


def check_positive_int(value, name, where=None, maximum=None, limit=None):
    """Raise ValueError unless `value` is an int > 0 (and <= `maximum`; bools rejected)."""
    return check_int(value, name, minimum=1, maximum=maximum, where=where, limit=limit)


def check_size(value, name, limit_name, minimum=1, where=None):
    """Check a size against `rnn_zoo.limits.<limit_name>`, read at call time.

    Example:

    >>> check_size(64, "units", "MAX_UNITS")
    64
    """
    return check_int(value, name, minimum=minimum, maximum=getattr(limits, limit_name),
                     where=where, limit=f"rnn_zoo.limits.{limit_name}")


def check_fraction(value, name, where=None):
    """Raise ValueError unless 0 <= value < 1 (NaN, inf and bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not 0.0 <= float(value) < 1.0:
        raise _invalid(name, "a float in [0, 1)", value, where)
    return float(value)


def check_positive_float(value, name, where=None):
    """Raise ValueError unless `value` is a finite real number > 0 (bools rejected).

    Example:

    >>> check_positive_float(1e-3, "learning_rate")
    0.001
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)) or float(value) <= 0.0:
        raise _invalid(name, "a finite float > 0", value, where)
    return float(value)


def check_finite_or_none(value, name, where=None):
    """Raise ValueError unless `value` is None or a finite real number (bools rejected)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise _invalid(name, "a finite float or None", value, where)
    return float(value)


def check_bool(value, name, where=None):
    """Raise ValueError unless `value` is True or False (a NumPy bool is accepted).

    A str such as "no" is refused: read as a truth value it would mean True.

    Example:

    >>> check_bool(False, "require_cudnn")
    False
    """
    if isinstance(value, bool):
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool"):
        return bool(value)
    raise _invalid(name, "True or False", value, where)


def check_optional_name(value, name, where=None):
    """Raise ValueError unless `value` is None or a non-empty str without "/"."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or "/" in value:
        raise _invalid(name, "a non-empty str without '/', or None", value, where)
    return value


def _member(value, allowed):
    for choice in allowed:
        if choice is None or value is None:
            if choice is value:
                return True
        elif isinstance(choice, str):
            if isinstance(value, str) and value == choice:
                return True
        elif isinstance(choice, bool) or isinstance(value, bool):
            if isinstance(choice, bool) and isinstance(value, bool) and value == choice:
                return True
        elif isinstance(choice, numbers.Number) and isinstance(value, numbers.Number):
            if value == choice:
                return True
        elif type(value) is type(choice):
            try:
                if bool(value == choice):
                    return True
            except (TypeError, ValueError):
                pass  # e.g. an array, whose == is elementwise
    return False


def check_choice(value, name, allowed, where=None):
    """Raise ValueError unless `value` is one of `allowed` (compared by type and value)."""
    if not _member(value, allowed):
        raise _invalid(name, f"one of {tuple(allowed)}", value, where)
    return value


def check_units(units, depth, where=None):
    """Normalise `units` (int or per-layer list) to a list of `depth` ints.

    `depth` and every entry are checked against `rnn_zoo.limits.MAX_DEPTH`
    and `MAX_UNITS`.
    """
    depth = check_size(depth, "depth", "MAX_DEPTH", where=where)
    if isinstance(units, (list, tuple)):
        if len(units) != depth:
            raise ValueError(
                f"{_prefix(where)}Invalid value received for argument `units`. "
                f"Expected an integer > 0 or a list of {depth} integers > 0 "
                f"(one per layer, depth={depth}). Received: units={_shown(list(units))}"
            )
        return [check_size(u, "units", "MAX_UNITS", where=where) for u in units]
    return [check_size(units, "units", "MAX_UNITS", where=where)] * depth


def check_parameter_count(count, arguments, where=None):
    """Refuse a model whose estimated weight count exceeds `rnn_zoo.limits.MAX_PARAMETERS`.

    Args:
        count: the number of weights the arguments would make.
        arguments: dict of the size arguments behind it, for the message.
        where: the function's name.

    Example:

    >>> check_parameter_count(10**6, {"units": 64})
    1000000
    """
    if count > limits.MAX_PARAMETERS:
        shown = ", ".join(f"{key}={_shown(value)}" for key, value in arguments.items())
        raise ValueError(
            f"{_prefix(where)}Invalid combination of arguments {tuple(arguments)}: the model "
            f"would hold about {count:,} weights, more than the stated limit "
            f"rnn_zoo.limits.MAX_PARAMETERS={limits.MAX_PARAMETERS:,}. Received: {shown}"
        )
    return count


def check_class_count(count, name="labels", where=None, what="distinct labels"):
    """Refuse fewer than 2 classes: a classifier of one class learns nothing.

    Args:
        count: the number of classes found (e.g. distinct training labels).
        name: the argument they came from, for the message.
        where: the function's name.
        what: what was counted, for the message.

    Example:

    >>> check_class_count(1, "data", where="prepare")
    Traceback (most recent call last):
    ValueError: prepare: Invalid value received for argument `data`. Expected at least 2 ...
    """
    if count < 2:
        raise ValueError(
            f"{_prefix(where)}Invalid value received for argument `{name}`. Expected at "
            f"least 2 {what} (a classifier needs two classes to tell apart). Received: "
            f"{count} {what}."
        )
    return count
