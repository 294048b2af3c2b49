"""Data-parallel training: the distribution objects, the worker processes, their supervision.

rnn-zoo drives the engines that already exist, it does not build its own:

* TensorFlow backend: a `tf.distribute` strategy. `rnn-zoo train --data-parallel
  N` starts N worker processes on loopback, each with its own `TF_CONFIG`,
  joined by `tf.distribute.MultiWorkerMirroredStrategy` (ring collectives, which
  run on CPUs). Each process is one replica.
* JAX backend: `keras.distribution.DataParallel` over N devices. On a CPU-only
  machine the N devices are host devices, which JAX creates only when
  `XLA_FLAGS=--xla_force_host_platform_device_count=N` is set before JAX is
  imported (`host_device_flags`); across machines, every process calls
  `keras.distribution.initialize` (`jax.distributed.initialize`) first.
* torch backend: not supported. Keras 3's `keras.distribution` is implemented
  for JAX only, and `tf.distribute` drives TensorFlow only; use torchrun with
  `torch.nn.parallel.DistributedDataParallel` outside the library.

The global batch is `batch_size`: each of N replicas computes the gradient of
`batch_size / N` examples, and the replicas' gradients are summed, so one step
sees the same examples and takes the same step as one process would.

Saving follows tf.distribute's rules: every worker runs the same saves (a save
may read variables through a collective), the chief writes to the real
folder, and every other worker writes to a temporary folder
(`worker_output_dir`) that is removed at the end. A worker that resumes reads
the chief's committed state, so all of them start from the same epoch.

This module imports neither TensorFlow nor Keras at import time: the process
that supervises the workers (`run_local_workers`) stays light.

Example:

>>> import tensorflow as tf
>>> strategy = tf.distribute.MultiWorkerMirroredStrategy()  # TF_CONFIG set
>>> with rnn_zoo.distribute.scope(strategy):
...     model = rnn_zoo.build_text_classifier(vocab_size=1000, units=16)
>>> rnn_zoo.train.train(model, (x, y), batch_size=64, output_dir="run",
...                     distribution=strategy)  # doctest: +SKIP
"""

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

logger = logging.getLogger(__name__)

# Set in each worker process started by `run_local_workers`: its index, and
# the supervisor's pid (the worker exits when the supervisor is gone).
WORKER_INDEX_ENV = "RNN_ZOO_WORKER_INDEX"
SUPERVISOR_PID_ENV = "RNN_ZOO_SUPERVISOR_PID"
# How long one collective may wait for its peers before it fails. Generous: a
# peer may be writing a checkpoint while the others wait at the next step. A
# dead peer is found much sooner, by the supervisor (local workers) or by
# MultiWorkerMirroredStrategy's own health check (remote workers).
DEFAULT_COLLECTIVE_TIMEOUT = 300.0
# JAX's environment variables read by `keras.distribution.initialize()`.
JAX_CLUSTER_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                   "KERAS_DISTRIBUTION_PROCESS_ID")
_HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"
_TORCH_REASON = (
    "Keras 3's torch backend has no keras.distribution support (keras.distribution is "
    "implemented for JAX only) and tf.distribute strategies drive TensorFlow only. For "
    "data-parallel training on torch, run your own loop under torchrun with "
    "torch.nn.parallel.DistributedDataParallel, outside rnn-zoo; or use "
    "KERAS_BACKEND=tensorflow or jax.")


# --------------------------------------------------------------------------- backend


def backend_name():
    """The Keras backend this process uses, read without importing Keras if possible.

    Keras reads `KERAS_BACKEND`, then `~/.keras/keras.json` (or
    `$KERAS_HOME/keras.json`), then defaults to TensorFlow; this does the same
    so that the supervisor and the CLI's early checks stay light.

    Returns:
        "tensorflow", "jax", "torch", ...
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as handle:
            return json.load(handle).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def _is_tf_strategy(value):
    module = sys.modules.get("tensorflow")
    return module is not None and isinstance(value, module.distribute.Strategy)


def _is_keras_distribution(value):
    module = sys.modules.get("keras")
    if module is None:
        return False
    # The common base class is not exported (keras.distribution lists only the
    # concrete ones), so the public classes are the fallback.
    try:
        from keras.src.distribution.distribution_lib import Distribution
    except ImportError:
        Distribution = (module.distribution.DataParallel, module.distribution.ModelParallel)
    return isinstance(value, Distribution)


def check_distribution(distribution, where="train"):
    """Check that `distribution` can drive training on this backend.

    Args:
        distribution: None, a `tf.distribute.Strategy` (TensorFlow backend) or
            a `keras.distribution.Distribution` such as `DataParallel` (JAX).
        where: the function named in the error.

    Returns:
        `distribution`, unchanged.

    Raises:
        ValueError: the wrong kind for the backend, or any on torch; the
            message names the argument, the backend and what it accepts.

    Example:

    >>> rnn_zoo.distribute.check_distribution(keras.distribution.DataParallel())
    """
    if distribution is None:
        return None
    backend = backend_name()
    received = f"Received: distribution={type(distribution).__module__}." \
               f"{type(distribution).__name__}"
    if backend == "torch":
        raise ValueError(f"{where}: `distribution` is not supported on the torch backend: "
                         f"{_TORCH_REASON} {received}")
    if backend == "tensorflow":
        if _is_tf_strategy(distribution):
            return distribution
        hint = (" keras.distribution works on the JAX backend only (Keras's TensorFlow "
                "version is a prototype marked 'do not use').") \
            if _is_keras_distribution(distribution) else ""
        raise ValueError(f"{where}: Invalid value received for argument `distribution`. On "
                         "the TensorFlow backend, expected a tf.distribute.Strategy (e.g. "
                         f"tf.distribute.MultiWorkerMirroredStrategy) or None.{hint} {received}")
    if backend == "jax":
        if _is_keras_distribution(distribution):
            return distribution
        hint = " tf.distribute strategies drive the TensorFlow backend only." \
            if _is_tf_strategy(distribution) else ""
        raise ValueError(f"{where}: Invalid value received for argument `distribution`. On "
                         "the JAX backend, expected a keras.distribution.Distribution (e.g. "
                         f"keras.distribution.DataParallel()) or None.{hint} {received}")
    raise ValueError(f"{where}: `distribution` is not supported on the {backend} backend; "
                     f"use tensorflow or jax. {received}")


def scope(distribution):
    """The context to build and compile a model in for `distribution`.

    Args:
        distribution: a `tf.distribute.Strategy`, a
            `keras.distribution.Distribution`, or None (no-op).

    Returns:
        A context manager: `strategy.scope()` on TensorFlow,
        `distribution.scope()` on JAX.

    Example:

    >>> with rnn_zoo.distribute.scope(strategy):
    ...     model = rnn_zoo.build_text_classifier(vocab_size=100, units=8)
    """
    if distribution is None:
        return contextlib.nullcontext()
    check_distribution(distribution, where="scope")
    return distribution.scope()


def num_replicas(distribution):
    """How many replicas share each global batch (1 for None)."""
    if distribution is None:
        return 1
    if _is_tf_strategy(distribution):
        return int(distribution.num_replicas_in_sync)
    return int(distribution.device_mesh.devices.size)


def process_count(distribution):
    """How many processes take part (workers on TF, JAX processes on JAX)."""
    if distribution is None:
        return 1
    if _is_tf_strategy(distribution):
        resolver = getattr(distribution, "cluster_resolver", None)
        spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
        return max(1, sum(len(tasks) for job, tasks in spec.items()
                          if job in ("chief", "worker")))
    import jax

    return jax.process_count()


def is_chief(distribution):
    """Whether this process writes the real outputs (checkpoints, logs, bundle).

    On TensorFlow, the strategy's own rule (`extended.should_checkpoint`: the
    "chief" task, or worker 0 without one); on JAX, process 0.
    """
    if distribution is None:
        return True
    if _is_tf_strategy(distribution):
        return bool(distribution.extended.should_checkpoint)
    import jax

    return jax.process_index() == 0


def check_model(model, distribution, where="train"):
    """Raise ValueError unless `model` was built and compiled under `scope(distribution)`.

    A model built outside the scope would train on one device (TensorFlow)
    or fail to compile its step with "incompatible devices" (JAX).
    """
    if distribution is None:
        return
    advice = (f"{where}: the model was not built and compiled under the distribution's scope; "
              "build it inside `with rnn_zoo.distribute.scope(distribution):` (or "
              "strategy.scope() / distribution.scope()) and compile it there.")
    if _is_tf_strategy(distribution):
        if getattr(model, "_distribute_strategy", None) is not distribution:
            raise ValueError(advice)
        return
    import jax

    devices = num_replicas(distribution)
    if devices == 1:
        return  # one device: nothing to disagree with
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.variables) + (list(optimizer.variables) if optimizer else [])
    for variable in variables:
        sharding = getattr(variable.value, "sharding", None)
        if not isinstance(sharding, jax.sharding.NamedSharding) or \
                len(sharding.device_set) != devices:
            raise ValueError(f"{advice} (variable {variable.path!r} lives on "
                             f"{sharding}.)")


# --------------------------------------------------------------------------- TensorFlow


def multi_worker_strategy(timeout_seconds=DEFAULT_COLLECTIVE_TIMEOUT):
    """A `tf.distribute.MultiWorkerMirroredStrategy` for the cluster in `TF_CONFIG`.

    Ring collectives (they run on CPUs; NCCL needs GPUs), each failing after
    `timeout_seconds` instead of waiting forever for a peer. Create it before
    any other TensorFlow operation runs, as tf.distribute requires.

    Args:
        timeout_seconds: float > 0 or None (wait forever).

    Returns:
        The strategy.
    """
    import tensorflow as tf

    implementation = tf.distribute.experimental.CommunicationImplementation.RING
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=implementation, timeout_seconds=timeout_seconds)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def _is_multi_worker(distribution):
    if not _is_tf_strategy(distribution):
        return False
    extended = distribution.extended
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


@contextlib.contextmanager
def fit_context(model, distribution):
    """Work around Keras 3.15's multi-worker bugs for the length of `fit`/`evaluate`.

    With `MultiWorkerMirroredStrategy`, Keras 3's TensorFlow trainer fails
    twice (tensorflow/tensorflow#72388, still open upstream):

    1. `_maybe_symbolic_build` reduces the first input batch with
       `strategy.reduce("MEAN", batch)`, which MultiWorkerMirroredStrategy
       refuses for a nested batch ("Attempt to convert a value (PerReplica...)").
       The batch only serves to learn shapes, so the first local replica's
       part is used instead.
    2. `reduce_per_replica` averages the step's scalar metrics across workers
       with `axis=0` ("Invalid reduction dimension 0 for input with 0
       dimensions"); `axis=None` is the intended mean.

    Anything else (a single-process strategy, JAX, None) is left as it is.

    Args:
        model: the model about to be fit.
        distribution: the distribution it trains under.

    Returns:
        A context manager.
    """
    if not _is_multi_worker(distribution):
        yield
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(
                strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None),
                                      values)
        return original_reduce(values, strategy, reduction)

    def first_replica(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return distribution.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(first_replica, next(batches))
                break
        with distribution.scope():
            self._symbolic_build(data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    model.__dict__["_maybe_symbolic_build"] = types.MethodType(maybe_symbolic_build, model)
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original_reduce
        model.__dict__.pop("_maybe_symbolic_build", None)


# --------------------------------------------------------------------------- outputs


def worker_output_dir(output_dir, distribution, copy_names=()):
    """Where this worker writes its checkpoints, state and logs.

    The chief writes to `output_dir`. Any other worker gets a new temporary
    folder (tf.distribute's rule: every worker saves, only the chief's files
    are kept), seeded with copies of `copy_names` from `output_dir` so that a
    resumed run restores the same committed epoch on every worker.

    Args:
        output_dir: the run folder, or None.
        distribution: the distribution, or None.
        copy_names: names (files or folders) under `output_dir` to copy.

    Returns:
        `(folder, cleanup)`: the folder to write to, and a callable that
        removes it (a no-op for the chief).
    """
    if output_dir is None or is_chief(distribution):
        return output_dir, lambda: None
    folder = tempfile.mkdtemp(prefix="rnn-zoo-worker-")
    for name in copy_names:
        source = os.path.join(os.fspath(output_dir), name)
        target = os.path.join(folder, name)
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
        elif os.path.isfile(source):
            shutil.copy2(source, target)
    return folder, lambda: shutil.rmtree(folder, ignore_errors=True)


def local_batches(arrays, batch_size, processes, index):
    """This process's part of every global batch, for multi-process JAX.

    Keras's JAX trainer takes each process's local part of the global batch.
    Global batch `k` holds examples `[k*B, (k+1)*B)`; process `i` of `P` gets
    its `i`-th contiguous slice of `B/P` examples. A last, partial batch of `r`
    examples is split the same way into `r // P` each (the `r % P` left over
    are not used).

    Args:
        arrays: a list of arrays (or None) with the same first dimension.
        batch_size: the global batch size B, divisible by `processes`.
        processes: P.
        index: i.

    Returns:
        The list of local arrays (None stays None).
    """
    import numpy as np

    present = [a for a in arrays if a is not None]
    n = len(present[0])
    rows = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start) // processes
        rows.append(np.arange(start + index * size, start + (index + 1) * size))
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return [None if a is None else a[rows] for a in arrays]


def split_inputs(datasets, batch_size, distribution, where="train"):
    """Fit array data to a JAX `DataParallel` run; anything else passes unchanged.

    Keras's JAX trainer splits each batch evenly over the devices, and in a
    multi-process run takes each process's own part of the global batch.
    So, for `(x, y[, sample_weight])` tuples under a JAX distribution:

    * `batch_size` must be a multiple of the number of replicas;
    * a last, partial batch is cut to a multiple of the replicas (fewer than
      one example per replica is left out, with a warning);
    * with several processes, each keeps its part of every global batch
      (`local_batches`), and the batch size returned is the local one.

    `tf.data` datasets and `PyDataset`s are the caller's to shard.

    Args:
        datasets: a sequence of train/validation/test data (tuples, datasets
            or None).
        batch_size: the global batch size.
        distribution: the distribution, or None.
        where: the function named in errors.

    Returns:
        `(datasets, batch_size)` as `fit` should receive them in this process.
    """
    if distribution is None or _is_tf_strategy(distribution):
        return list(datasets), batch_size
    replicas, processes = num_replicas(distribution), process_count(distribution)
    if batch_size % replicas:
        raise ValueError(f"{where}: Invalid value received for argument `batch_size`. Expected "
                         f"a multiple of the {replicas} replicas (each takes an equal part "
                         f"of the global batch). Received: batch_size={batch_size}")
    index = 0
    if processes > 1:
        import jax

        index = jax.process_index()
    result = []
    for data in datasets:
        if not isinstance(data, (tuple, list)):
            result.append(data)
            continue
        arrays = list(data)
        n = len(next(a for a in arrays if a is not None))
        extra = (n % batch_size) % replicas
        if extra:
            logger.warning("%s: leaving out the last %d of %d examples: a partial batch must "
                           "split evenly over %d replicas.", where, extra, n, replicas)
            arrays = [None if a is None else a[:n - extra] for a in arrays]
        if processes > 1:
            arrays = local_batches(arrays, batch_size, processes, index)
        result.append(tuple(arrays))
    return result, batch_size // processes


# --------------------------------------------------------------------------- JAX


def host_device_flags(count, flags=None):
    """`XLA_FLAGS` with `count` host (CPU) devices requested, other flags kept.

    Args:
        count: int >= 1.
        flags: the current value (default: `os.environ["XLA_FLAGS"]`).

    Returns:
        The new value.
    """
    flags = os.environ.get("XLA_FLAGS", "") if flags is None else flags
    kept = [f for f in flags.split() if not f.startswith(_HOST_DEVICES_FLAG)]
    return " ".join(kept + [f"{_HOST_DEVICES_FLAG}={int(count)}"])


def jax_cluster_requested(environ=None):
    """Whether the environment asks for a multi-process JAX run (`JAX_CLUSTER_ENV`)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES"))


def data_parallel(count, where="--data-parallel"):
    """A `keras.distribution.DataParallel` over `count` devices (JAX backend).

    In a multi-process run (`KERAS_DISTRIBUTION_*` set), initializes the
    cluster first (`keras.distribution.initialize`, i.e.
    `jax.distributed.initialize`), with gloo collectives on CPUs, and `count`
    is the number of devices over every process.

    Args:
        count: int >= 1, the number of replicas.
        where: the name used in errors.

    Returns:
        The distribution (not set globally; use it through `scope`).

    Raises:
        ValueError: fewer than `count` devices are visible; the message says
            how to get them.
    """
    import jax
    import keras

    if jax_cluster_requested() and not jax.distributed.is_initialized():
        # Collectives between CPU processes need gloo (it only concerns the
        # CPU backend, so it is harmless beside accelerators). Set before
        # anything asks JAX for its devices, which would start the backend.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    if len(devices) < count:
        raise ValueError(
            f"{where} {count}: JAX sees {len(devices)} device(s) ({jax.default_backend()}). "
            f"On CPUs, set XLA_FLAGS={_HOST_DEVICES_FLAG}={count} before JAX is imported "
            "(`rnn-zoo train` does this itself).")
    distribution = keras.distribution.DataParallel(devices=devices[:count])
    if jax.process_count() > 1:
        # The data is split per process by rnn_zoo (see `local_batches`).
        distribution.auto_shard_dataset = False
    return distribution


# --------------------------------------------------------------------------- local workers


def free_ports(count, host="127.0.0.1"):
    """`count` distinct TCP ports free on `host` right now (the OS picks them)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind((host, 0))
            probes.append(probe)
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def tf_config(ports, index, host="127.0.0.1"):
    """The `TF_CONFIG` JSON of worker `index` in a cluster of `host:port` workers.

    Example:

    >>> json.loads(rnn_zoo.distribute.tf_config([2222, 2223], 1))["task"]
    {'type': 'worker', 'index': 1}
    """
    return json.dumps({"cluster": {"worker": [f"{host}:{port}" for port in ports]},
                       "task": {"type": "worker", "index": int(index)}})


def tf_cluster_size(environ=None):
    """Workers (chief included) in `TF_CONFIG`, or 0 when it is unset.

    Raises:
        ValueError: `TF_CONFIG` is not the JSON tf.distribute reads.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG")
    if not text:
        return 0
    try:
        cluster = json.loads(text)["cluster"]
        return sum(len(cluster.get(job, ())) for job in ("chief", "worker"))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(f"TF_CONFIG is not valid: expected JSON with a 'cluster' of "
                         f"'worker' addresses and a 'task'. Received: {text[:200]!r}") from None


def start_supervisor_watchdog(interval=1.0):
    """In a worker started by `run_local_workers`: exit when the supervisor is gone.

    Without it, a worker whose supervisor was killed would wait in a
    collective until the collective timeout.

    Returns:
        The daemon thread, or None when this process has no supervisor.
    """
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor or not supervisor.isdigit():
        return None
    supervisor = int(supervisor)

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != supervisor:
                os._exit(1)

    thread = threading.Thread(target=watch, name="supervisor-watchdog", daemon=True)
    thread.start()
    return thread


def _describe_exit(code):
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def run_local_workers(command, count, log_dir, environ=None, poll_seconds=0.2,
                      grace_seconds=5.0, say=None):
    """Run `count` TensorFlow workers on loopback and supervise them until they end.

    Worker 0 is the chief: its output goes to this process's stdout and
    stderr. The others write to `log_dir/worker-<i>.log`. When a worker fails
    (a non-zero status, or killed), the others are stopped at once (SIGTERM,
    then SIGKILL after `grace_seconds`), so nothing waits on a dead peer.

    Args:
        command: the worker's argv (each worker runs the same command).
        count: int >= 1, the number of workers.
        log_dir: folder for the other workers' logs and pid files.
        environ: base environment (default `os.environ`).
        poll_seconds: the supervision period.
        grace_seconds: how long a stopped worker may take to exit.
        say: callable taking one line for errors (default: stderr).

    Returns:
        The exit status: 0 when every worker succeeded; 2 when a worker
        reported bad input (its message is already shown); 1 otherwise, after
        one line naming the worker that failed.
    """
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    os.makedirs(log_dir, exist_ok=True)
    ports = free_ports(count)
    base = dict(os.environ if environ is None else environ)
    processes, logs = [], []
    try:
        for index in range(count):
            env = dict(base, TF_CONFIG=tf_config(ports, index),
                       **{WORKER_INDEX_ENV: str(index), SUPERVISOR_PID_ENV: str(os.getpid())})
            output = None
            if index:
                output = open(os.path.join(log_dir, f"worker-{index}.log"), "wb")
                logs.append(output)
            process = subprocess.Popen(command, env=env, stdout=output,
                                       stderr=subprocess.STDOUT if output else None)
            processes.append(process)
            with open(os.path.join(log_dir, f"worker-{index}.pid"), "w") as handle:
                handle.write(f"{process.pid}\n")
        failed = None
        while failed is None:
            codes = [process.poll() for process in processes]
            if all(code == 0 for code in codes):
                return 0
            failed = next((i for i, code in enumerate(codes) if code not in (None, 0)), None)
            if failed is None:
                time.sleep(poll_seconds)
        code = processes[failed].returncode
        if code == 2:
            # Bad input: every worker reads the same data and fails the same
            # way; the chief's line is already on stderr, so wait for it.
            try:
                chief = processes[0].wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                chief = None
            _stop(processes, grace_seconds)
            if chief != 2:
                say(_last_line(os.path.join(log_dir, f"worker-{failed}.log")))
            return 2
        _stop(processes, grace_seconds)
        say(f"rnn-zoo train: error: worker {failed} of {count} (pid {processes[failed].pid}) "
            f"{_describe_exit(code)}; stopped the other worker(s). Run the same command again "
            "to resume from the last checkpoint.")
        return 1
    finally:
        _stop(processes, grace_seconds)
        for output in logs:
            output.close()


def _stop(processes, grace_seconds):
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_line(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return f"rnn-zoo train: error: a worker failed (no log at {path})."
    errors = [line for line in lines if line.startswith("rnn-zoo ")]
    return (errors or lines or [f"rnn-zoo train: error: a worker failed ({path})."])[-1]


def command_argv(parser, args, skip=()):
    """The argv that parses back to `args` with `parser` (a subcommand's parser).

    Used to start worker processes running the same command. Options left at
    their default are left out; `skip` names `dest`s never to repeat.

    Args:
        parser: the subcommand's `argparse.ArgumentParser`.
        args: the parsed namespace.
        skip: `dest` names to leave out.

    Returns:
        A list of str, positionals first.
    """
    import argparse

    positionals, options = [], []
    for action in parser._actions:
        if action.dest in skip or isinstance(action, argparse._HelpAction) \
                or action.default == argparse.SUPPRESS:
            continue
        value = getattr(args, action.dest, None)
        if not action.option_strings:
            positionals.append(str(value))
            continue
        if value == action.default or value is None:
            continue
        flag = next((o for o in action.option_strings if o.startswith("--")),
                    action.option_strings[0])
        if action.nargs == 0:
            options.append(flag)
        else:
            options += [flag, str(value)]
    return positionals + options


# --------------------------------------------------------------------------- the command line


def start(count, argv, log_dir):
    """What `rnn-zoo train --data-parallel COUNT` does before it reads any data.

    * TensorFlow, `TF_CONFIG` unset: start COUNT workers on loopback running
      `argv` (`run_local_workers`), wait for them, and return their status.
    * TensorFlow, `TF_CONFIG` set (a worker started here, or one machine of a
      cluster): join that cluster; COUNT must equal its number of workers.
    * JAX: one process over COUNT devices. If JAX is not imported yet,
      `XLA_FLAGS` gets COUNT host devices (ignored where there are
      accelerators); if it already is (a caller in the same process) and sees
      fewer devices, the command runs in a child process with that flag set.
      With `KERAS_DISTRIBUTION_*` set, this process joins a multi-process run.
    * torch: a ValueError (see `check_distribution`).

    Args:
        count: int >= 1, the number of replicas.
        argv: the `rnn-zoo` argv that repeats this command (no program name).
        log_dir: folder for the other workers' logs.

    Returns:
        `(distribution, status)`: status is an exit status when this process
        only supervised (then distribution is None); otherwise status is None
        and distribution is the strategy or DataParallel to train under.
    """
    backend = backend_name()
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"--data-parallel: expected an integer >= 1. Received: {count!r}")
    if backend == "torch":
        raise ValueError(f"--data-parallel is not supported on the torch backend: {_TORCH_REASON}")
    command = [sys.executable, "-m", "rnn_zoo.cli", *argv]
    if backend == "tensorflow":
        size = tf_cluster_size()
        if size == 0:
            return None, run_local_workers(command, count, log_dir)
        if size != count:
            raise ValueError(f"--data-parallel {count}: TF_CONFIG names {size} worker(s); "
                             "expected the same number on every machine.")
        start_supervisor_watchdog()
        return multi_worker_strategy(), None
    if backend == "jax":
        if jax_cluster_requested():
            pass  # COUNT devices over every process; each brings its own
        elif "jax" not in sys.modules:
            os.environ["XLA_FLAGS"] = host_device_flags(count)
        else:
            import jax

            if len(jax.devices()) < count:
                env = dict(os.environ, XLA_FLAGS=host_device_flags(count))
                return None, subprocess.call(command, env=env)
        return data_parallel(count), None
    raise ValueError(f"--data-parallel is not supported on the {backend} backend; use "
                     "tensorflow or jax.")


def save_as_chief(save, folder, distribution):
    """Call `save(target)` on every worker; only the chief's target is `folder`.

    The other workers save to a temporary folder that is removed afterwards
    (a save may read variables through a collective, so every worker saves).

    Args:
        save: callable taking the folder to write.
        folder: the real destination.
        distribution: the distribution, or None.

    Returns:
        `folder`.
    """
    target, cleanup = worker_output_dir(folder, distribution)
    try:
        save(target)
    finally:
        cleanup()
    return folder
