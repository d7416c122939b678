"""Typed, immutable records that cost next to nothing to define.

``class User(Record)`` with annotated fields (and defaults) reads as a
``typing.NamedTuple``, and to mypy it is one. At run time it is a plain tuple
subclass built by :class:`_RecordType`: ``typing`` (which brings ``re`` and
more) costs more to import than a whole ``show``, and each ``NamedTuple`` class
costs half a millisecond to define under string annotations; these cost a few
microseconds. A record has what the code uses of a named tuple: positional and
keyword construction, defaults, ``_fields``, ``_field_defaults``, ``_replace``,
``_asdict``, tuple equality and unpacking. Fields are not inherited: a record
class derives from ``Record`` directly.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    from operator import itemgetter

    class _RecordType(type):
        def __new__(mcls, name, bases, namespace):
            if not bases or bases == (tuple,):
                return super().__new__(mcls, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = {f: namespace.pop(f) for f in fields if f in namespace}
            namespace["__slots__"] = ()
            namespace["_fields"] = fields
            namespace["_field_defaults"] = defaults
            for i, f in enumerate(fields):
                namespace[f] = property(itemgetter(i), doc=f"{name}.{f}")
            return super().__new__(mcls, name, bases, namespace)

    class Record(tuple, metaclass=_RecordType):
        __slots__ = ()
        _fields: tuple = ()
        _field_defaults: dict = {}

        def __new__(cls, *args, **kwargs):
            fields = cls._fields
            if len(args) == len(fields) and not kwargs:
                return tuple.__new__(cls, args)
            if len(args) > len(fields):
                raise TypeError(f"{cls.__name__} takes {len(fields)} values, not {len(args)}")
            values = list(args)
            defaults = cls._field_defaults
            for f in fields[len(args):]:
                if f in kwargs:
                    values.append(kwargs.pop(f))
                elif f in defaults:
                    values.append(defaults[f])
                else:
                    raise TypeError(f"{cls.__name__} needs a value for {f!r}")
            if kwargs:
                raise TypeError(f"{cls.__name__} has no field {next(iter(kwargs))!r}")
            return tuple.__new__(cls, values)

        def _replace(self, **changes):
            values = [changes.pop(f, v) for f, v in zip(self._fields, self, strict=True)]
            if changes:
                raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
            return tuple.__new__(type(self), values)

        def _asdict(self):
            return dict(zip(self._fields, self, strict=True))

        def __repr__(self):
            inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self, strict=True))
            return f"{type(self).__name__}({inner})"

        def __getnewargs__(self):
            return tuple(self)

__all__ = ["Record"]
