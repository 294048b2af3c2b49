"""The task registry and the eligibility table are the one source of their rules.

Each shared rule lives in one module: the choices and tasks in
`rnn_zoo.tasks`, kernel eligibility in `rnn_zoo.eligibility`. These tests
import the rule from that place and show every reader follows it: the same
objects (identity, not equal copies), and a rule changed there changes every
report. `rnn_zoo.tasks` and `rnn_zoo.configurations` stay free of Keras, so the
command line can read them cheaply.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_zoo import backbones
from rnn_zoo import cudnn
from rnn_zoo import eligibility
from rnn_zoo import factories
from rnn_zoo import heads
from rnn_zoo import kernels
from rnn_zoo import layers
from rnn_zoo import tasks
from rnn_zoo.tuning import hypermodel

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "rnn_zoo"
SHARED_CHOICES = ("CELLS", "POOLINGS", "QUANTIZATIONS", "LSTM_KERNELS", "EXPORT_TARGETS",
                  "INPUT_KINDS", "TOKENIZERS")


def test_layers_heads_factories_and_tuner_use_the_registry_choices():
    assert layers.CELLS is tasks.CELLS
    assert backbones.CELLS is tasks.CELLS
    assert heads.POOLINGS is tasks.POOLINGS
    assert factories.POOLINGS is tasks.POOLINGS
    assert hypermodel.CELLS is tasks.CELLS
    assert hypermodel.POOLINGS is tasks.POOLINGS
    assert hypermodel._ALLOWED["cell"] is tasks.CELLS
    assert hypermodel._ALLOWED["pooling"] is tasks.POOLINGS
    assert hypermodel.DEFAULT_SPACE["pooling"]["values"] == list(tasks.POOLINGS)
    assert set(hypermodel.TASKS) == set(tasks.RECURRENT_TASKS)
    for name, task in hypermodel.TASKS.items():
        assert task is tasks.TASKS[name]
    for name, task in tasks.TASKS.items():
        assert factories.FACTORIES[name] is task.factory_function()


def test_no_module_but_tasks_defines_a_shared_choice():
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.name == "tasks.py" and path.parent == PACKAGE_DIR:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List)):
                # A private copy (`_CELLS`) is still a second definition.
                names = {target.id.lstrip("_") for target in node.targets
                         if isinstance(target, ast.Name)}
                copied = names & set(SHARED_CHOICES)
                assert not copied, (f"{path.relative_to(PACKAGE_DIR.parent)} defines "
                                    f"{sorted(copied)}; import it from rnn_zoo.tasks")


@pytest.mark.parametrize("module", ["rnn_zoo", "rnn_zoo.tasks", "rnn_zoo.configurations"])
def test_registry_modules_import_without_keras(module):
    code = (f"import sys, {module}\n"
            "heavy = ('keras', 'tensorflow', 'jax', 'torch')\n"
            "print(','.join(name for name in heavy if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


def test_get_task_names_the_argument_in_its_error():
    with pytest.raises(ValueError, match=r"argument `model_task`.*Received: model_task='nope'"):
        tasks.get_task("nope", argument="model_task")


def _lstm(**kwargs):
    layer = layers.LSTM(4, **kwargs)
    layer.build((None, 3, 2))
    return layer


def test_kernels_and_cudnn_report_from_the_one_rule_table(monkeypatch):
    plain = _lstm()
    wrapped = layers.Bidirectional(layers.LSTM(4))
    wrapped.build((None, 3, 2))
    for layer in (plain, wrapped):
        assert kernels.ineligibility_reasons(layer) == []
        assert cudnn.configuration_reasons(layer) == []

    shared = (eligibility.KERNELS, lambda layer, kind: f"a rule for every kernel ({kind})")
    monkeypatch.setattr(eligibility, "RULES", eligibility.RULES + (shared,))
    for layer in (plain, wrapped):
        assert kernels.ineligibility_reasons(layer) == ["a rule for every kernel (lstm)"]
        assert cudnn.configuration_reasons(layer) == ["a rule for every kernel (lstm)"]

    native_only = ((eligibility.NATIVE,), lambda layer, kind: "a rule for native kernels")
    monkeypatch.setattr(eligibility, "RULES", (native_only,))
    assert kernels.ineligibility_reasons(plain) == ["a rule for native kernels"]
    assert cudnn.configuration_reasons(plain) == []


def test_a_table_rule_reaches_the_reports_with_its_reason():
    layer = _lstm(unroll=True)
    assert kernels.ineligibility_reasons(layer) == ["unroll=True"]
    assert cudnn.configuration_reasons(layer) == ["unroll=True"]
    assert eligibility.reasons(layer, kernel="cudnn") == ["unroll=True"]


def test_cell_kind_is_one_rule_for_cudnn_and_kernels(monkeypatch):
    layer = _lstm()
    assert cudnn.cell_name(layer) == eligibility.cell_kind(layer) == "lstm"
    monkeypatch.setattr(eligibility, "cell_kind", lambda layer: "gru")
    assert cudnn.cell_name(layer) == "gru"
