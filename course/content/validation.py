"""A file's data against its schema: every error reported at its line, and what can still be read of the rest."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from course.content.documents import Report
from course.content.schema import lenient, stand_in, with_unread

Spec = TypeVar("Spec", bound=BaseModel)


def validate(model: type[Spec], data: Any, path: Path, lines: dict[tuple, int], report: Report) -> Spec:
    """The file's spec. A schema error does not stop the reading: every one is reported, and the rest of the
    file is still read (`_salvage`) so that the other rules run on it too, in the same pass."""
    if not isinstance(data, dict):
        report(path, lines.get((), 1), "expected a mapping of fields (key: value)")
        return stand_in(model)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    for error in errors:
        report(path, line_for(lines, tuple(error["loc"])), describe(error))
    return _salvage(model, data, errors)


def line_for(lines: dict[tuple, int], loc: tuple) -> int:
    """The line of the deepest known part of `loc`."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1


def describe(error: dict) -> str:
    loc = error["loc"]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    kind = error["type"]
    if kind == "missing":
        return f"`{where}` is required"
    if kind == "extra_forbidden":
        return f"unknown field `{where}`"
    if kind == "string_pattern_mismatch":
        return f"`{where}` must be 1–64 lowercase letters, digits and '-' (got {error['input']!r})"
    if kind == "literal_error":
        return f"`{where}`: {error['msg'].replace('Input should be', 'should be')} (got {error['input']!r})"
    return f"`{where}`: {error['msg']}" if where else error["msg"]


def _salvage(model: type[Spec], data: dict, errors: list[Any]) -> Spec:
    """What can be read of `data` despite its schema `errors`: the wrong values are left out (a wrong optional
    field takes its default, a required one is None, a list item that is not a mapping becomes an empty one so
    that the items after it keep their places and lines) and their places recorded as unreadable."""
    data = copy.deepcopy(data)
    unread: set[tuple] = set()
    wrong: dict[tuple, bool] = {}  # place → keep its place in a list (an item that should be a mapping)
    for error in errors:
        loc, kind = tuple(error["loc"]), error["type"]
        if kind == "extra_forbidden":  # ignored; nothing else depends on it
            wrong[loc] = False
        elif kind == "missing":
            unread.add(loc)
        elif place := _deepest(data, loc):
            unread.add(place)
            wrong[place] = kind in ("model_type", "model_attributes_type", "dict_type")
    # Deepest and last first, so that removing an item does not move what is still to be removed.
    for place in sorted(wrong, key=lambda p: [(isinstance(part, int), part) for part in p], reverse=True):
        parent = _deepest(data, place[:-1])
        if parent != place[:-1]:
            continue  # already gone with its container
        container = _at(data, parent)
        if isinstance(container, list) and wrong[place]:
            container[place[-1]] = {}
        else:
            del container[place[-1]]
    try:
        spec = lenient(model).model_validate(data)
    except ValidationError:  # not expected: every wrong value was left out
        return stand_in(model)
    return with_unread(spec, frozenset(unread))


def _deepest(data: Any, loc: tuple) -> tuple:
    """The longest start of `loc` that is a place in `data`."""
    place: list = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            break
        place.append(part)
    return tuple(place)


def _at(data: Any, place: tuple) -> Any:
    for part in place:
        data = data[part]
    return data
