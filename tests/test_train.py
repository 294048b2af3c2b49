"""`rnn_zoo.train.train`: early stopping, atomic checkpoints, resume, TensorBoard."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo import train as train_lib

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _toy_data(seed=0, n=64):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 12, size=(n, 5)).astype("int32")
    x[: n // 4, 3:] = 0  # some padded rows
    y = (x[:, 0] > 6).astype("int32")
    return x, y


def _toy_model():
    return rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4,
                                         learning_rate=0.01)


@pytest.mark.multi_backend
def test_resume_continues_from_last_epoch_with_optimizer_state(tmp_path):
    x, y = _toy_data()
    first = train_lib.train(_toy_model(), (x, y), validation_data=(x, y), epochs=2,
                            batch_size=16, output_dir=tmp_path, verbose=0)
    assert first.initial_epoch == 0 and first.epochs_completed == 2
    assert os.path.exists(first.best_checkpoint) and os.path.exists(first.last_checkpoint)
    # TensorBoard scalars are written through tf.summary on every backend.
    assert any(name.startswith("events.") for name in os.listdir(tmp_path / "logs" / "train"))

    resumed_model = _toy_model()
    second = train_lib.train(resumed_model, (x, y), validation_data=(x, y), epochs=3,
                             batch_size=16, output_dir=tmp_path, verbose=0,
                             test_data=(x, y))
    assert second.initial_epoch == 2 and second.epochs_completed == 3
    assert len(second.history["loss"]) == 3
    assert second.history["loss"][:2] == first.history["loss"]
    # 4 batches per epoch: the step counter came back from the checkpoint.
    assert int(resumed_model.optimizer.iterations) == 3 * 4
    assert set(second.test_metrics) >= {"loss", "accuracy"}


@pytest.mark.multi_backend
def test_early_stopping_restores_best_weights(tmp_path):
    x, y = _toy_data()
    # Validation labels are the opposite of the training labels, so the
    # validation loss grows as the model learns: epoch 1 is the best one.
    model = _toy_model()
    result = train_lib.train(model, (x, y), validation_data=(x, 1 - y), epochs=20,
                             batch_size=16, patience=2, verbose=0,
                             output_dir=tmp_path)
    losses = result.history["val_loss"]
    best = int(np.argmin(losses))
    assert result.stopped_early and result.epochs_completed < 20
    assert result.best_epoch == best + 1
    restored = model.evaluate(x, 1 - y, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(restored, losses[best], rtol=1e-4)


def test_early_stopping_without_output_dir_keeps_best_weights_in_memory():
    x, y = _toy_data()
    model = _toy_model()
    result = train_lib.train(model, (x, y), validation_data=(x, 1 - y), epochs=20,
                             batch_size=16, patience=2, verbose=0,
                             tensorboard=True)
    assert result.best_checkpoint is None and result.log_dir is None
    losses = result.history["val_loss"]
    restored = model.evaluate(x, 1 - y, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(restored, min(losses), rtol=1e-4)


def test_corrupt_checkpoint_is_ignored_with_a_warning_naming_it(tmp_path):
    x, y = _toy_data()
    train_lib.train(_toy_model(), (x, y), epochs=1, batch_size=16, output_dir=tmp_path,
                    verbose=0, tensorboard=False)
    state = json.loads((tmp_path / "training_state.json").read_text())
    last = tmp_path / "checkpoints" / state["last_checkpoint"]
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])  # a damaged file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train_lib.train(_toy_model(), (x, y), epochs=1, batch_size=16,
                                 output_dir=tmp_path, verbose=0, tensorboard=False)
    messages = [str(w.message) for w in caught]
    assert any("corrupt checkpoint" in m and str(last) in m for m in messages), messages
    assert result.initial_epoch == 0 and result.epochs_completed == 1


def test_restore_checkpoint_rejects_a_file_keras_cannot_read(tmp_path):
    model = _toy_model()
    model.optimizer.build(model.trainable_variables)
    before = [np.array(v) for v in model.weights]
    bogus = tmp_path / "bogus.keras"
    bogus.write_bytes(b"not a zip archive")
    with pytest.warns(UserWarning, match="bogus.keras"):
        assert not train_lib.restore_checkpoint(model, str(bogus))
    for value, variable in zip(before, model.weights):
        np.testing.assert_array_equal(value, np.array(variable))


def test_early_stopping_patience_still_works_with_a_deprecation_warning():
    x, y = _toy_data()
    with pytest.warns(DeprecationWarning, match="early_stopping_patience.*use `patience"):
        result = train_lib.train(_toy_model(), (x, y), validation_data=(x, 1 - y),
                                 epochs=20, batch_size=16, early_stopping_patience=1,
                                 verbose=0)
    # Patience 1: the run stops at the first epoch that does not improve.
    assert result.stopped_early and result.epochs_completed == result.best_epoch + 1
    with pytest.raises(TypeError, match="unexpected keyword argument 'patiance'"):
        train_lib.train(_toy_model(), (x, y), epochs=1, patiance=2)


def test_checkpoints_and_state_have_ordinary_file_permissions(tmp_path):
    x, y = _toy_data()
    old_mask = os.umask(0o022)
    try:
        train_lib.train(_toy_model(), (x, y), epochs=1, batch_size=16, output_dir=tmp_path,
                        verbose=0, tensorboard=False)
        path = tmp_path / "model.keras"
        train_lib.save_checkpoint(_toy_model(), path)
    finally:
        os.umask(old_mask)
    for written in (path, tmp_path / "checkpoints" / "last.keras",
                    tmp_path / "checkpoints" / "best.keras", tmp_path / "training_state.json"):
        assert written.stat().st_mode & 0o777 == 0o644, written


def test_train_rejects_bad_arguments():
    x, y = _toy_data()
    with pytest.raises(ValueError, match="epochs"):
        train_lib.train(_toy_model(), (x, y), epochs=0)
    with pytest.raises(ValueError, match=r"argument `patience`.*Received: patience=0"):
        train_lib.train(_toy_model(), (x, y), epochs=1, patience=0)
    with pytest.raises(ValueError, match="not compiled"):
        uncompiled = rnn_zoo.build_text_classifier(vocab_size=12, units=4,
                                                   compile_model=False)
        train_lib.train(uncompiled, (x, y), epochs=1)
    with pytest.raises(ValueError, match="train_data"):
        train_lib.train(_toy_model(), (x,), epochs=1)


_CHILD = textwrap.dedent("""
    import sys, time
    import keras, numpy as np
    sys.path.insert(0, {root!r})
    import rnn_zoo
    from rnn_zoo.train import train

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.25)  # leave the parent time to kill us mid-epoch

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, size=(64, 5)).astype("int32")
    y = (x[:, 0] > 6).astype("int32")
    model = rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4)
    train(model, (x, y), epochs=50, batch_size=16, output_dir={out!r}, verbose=0,
          tensorboard=False, callbacks=[Slow()])
""")


def test_training_killed_mid_run_resumes_from_last_completed_epoch(tmp_path):
    # TF only: the interruption and the file handling are backend-independent,
    # and the multi-backend resume test above covers the optimizer state.
    out = tmp_path / "run"
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(root=REPO_ROOT, out=str(out)))
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    state_path = out / "training_state.json"
    deadline = time.time() + 120
    completed = 0
    try:
        while time.time() < deadline and child.poll() is None:
            if state_path.exists():
                completed = json.loads(state_path.read_text())["epochs_completed"]
                if completed >= 2:
                    time.sleep(0.4)  # land the kill inside the next epoch
                    break
            time.sleep(0.1)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    completed = json.loads(state_path.read_text())["epochs_completed"]
    assert 2 <= completed < 50

    x = np.random.default_rng(0).integers(1, 12, size=(64, 5)).astype("int32")
    y = (x[:, 0] > 6).astype("int32")
    model = rnn_zoo.build_text_classifier(vocab_size=12, units=4, embedding_dim=4)
    result = train_lib.train(model, (x, y), epochs=completed + 1, batch_size=16,
                             output_dir=out, verbose=0, tensorboard=False)
    assert result.initial_epoch == completed
    assert len(result.history["loss"]) == completed + 1
    assert int(model.optimizer.iterations) == (completed + 1) * 4
    leftovers = [n for n in os.listdir(out / "checkpoints") if ".tmp" in n]
    assert leftovers == []
