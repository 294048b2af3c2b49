"""Distributed search: one chief oracle, N workers, keras-tuner's gRPC protocol.

`rnn-zoo tune SPEC --workers N` runs everything on this machine: the command
becomes the chief (it serves the oracle on a free loopback port) and starts N
worker processes that share the output directory.

Multi-machine setup (the same protocol, started by hand):

1. Put the output directory on storage every machine mounts at the same path
   (NFS, a cloud bucket mount): trial checkpoints are written there by the
   workers and read back by the chief for `--export`.
2. On the chief machine:
   `rnn-zoo tune SPEC --role chief --oracle-address 0.0.0.0:8765 --output-dir /shared/run`
3. On each worker machine (a distinct id per worker):
   `KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=<chief ip> KERASTUNER_ORACLE_PORT=8765
   rnn-zoo tune SPEC --role worker --output-dir /shared/run`
   (`--oracle-address <chief ip>:8765 --tuner-id tuner0` does the same.)
   Every process must read the same spec, with the same `--cv-folds` where
   the chief was given one (the data loaders and the folds are deterministic):
   workers score trials on their own folds, and the chief refits and tests
   from the trials' `cv.json` records, refusing one scored on other folds.
4. The chief exits when every trial has ended, writes the report, and (with
   `--export`) exports the best model.

Guards against the known upstream hangs (keras-team/keras-tuner issues 254,
344, 645, 915): the upstream chief loops until every worker has asked for a
trial after the last one and every ongoing trial has ended, so a dead worker
(or one that never asks again) keeps it alive forever, and `OracleClient`
waits up to an hour (`wait_for_ready`, TIMEOUT = 3600 s) for a chief that is
gone. Here:

- the chief serves the upstream `OracleServicer` but runs its own loop: a
  local worker whose process exits while holding a trial has that trial
  re-queued (`release_tuner`), and another worker, or a replacement worker
  started by the chief, runs it; the chief stops once no trial is ongoing or
  queued and the oracle has said STOPPED, waits `grace_seconds` for workers
  to leave, then terminates the stragglers;
- each worker runs a watchdog thread that exits the process when the chief's
  port stops accepting connections for `chief_gone_seconds` (or never opens
  within `startup_seconds`).

Remote workers (step 3) are not processes of the chief: a remote worker that
dies mid-trial is not detected, and its trial stays ongoing until the chief
is stopped and resumed (resume re-queues it).
"""

import logging
import os
import socket
import subprocess
import threading
import time

CHIEF_ID = "chief"

logger = logging.getLogger(__name__)


def free_port(host="127.0.0.1"):
    """A TCP port free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def parse_address(address):
    """"host:port" -> (host, port) with a checked port."""
    host, _, port = (address or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Invalid value received for `--oracle-address`. Expected HOST:PORT "
                         f"with a port in 1..65535. Received: {address!r}")
    return host, int(port)


def worker_environment(tuner_id, host, port, base=None):
    """The environment a keras-tuner worker needs (`KERASTUNER_*`)."""
    env = dict(os.environ if base is None else base)
    env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP=host,
               KERASTUNER_ORACLE_PORT=str(port))
    return env


def _reachable(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_chief_watchdog(host, port, chief_gone_seconds=15.0, startup_seconds=300.0,
                         interval=1.0):
    """In a worker: exit the process when the chief's oracle is gone.

    Guards against workers hanging for an hour in `OracleClient`'s
    `wait_for_ready` after the chief has quit (keras-tuner issues 645, 915).

    Args:
        host, port: the chief's oracle address.
        chief_gone_seconds: how long the port may refuse connections, once seen
            open, before the worker exits.
        startup_seconds: how long to wait for the port to open at all.
        interval: seconds between checks.

    Returns:
        The daemon thread.
    """
    def watch():
        started = last_seen = time.monotonic()
        seen = False
        while True:
            time.sleep(interval)
            now = time.monotonic()
            if _reachable(host, port):
                seen, last_seen = True, now
                continue
            limit = chief_gone_seconds if seen else startup_seconds
            if now - last_seen > limit:
                # An error, so it reaches the worker's log even with logging unset.
                logger.error("worker %s: the chief at %s:%s is gone; exiting.",
                             os.environ.get("KERASTUNER_TUNER_ID"), host, port)
                os._exit(3)
            if not seen and now - started > startup_seconds:
                os._exit(3)

    thread = threading.Thread(target=watch, name="chief-watchdog", daemon=True)
    thread.start()
    return thread


def serve_oracle(oracle, host, port):
    """Start keras-tuner's gRPC `OracleServicer` for `oracle`; returns (server, servicer)."""
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise ValueError(f"--oracle-address: cannot listen on {host}:{port} (port in use?).")
    server.start()
    return server, servicer


class LocalWorkers:
    """Worker processes of a search on this machine, started and reaped by the chief.

    Args:
        command: the worker's argv (without the environment).
        host, port: the chief's oracle address.
        log_dir: each worker writes `worker_<id>.log` there.
    """

    def __init__(self, command, host, port, log_dir):
        self.command, self.host, self.port, self.log_dir = command, host, port, log_dir
        self.processes = {}
        self._logs = {}
        self._count = 0

    def start(self):
        """Start one worker with the next free tuner id; returns its id."""
        tuner_id = f"tuner{self._count}"
        self._count += 1
        log = open(os.path.join(self.log_dir, f"worker_{tuner_id}.log"), "ab")
        self._logs[tuner_id] = log
        self.processes[tuner_id] = subprocess.Popen(
            self.command, env=worker_environment(tuner_id, self.host, self.port),
            stdout=log, stderr=subprocess.STDOUT)
        return tuner_id

    def reap(self):
        """Ids of workers that exited since the last call, with their exit codes."""
        gone = {}
        for tuner_id, process in list(self.processes.items()):
            if process.poll() is not None:
                gone[tuner_id] = process.returncode
                del self.processes[tuner_id]
                self._logs.pop(tuner_id).close()
        return gone

    def stop(self, grace_seconds):
        """Wait up to `grace_seconds` for the workers, then terminate, then kill."""
        deadline = time.monotonic() + grace_seconds
        for process in self.processes.values():
            remaining = max(0.0, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs.values():
            log.close()
        stragglers = [t for t, p in self.processes.items() if p.returncode not in (0, None)]
        self.processes, self._logs = {}, {}
        return stragglers


def run_chief(tuner, host, port, workers=None, num_workers=0, max_restarts=2,
              grace_seconds=30.0, poll_seconds=0.2, progress=None):
    """Serve the oracle until every trial has ended, supervising local workers.

    Args:
        tuner: the chief's tuner (its oracle is served; it runs no trial).
        host, port: where to listen.
        workers: a `LocalWorkers`, or None when the workers are remote.
        num_workers: how many local workers to start.
        max_restarts: replacement workers the chief may start when every
            worker is gone but trials remain.
        grace_seconds: how long to wait for workers to exit at the end.
        poll_seconds: the supervision loop's period.
        progress: callable taking one line, or None (default) to log it
            through `logging` (logger `rnn_zoo.tuning.distributed`).

    Returns:
        None. Raises RuntimeError when trials remain but no worker is left.
    """
    say = progress if progress is not None else logger.info
    oracle = tuner.oracle
    oracle.verbose = 0  # our own one-line progress instead of upstream's tables
    tuner.save()
    server, servicer = serve_oracle(oracle, host, port)
    say(f"chief: oracle serving on {host}:{port}")
    restarts = 0
    reported = set(oracle.end_order)
    try:
        if workers is not None:
            for _ in range(num_workers):
                say(f"chief: started worker {workers.start()}")
        while True:
            time.sleep(poll_seconds)
            if workers is not None:
                for tuner_id, code in workers.reap().items():
                    requeued = oracle.release_tuner(tuner_id)
                    if code != 0 or requeued is not None:
                        say(f"chief: worker {tuner_id} exited with code {code}"
                            + (f"; trial {requeued} re-queued" if requeued else ""))
            ongoing, queued = oracle.pending_work()
            for trial_id in [t for t in oracle.end_order if t not in reported]:
                reported.add(trial_id)
                trial = oracle.trials[trial_id]
                say(f"chief: trial {trial_id} {trial.status.lower()} "
                    f"({len(reported)}/{oracle.max_trials}), score {trial.score}")
            if servicer.stop_triggered and ongoing == 0 and queued == 0:
                break
            if workers is not None and not workers.processes:
                if ongoing == 0 and queued == 0 and oracle.remaining_trials() == 0:
                    break
                if restarts >= max_restarts:
                    raise RuntimeError(
                        f"chief: every worker is gone and trials remain "
                        f"({queued} queued); {restarts} replacement(s) already started.")
                restarts += 1
                say(f"chief: every worker is gone and trials remain; started "
                    f"replacement worker {workers.start()}")
    finally:
        if workers is not None:
            stragglers = workers.stop(grace_seconds)
            if stragglers:
                say(f"chief: terminated worker(s) {stragglers} that did not exit on their own")
        server.stop(grace=1.0)
        tuner.save()
