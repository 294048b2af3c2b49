"""Training callbacks that Keras does not ship.

`WeightNoise` is the regulariser of Graves (2011) and Chung et al. (2014,
arXiv 1412.3555, the GRU-vs-LSTM comparison the examples reproduce): every
training step computes its gradient at randomly perturbed weights and applies
the update to the clean ones. Keras has `GaussianNoise` for activations but
nothing for weights, so it is written here as a callback: it works with any
model, optimizer and backend, and leaves evaluation and prediction on the
clean weights.
"""

import math

import keras


class WeightNoise(keras.callbacks.Callback):
    """Adds Gaussian noise to the trainable weights for each training step.

    Before a step, noise `N(0, stddev^2)` is added to every trainable
    variable; after the optimizer has applied its update, the same noise is
    subtracted again. The gradient is thus taken at the noisy point and the
    update lands on the clean weights, as in Graves (2011). Validation,
    `evaluate` and `predict` between steps see the clean weights.

    Args:
        stddev: standard deviation of the noise, a finite float > 0 (Chung
            et al. 2014 used 0.075).
        seed: int or None; the same seed gives the same noise sequence.

    Example:

    >>> model.fit(x, y, epochs=20, callbacks=[rnn_zoo.callbacks.WeightNoise(0.075, seed=0)])
    """

    def __init__(self, stddev=0.075, seed=None):
        super().__init__()
        if (isinstance(stddev, bool) or not isinstance(stddev, (int, float))
                or not math.isfinite(stddev) or stddev <= 0):
            raise ValueError(
                f"`stddev` must be a finite number > 0; received stddev={stddev!r}"
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"`seed` must be an int or None; received seed={seed!r}")
        self.stddev = float(stddev)
        self.seed = seed
        self._seed_generator = None
        self._applied = None

    def on_train_begin(self, logs=None):
        if self._seed_generator is None:
            self._seed_generator = keras.random.SeedGenerator(self.seed)

    def _attach_weights(self):
        # Keras's JAX trainer detaches the variables' values during an epoch
        # (`_purge_model_variables`) and keeps the state itself;
        # `jax_state_sync()` is its hook for callbacks that read or write
        # weights: it re-attaches them, and the next step then reads the
        # variables again.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def on_train_batch_begin(self, batch, logs=None):
        self._attach_weights()
        self._applied = []
        for variable in self.model.trainable_variables:
            noise = keras.random.normal(
                variable.shape, stddev=self.stddev, dtype=variable.dtype,
                seed=self._seed_generator,
            )
            variable.assign_add(noise)
            self._applied.append((variable, noise))

    def _remove_noise(self):
        if self._applied:
            self._attach_weights()
        for variable, noise in self._applied or ():
            variable.assign_sub(noise)
        self._applied = None

    def on_train_batch_end(self, batch, logs=None):
        self._remove_noise()

    def on_train_end(self, logs=None):
        # A step stopped between begin and end (e.g. by another callback)
        # must not leave noisy weights behind.
        self._remove_noise()
