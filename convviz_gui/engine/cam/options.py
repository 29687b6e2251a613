"""Method options: declared once on the method's class, carried as one frozen value.

A method declares its options as ``Option`` objects (``Explainer.declared_options``); the
CLI flags (``convviz gradcam --top-n``), the window's options bar and their help texts and
tooltips are generated from these declarations. The values of a request travel as one
``MethodOptions``: frozen, hashable and picklable, read by attribute (``options.top_n``),
the declared default for every option not given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from convviz_gui.engine.errors import ConvVizError

OptionValue = int | float | str


@dataclass(frozen=True)
class Option:
    """One option of a method.

    Args:
        name: the ``MethodOptions`` attribute; the CLI flag is ``--`` + name with dashes.
        label: the window's label beside the widget.
        help: one phrase for the CLI help and the window's tooltip; ``{special}`` in it
            stands for the minimum's special meaning (``0`` on the CLI, ``special`` in the
            window).
        default: the value when none is given; its type is the option's type.
        minimum, maximum: the valid range of a number (``None``: unbounded).
        step: the window's spin-box step for a float.
        special: the window's text for the minimum (e.g. ``all``, ``auto``), "" for none.
        choices: the valid values of a text option, each with its meaning.
        texts: the window's text for some choices (default: the choice itself).
    """

    name: str
    label: str
    help: str
    default: OptionValue
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    special: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> type:
        """``int``, ``float`` or ``str``: the type of the default."""
        return type(self.default)

    @property
    def flag(self) -> str:
        """The CLI flag, e.g. ``--top-n``."""
        return "--" + self.name.replace("_", "-")

    def describe(self, owners: str, special: str) -> str:
        """The help text, prefixed with the methods that read the option (``owners``) and
        with ``special`` for the ``{special}`` placeholder; the choices' meanings appended."""
        text = self.help.format(special=special)
        if self.choices:
            text += ": " + "; ".join(f"{value}: {meaning}" for value, meaning in self.choices.items())
        return f"{owners}: {text}" if owners else text

    def problem(self, value: Any) -> str:
        """Why ``value`` is not valid, as the end of a sentence; "" when it is."""
        if self.kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                return f"must be one of {', '.join(self.choices)}, not {value!r}"
            return ""
        numeric = Integral if self.kind is int else Real
        if isinstance(value, bool) or not isinstance(value, numeric):
            return f"must be {'a whole number' if self.kind is int else 'a number'}, not {value!r}"
        low = -float("inf") if self.minimum is None else self.minimum
        high = float("inf") if self.maximum is None else self.maximum
        number = float(value)
        if low <= number <= high:
            return ""
        if self.maximum is None:
            return f"must be at least {low:g}, not {number:g}"
        if self.minimum is None:
            return f"must be at most {high:g}, not {number:g}"
        return f"must be from {low:g} to {high:g}, not {number:g}"

    def checked(self, value: Any) -> OptionValue:
        """``value`` as the option's type; ``ConvVizError`` when it is not valid."""
        problem = self.problem(value)
        if problem:
            raise ConvVizError(f"The option {self.name} {problem}.")
        return self.kind(value)


# Options every batched method reads, and the metrics' one (no window widget: CLI only).
GENERAL_OPTIONS = (
    Option("batch_size", "Batch", "images per batch for batched methods ({special}: from the "
           "input size)", 0, minimum=0, special="auto"),
    Option("metric_steps", "Metric steps", "points per deletion/insertion curve", 16, minimum=1),
)

# How a map whose sign means something is drawn: offered by the methods that set
# ``Explainer.sign_default`` ("auto" is that default), read by the figure (``CamResult.sign``).
SIGN = Option("sign", "Sign", "how the map is drawn", "auto", choices={
    "auto": "the method's default (signed for LRP and Integrated Gradients)",
    "positive": "only what speaks for the target, from 0 to its maximum",
    "signed": "for the target in red, against it in blue, around zero",
}, texts={"positive": "positive only"})

# Every declared option by name, with the display names of the methods that read it.
_DECLARED: dict[str, Option] = {option.name: option for option in GENERAL_OPTIONS}
_OWNERS: dict[str, list[str]] = {option.name: [] for option in GENERAL_OPTIONS}


def declare(owner: str, options: tuple[Option, ...]) -> None:
    """Add the options of method ``owner``; an option of the same name must be the same.

    Raises:
        ValueError: another method declared an option of that name differently.
    """
    for option in options:
        known = _DECLARED.get(option.name)
        if known is not None and known != option:
            readers = ", ".join(_OWNERS[option.name]) or "every batched method"
            raise ValueError(f"{owner} declares the option {option.name} unlike {readers}.")
    for option in options:
        _DECLARED[option.name] = option
        owners = _OWNERS.setdefault(option.name, [])
        if owner not in owners:
            owners.append(owner)


def retract(owner: str) -> None:
    """Remove method ``owner``'s claim on its options (those no method reads go)."""
    general = {option.name for option in GENERAL_OPTIONS}
    for name in list(_OWNERS):
        if owner in _OWNERS[name]:
            _OWNERS[name].remove(owner)
            if not _OWNERS[name] and name not in general:
                del _OWNERS[name], _DECLARED[name]


def declared_options() -> list[tuple[Option, str]]:
    """Every option, each with its readers' display names joined ("Score-CAM"; "" for the
    general ones): the methods' in the order they registered, then the general ones."""
    general = {option.name for option in GENERAL_OPTIONS}
    return ([(option, ", ".join(_OWNERS[name])) for name, option in _DECLARED.items()
             if name not in general] + [(option, "") for option in GENERAL_OPTIONS])


class MethodOptions:
    """The option values of a request (each method reads its own); frozen, picklable.

    ``MethodOptions(top_n=8)``; ``options.top_n`` is the value, or the option's declared
    default. Values are checked against the declarations (``ConvVizError`` when invalid);
    values equal to their default are not stored, so equal options compare equal.
    """

    __slots__ = ("_values",)
    _values: tuple[tuple[str, OptionValue], ...]

    def __init__(self, **values: Any) -> None:
        stored = {}
        for name, value in values.items():
            option = _DECLARED.get(name)
            if option is None:
                raise TypeError(f"MethodOptions has no option '{name}'; declared: "
                                f"{', '.join(_DECLARED)}.")
            value = option.checked(value)
            if value != option.default:
                stored[name] = value
        object.__setattr__(self, "_values", tuple(sorted(stored.items())))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _restored, (self._values,)

    def __getattr__(self, name: str) -> Any:  # the declared option's type
        if name.startswith("_"):
            raise AttributeError(name)
        for key, value in self._values:
            if key == name:
                return value
        option = _DECLARED.get(name)
        if option is None:
            raise AttributeError(f"MethodOptions has no option '{name}'")
        return option.default

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("MethodOptions is frozen: use replace().")

    def replace(self, **changes: Any) -> MethodOptions:
        """A copy with ``changes``."""
        return MethodOptions(**{**dict(self._values), **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MethodOptions) and self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"MethodOptions({', '.join(f'{name}={value!r}' for name, value in self._values)})"


def _restored(values: tuple[tuple[str, OptionValue], ...]) -> MethodOptions:
    """Unpickled as sent, unchecked: the receiving process may not know a third-party
    method's option until the request's method is looked up."""
    options = MethodOptions.__new__(MethodOptions)
    object.__setattr__(options, "_values", values)
    return options
