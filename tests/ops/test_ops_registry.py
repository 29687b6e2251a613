"""The operations registry: a request type and its operation, declared in one module (here,
a toy), are dispatched by ``run`` and by the engine process with no other edit; the
workspace keeps a bounded number of models and images; a CLI command is one declaration."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from convviz_gui.ops.base import ImageRef, ModelRef, Request
from convviz_gui.ops.context import IMAGES_KEPT, OpContext, Workspace
from convviz_gui.ops.engine_process import EngineProcess
from convviz_gui.ops.registry import is_long, operation, registered_operations, run, to_json


@dataclass(frozen=True)
class Doubled(Request):
    """A toy request: the values doubled; long from three values on."""

    values: tuple[int, ...]


@dataclass(frozen=True)
class DoubledResult:
    """The toy's answer, and the process that computed it."""

    values: tuple[int, ...]
    pid: int


@operation(Doubled, long=lambda request: len(request.values) > 2)
def doubled(request: Doubled, context: OpContext) -> DoubledResult:
    """Double each value, reporting progress after each."""
    for done in range(1, len(request.values) + 1):
        context.progress(done / len(request.values))
    return DoubledResult(tuple(2 * value for value in request.values), os.getpid())


@to_json.register(DoubledResult)
def _doubled_json(result: DoubledResult) -> dict:
    return {"values": list(result.values)}


@dataclass(frozen=True)
class Unregistered(Request):
    """A request whose module registers no operation."""


def test_run_dispatches_a_request_registered_in_its_own_module():
    seen = []
    result = run(Doubled((1, 2, 3)), OpContext(Workspace(), seen.append))
    assert result.values == (2, 4, 6) and result.pid == os.getpid()
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert to_json(result) == {"values": [2, 4, 6]}
    assert is_long(Doubled((1, 2, 3))) and not is_long(Doubled((1,)))
    assert registered_operations()[Doubled].run is doubled
    with pytest.raises(TypeError, match="no operation for Unregistered"):
        run(Unregistered(), OpContext(Workspace()))
    assert not is_long(Unregistered())
    with pytest.raises(ValueError, match="already has an operation"):
        operation(Doubled)(doubled)


FAMILIES = ("model", "activations", "filters", "explain", "compare", "export", "report",
            "dataset", "sanity")


def test_every_request_of_the_families_has_one_operation():
    from importlib import import_module

    names = {import_module(f"convviz_gui.ops.{family}").__name__ for family in FAMILIES}
    families = {op.run.__module__ for kind, op in registered_operations().items()
                if kind.__module__.startswith("convviz_gui.ops.")}
    assert families == names
    assert len([kind for kind in registered_operations() if kind.__module__ in families]) == 19


def test_engine_process_runs_the_toy_operation():
    """The engine imports this module when it unpickles the request, which registers it."""
    engine = EngineProcess()
    try:
        assert engine.receive()[0] == "ready"
        engine.send(("run", 1, Doubled((5, 7, 9))))
        engine.send(("run", 2, Unregistered()))
        replies, progress = {}, []
        while len(replies) < 2:
            message = engine.receive()
            if message[0] == "progress":
                progress.append(message[2])
            elif message[0] in ("result", "error"):
                replies[message[1]] = message
        result = replies[1][2]
        assert replies[1][0] == "result" and result.values == (10, 14, 18)
        assert result.pid == engine.pid != os.getpid()
        assert progress and progress[0] == pytest.approx(1 / 3)
        assert replies[2][0] == "error" and "no operation for Unregistered" in replies[2][2]
    finally:
        engine.stop()


def test_workspace_keeps_images_until_their_file_changes(tmp_path):
    workspace = Workspace()
    paths = []
    for number in range(IMAGES_KEPT + 1):
        path = tmp_path / f"{number}.png"
        Image.fromarray(np.full((8, 8, 3), number * 40, np.uint8)).save(path)
        paths.append(str(path))
    first = workspace.image(ImageRef(paths[0]))
    assert workspace.image(ImageRef(paths[0])) is first  # kept
    Image.fromarray(np.full((8, 8, 3), 250, np.uint8)).save(paths[0])
    os.utime(paths[0], ns=(1, 10**18))  # a new modification time, whatever the clock
    changed = workspace.image(ImageRef(paths[0]))
    assert changed is not first and changed.rgb[0, 0, 0] == 250  # re-read
    for path in paths[1:]:
        workspace.image(ImageRef(path))
    assert workspace.image(ImageRef(paths[-1])) is workspace.image(ImageRef(paths[-1]))
    assert workspace.image(ImageRef(paths[0])) is not changed  # the oldest of 5 was dropped
    workspace.forget()
    assert workspace.image(ImageRef(paths[-1])).rgb[0, 0, 0] == IMAGES_KEPT * 40


def test_workspace_keeps_the_two_models_used_last(monkeypatch):
    import convviz_gui.ops.context as context

    opened = []
    monkeypatch.setattr(context, "_open_model", lambda ref: opened.append(ref.spec) or object())
    workspace = Workspace()
    first = workspace.model(ModelRef("a"))
    workspace.model(ModelRef("b"))
    assert workspace.model(ModelRef("a")) is first  # the current and the previous are kept
    workspace.model(ModelRef("c"))  # drops b, used least recently
    assert workspace.model(ModelRef("a")) is first
    workspace.model(ModelRef("b"))
    assert opened == ["a", "b", "c", "b"] and context.MODELS_KEPT == 2
    workspace.forget_models()
    assert workspace.model(ModelRef("a")) is not first and opened[-1] == "a"


def test_a_cli_command_is_one_declaration(monkeypatch, capsys):
    """A ``Command`` in ``COMMANDS`` is parsed, helped and run by ``convviz``."""
    import convviz_gui.cli as cli
    from convviz_gui.cli.common import Command

    def arguments(sub):
        sub.add_argument("values", nargs="+", type=int)
        sub.add_argument("--json", action="store_true")

    def doubled_command(args, context):
        result = run(Doubled(tuple(args.values)), context)
        return to_json(result), " ".join(map(str, result.values))

    toy = Command("double", "double some numbers", arguments, doubled_command)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, toy))
    assert cli.main(["double", "2", "21"]) == 0
    assert capsys.readouterr().out == "4 42\n"
    assert cli.main(["double", "1", "--json"]) == 0
    assert capsys.readouterr().out == '{"precision": "float32", "values": [2]}\n'
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "double some numbers" in capsys.readouterr().out
