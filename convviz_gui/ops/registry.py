"""The operations registry: ``run(request, context)`` for every request type.

Each family module (``model``, ``activations``, ``filters``, ``explain``, ``compare``,
``export``, ``report``) declares a request next to its operation::

    @operation(Explain, long=explain_is_long)
    def explain(request: Explain, context: OpContext) -> Explanation: ...

A request's class is defined in the module of its operation, so holding a request means
its operation is registered: in the CLI's process, and in the engine process too, where
unpickling the request imports that module. ``to_json`` is the JSON summary of a result,
registered the same way (``@to_json.register(ResultType)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch
from typing import Any, TypeVar

from convviz_gui.ops.base import Request
from convviz_gui.ops.context import OpContext

RequestT = TypeVar("RequestT", bound=Request)
Operation = Callable[[Any, OpContext], Any]
OperationT = TypeVar("OperationT", bound=Operation)


@dataclass(frozen=True)
class Registered:
    """One request type's operation, and whether a request of it is long: long requests
    report progress, can be cancelled, and let short ones run between their steps."""

    run: Operation
    long: bool | Callable[[Any], bool]


_OPERATIONS: dict[type[Request], Registered] = {}


def operation(request_type: type[RequestT], long: bool | Callable[[RequestT], bool] = False
              ) -> Callable[[OperationT], OperationT]:
    """Register the decorated ``function(request, context) -> result`` as the operation of
    ``request_type``.

    Args:
        request_type: the request class it answers.
        long: True for every request of the type, or a function of the request.
    """

    def register(function: OperationT) -> OperationT:
        if request_type in _OPERATIONS:
            raise ValueError(f"{request_type.__name__} already has an operation.")
        _OPERATIONS[request_type] = Registered(function, long)
        return function

    return register


def registered_operations() -> dict[type[Request], Registered]:
    """Every request type whose module has been imported, with its operation."""
    return dict(_OPERATIONS)


def run(request: Request, context: OpContext) -> Any:
    """Run the operation a request asks for; raises ``ConvVizError`` for the user's mistakes."""
    from convviz_gui.engine.precision import using

    found = _OPERATIONS.get(type(request))
    if found is None:
        raise TypeError(f"no operation for {type(request).__name__}")
    with using(context.resolved_precision()):
        return found.run(request, context)


def is_long(request: Request) -> bool:
    """True when the request's operation is long for it (False for an unregistered type:
    ``run`` says what is wrong with it)."""
    found = _OPERATIONS.get(type(request))
    if found is None:
        return False
    return found.long(request) if callable(found.long) else found.long


@singledispatch
def to_json(result: Any) -> dict[str, Any]:
    """The JSON-ready summary of a result (the CLI's ``--json``)."""
    raise TypeError(f"no JSON summary for {type(result).__name__}")
