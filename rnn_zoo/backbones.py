"""The recurrent backbone shared by every task: a stack of zoo RNN layers.

The backbone is applied as layers inside one flat functional model (not a
nested sub-model) so that export and gate inspection see every recurrent
layer directly, and a `.keras` file holds nothing but registered layers.
"""

import dataclasses

from rnn_zoo.layers import Bidirectional
from rnn_zoo.layers import recurrent_layer
from rnn_zoo.tasks import CELLS
from rnn_zoo.validation import check_bool
from rnn_zoo.validation import check_choice
from rnn_zoo.validation import check_fraction
from rnn_zoo.validation import check_units


@dataclasses.dataclass(frozen=True)
class BackboneConfig:
    """Validated hyperparameters of a recurrent stack.

    Attributes:
        cell: "lstm", "gru" or "simple_rnn".
        units: list of ints, one per layer (an int argument is repeated).
        depth: number of stacked recurrent layers.
        bidirectional: wrap every layer in `Bidirectional`.
        dropout: input dropout of every recurrent layer, in [0, 1).
        require_cudnn: refuse configurations that can't take cuDNN.
    """

    cell: str = "lstm"
    units: tuple = (64,)
    depth: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    require_cudnn: bool = False

    @classmethod
    def create(cls, cell="lstm", units=64, depth=1, bidirectional=False,
               dropout=0.0, require_cudnn=False, where=None):
        """Validate user arguments (int or per-layer `units`) into a config."""
        check_choice(cell, "cell", CELLS, where=where)
        units = check_units(units, depth, where=where)
        bidirectional = check_bool(bidirectional, "bidirectional", where=where)
        dropout = check_fraction(dropout, "dropout", where=where)
        # A str such as "no" must not be read as True.
        require_cudnn = check_bool(require_cudnn, "require_cudnn", where=where)
        return cls(cell=cell, units=tuple(units), depth=len(units),
                   bidirectional=bidirectional, dropout=dropout,
                   require_cudnn=require_cudnn)

    @property
    def output_width(self):
        return self.units[-1] * (2 if self.bidirectional else 1)


def apply_backbone(x, config, return_sequences, name="backbone"):
    """Run `x` (`[batch, time, features]`, maybe masked) through the stack.

    Args:
        x: symbolic input tensor.
        config: a `BackboneConfig`.
        return_sequences: whether the last layer returns every step (all
            lower layers always do).
        name: prefix of the layer names ("backbone_lstm_1", ...).

    Returns:
        The output tensor: `[batch, time, width]` or `[batch, width]`.
    """
    for index, units in enumerate(config.units):
        is_last = index == config.depth - 1
        layer = recurrent_layer(
            config.cell,
            units,
            return_sequences=return_sequences or not is_last,
            dropout=config.dropout,
            require_cudnn=config.require_cudnn,
            name=f"{name}_{config.cell}_{index + 1}",
        )
        if config.bidirectional:
            layer = Bidirectional(layer, name=f"{name}_bi{config.cell}_{index + 1}")
        x = layer(x)
    return x
