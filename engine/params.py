"""The shape of the parameters of public JSON calls, checked before anything reads them.

A public route receives whatever JSON a client sends: lists where objects are expected,
objects where text is expected, numbers, ``true``, deeply nested arrays, megabyte strings.
:func:`check` compares the parameters with a declared shape and returns the name of the
first one that does not fit. It never raises, never converts (``"1"`` is not an id, ``true``
is not a number) and never descends deeper than the shape, so a nested array costs nothing.

``None`` (the key missing or ``null``) always fits: whether a value is required is the
business code's decision, which answers it in its own words.
"""

from dataclasses import dataclass, field

MAX_ID = 2**31 - 1  # PostgreSQL integer: a larger id would crash the query, not miss


@dataclass(frozen=True)
class Text:
    """A str of at most ``max_length`` characters (only ASCII ones if ``ascii``)."""

    max_length: int = 256
    ascii: bool = False

    def fits(self, value):
        return (
            isinstance(value, str)
            and len(value) <= self.max_length
            and (not self.ascii or value.isascii())
        )


@dataclass(frozen=True)
class Flag:
    """A JSON boolean."""

    def fits(self, value):
        return isinstance(value, bool)


@dataclass(frozen=True)
class Id:
    """A database id: a JSON integer between 1 and :data:`MAX_ID` (never a bool)."""

    def fits(self, value):
        return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


@dataclass(frozen=True)
class AnyOf:
    """One of several shapes."""

    kinds: tuple

    def fits(self, value):
        return any(kind.fits(value) for kind in self.kinds)


@dataclass(frozen=True)
class Mapping:
    """A JSON object of at most ``max_items`` entries, keys and values of the given
    shapes."""

    key: Text = Text()
    value: object = Text()
    max_items: int = 100

    def fits(self, value):
        return (
            isinstance(value, dict)
            and len(value) <= self.max_items
            and all(self.key.fits(key) and self.value.fits(item) for key, item in value.items())
        )


@dataclass(frozen=True)
class Record:
    """A JSON object with known keys, each optional (``None`` fits); other keys are
    refused."""

    fields: dict = field(default_factory=dict)

    def fits(self, value):
        return (
            isinstance(value, dict)
            and set(value) <= set(self.fields)
            and all(item is None or self.fields[key].fits(item) for key, item in value.items())
        )


@dataclass(frozen=True)
class Items:
    """A JSON array of at most ``max_items`` items of one shape."""

    item: object
    max_items: int = 50

    def fits(self, value):
        return (
            isinstance(value, list)
            and len(value) <= self.max_items
            and all(self.item.fits(item) for item in value)
        )


def check(params, shape):
    """Check ``params`` against ``shape``.

    :param dict params: the call's parameters (keys not in ``shape`` are ignored)
    :param dict shape: {name: Text() | Flag() | Id() | AnyOf(...) | Mapping(...) |
        Record(...) | Items(...)}
    :return: ``(values, bad)``: ``values`` holds every name of ``shape`` (None when
        missing); ``bad`` is the first name whose value does not fit, or None
    """
    values = {}
    for name, kind in shape.items():
        value = params.get(name) if isinstance(params, dict) else None
        if value is not None and not kind.fits(value):
            return {}, name
        values[name] = value
    return values, None
