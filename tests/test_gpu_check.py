"""benchmarks/gpu_check.sh's guard rails, on a machine without a GPU.

The check itself needs CUDA (benchmarks/README.md, "The GPU check"). What
runs here is what must not go wrong when it is handed to a GPU machine: a
bad argument, a machine whose `nvidia-smi` fails, and the body of the check
reaching its "no GPU" stop on every backend, with the real libraries
imported, instead of dying on an import or a typo first.

Not marked multi_backend: the script starts one process per Keras backend
itself, whatever backend the test session uses.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"


def _fake_nvidia_smi(tmp_path, exit_status):
    folder = tmp_path / "bin"
    folder.mkdir()
    tool = folder / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\necho 'GPU 0: stand-in for a test'\nexit {exit_status}\n")
    tool.chmod(0o755)
    return folder


def _run(tmp_path, *arguments, nvidia_smi_status=0, timeout=600):
    environment = dict(os.environ)
    environment["PATH"] = f"{_fake_nvidia_smi(tmp_path, nvidia_smi_status)}:{environment['PATH']}"
    environment["PYTHON"] = sys.executable
    environment.pop("KERAS_BACKEND", None)
    return subprocess.run(["bash", str(SCRIPT), *arguments], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def test_an_unknown_argument_names_the_allowed_ones(tmp_path):
    result = _run(tmp_path, "--fast")
    assert result.returncode == 2
    assert "unknown argument '--fast'" in result.stderr
    assert "allowed: --quick" in result.stderr


def test_a_machine_without_a_working_gpu_stops_at_once(tmp_path):
    result = _run(tmp_path, "--quick", nvidia_smi_status=9)
    assert result.returncode == 1
    assert "no NVIDIA GPU visible" in result.stderr
    assert "== tensorflow" not in result.stdout


def test_every_backend_reaches_its_gpu_test_and_the_run_fails(tmp_path):
    # nvidia-smi answers, but no library here sees a GPU: each backend's
    # process must get as far as asking, and the whole run must fail.
    result = _run(tmp_path, "--quick")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for backend in ("tensorflow", "jax", "torch"):
        assert f"the {backend} backend sees no GPU" in output, output
    assert "torch sees no CUDA device" in output
    assert "gpu_check: FAILED" in output
    assert "Traceback" not in output
