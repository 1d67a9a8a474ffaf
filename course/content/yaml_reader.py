"""YAML with line numbers, in one pass over the parser's events.

`YamlReader().read(text)` gives the data PyYAML's safe loader would give, the line of every place in it (a path of keys
and list indexes), duplicate keys and stray tokens; or, for a text that is not YAML, the one reason why. It does
without PyYAML's node tree (composing it was most of the time of reading a large course), so it composes
what the content needs itself: anchors and aliases, merge keys (`<<`), explicit tags on scalars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent, StreamEndEvent

from course.content.documents import STRAY_TOKEN

# libyaml's parser when PyYAML was built with it (its wheels are), else the pure-Python one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Plain scalars read as text: strings, and `=` (YAML 1.1's "value" key, which PyYAML reads as text in a key).
_TEXT_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:value"}
_COLLECTION_TAGS = {MappingStartEvent: "tag:yaml.org,2002:map", yaml.SequenceStartEvent: "tag:yaml.org,2002:seq"}
_UNSEEN = object()  # a plain scalar's text not resolved yet


@dataclass
class YamlText:
    """What a YAML text holds. `readable` is False for a text that is not YAML: `problems` then says why, and
    `data` and `lines` are empty."""

    data: Any = None
    lines: dict[tuple, int] = field(default_factory=dict)  # path (keys and list indexes) → line
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    readable: bool = True


class YamlReader:
    """Reads YAML texts. It remembers the value of each plain scalar's text (`75`, `true`, an id …) across the
    texts it reads: finding a text's type is the slowest step of reading a scalar, and most texts repeat."""

    def __init__(self) -> None:
        self.plain_values: dict[str, Any] = {}

    def read(self, text: str, line_offset: int = 0) -> YamlText:
        """Read one YAML document; `line_offset` is added to every line (front matter below a `---` line)."""
        try:
            loader = _Loader(text)  # the pure-Python reader checks the characters here already
        except yaml.YAMLError as exc:
            return _unreadable(_error_line(exc) + line_offset, _error_reason(exc))
        reader = _EventReader(loader, line_offset, self.plain_values)
        try:
            data = reader.document()
        except yaml.YAMLError as exc:  # a syntax error, found by the parser
            return _unreadable(_error_line(exc) + line_offset, _error_reason(exc))
        except _NotReadable as exc:  # found composing: an undefined alias, a second document, an unknown tag …
            return _unreadable(exc.line, exc.reason)
        finally:
            loader.dispose()
        return YamlText(data, reader.lines, reader.problems)


def _unreadable(line: int, reason: str) -> YamlText:
    return YamlText(problems=[(line, f"invalid YAML: {reason}")], readable=False)


def _error_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark else 1


def _error_reason(exc: yaml.YAMLError) -> str:
    return getattr(exc, "problem", None) or str(exc)


class _NotReadable(Exception):
    """The text is YAML the parser reads, but its nodes cannot be composed into data: the line and the reason."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "a scalar"


@dataclass
class _Anchored:
    """A node with an anchor (`&name`): its value, the lines of the places inside it relative to it, and its
    text when it is a scalar (so that an alias can be a key)."""

    value: Any
    lines: dict[tuple, int]
    text: str | None


class _EventReader:
    """Builds the data and the line map from the parser's events as they come.

    Each node's own line is recorded by its container (a key's line for a mapping's value, the item's line
    for a list item); the readers below record the places inside it. Scalars without anchor or tag, nearly
    every event, are read inline in the loops of `mapping` and `sequence`."""

    def __init__(self, loader: Any, line_offset: int, plain_values: dict[str, Any]):
        self.loader = loader
        self.get_event = loader.get_event
        self.offset = line_offset + 1  # marks count lines from 0
        self.lines: dict[tuple, int] = {}
        self.problems: list[tuple[int, str]] = []
        self.anchors: dict[str, _Anchored] = {}
        self.plain_values = plain_values  # text → value: a plain scalar's value depends on its text only

    def line(self, event: Any) -> int:
        return event.start_mark.line + self.offset

    def document(self) -> Any:
        self.get_event()  # the stream's start
        if type(self.get_event()) is StreamEndEvent:  # no document at all: an empty or comment-only text
            return None
        root = self.get_event()
        self.lines[()] = self.line(root)
        data = self.node(root, ())
        self.get_event()  # the document's end
        after = self.get_event()
        if type(after) is not StreamEndEvent:
            raise _NotReadable(self.line(after), "expected a single document in the stream, but found another document")
        return data

    def node(self, event: Any, path: tuple) -> Any:
        """Any node, its start `event` just read; the places inside it are recorded under `path`."""
        if type(event) is AliasEvent:
            anchored = self.anchors.get(event.anchor)
            if anchored is None:
                raise _NotReadable(self.line(event), "found undefined alias")
            self.replay(anchored.lines, path)
            return anchored.value
        if event.anchor is None:
            return self.content(event, path)
        if event.anchor in self.anchors:
            raise _NotReadable(self.line(event), f"found duplicate anchor {event.anchor!r}")
        # Read with lines relative to the anchored node, so that each alias can replay them under its own path.
        outer, self.lines = self.lines, {}
        value = self.content(event, ())
        relative, self.lines = self.lines, outer
        text = event.value if type(event) is ScalarEvent else None
        self.anchors[event.anchor] = _Anchored(value, relative, text)
        self.replay(relative, path)
        return value

    def replay(self, relative: dict[tuple, int], path: tuple) -> None:
        for place, line in relative.items():
            self.lines.setdefault((*path, *place), line)

    def content(self, event: Any, path: tuple) -> Any:
        """A node without anchor: a scalar, or a mapping or list up to its end."""
        kind = type(event)
        if kind is ScalarEvent:
            return self.scalar(event)
        if event.tag not in (None, "!", _COLLECTION_TAGS[kind]):
            raise _NotReadable(self.line(event), f"the tag {event.tag!r} is not supported here")
        return self.mapping(path) if kind is MappingStartEvent else self.sequence(path)

    def scalar(self, event: ScalarEvent) -> Any:
        text = event.value
        if "<|" in text:
            self.stray_tokens(event)
        tag = event.tag
        if tag is None or tag == "!":
            return self.plain(event) if event.implicit[0] else text
        return self.construct(tag, event)

    def plain(self, event: ScalarEvent) -> Any:
        """A plain (unquoted) scalar's value: its type comes from its text (`75`, `true`, `2024-05-01`, …)."""
        value = self.plain_values.get(event.value, _UNSEEN)
        if value is _UNSEEN:
            tag = self.loader.resolve(yaml.ScalarNode, event.value, (True, False))
            value = event.value if tag in _TEXT_TAGS else self.construct(tag, event)
            self.plain_values[event.value] = value
        return value

    def construct(self, tag: str, event: ScalarEvent) -> Any:
        """A scalar of `tag`, by the safe loader's constructor for it."""
        constructor = self.loader.yaml_constructors.get(tag)
        if constructor is None:
            raise _NotReadable(self.line(event), f"could not determine a constructor for the tag {tag!r}")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return constructor(self.loader, node)
        except Exception as exc:  # e.g. `!!int ten` or a date 2024-13-45: each constructor fails its own way
            raise _NotReadable(self.line(event), f"cannot read {event.value!r} as {tag}: {exc}") from None

    def stray_tokens(self, event: ScalarEvent) -> None:
        if token := STRAY_TOKEN.search(event.value):
            self.problems.append((self.line(event), f"stray token {token.group(0)!r}"))

    def mapping(self, path: tuple) -> dict:
        get_event, lines, plain_values, offset = self.get_event, self.lines, self.plain_values, self.offset
        mapping: dict[Any, Any] = {}
        merged: list[tuple[dict, dict[tuple, int]]] = []  # the mappings named by `<<`, with their lines
        while True:
            event = get_event()
            if type(event) is MappingEndEvent:
                break
            if type(event) is ScalarEvent and event.anchor is None and event.tag is None:
                text = event.value
                if not event.implicit[0]:
                    key = text  # quoted
                elif text == "<<":
                    merged += self.merge_value()
                    continue
                elif (key := plain_values.get(text, _UNSEEN)) is _UNSEEN:
                    key = self.plain(event)
            else:
                text, key = self.unusual_key(event)
            line = event.start_mark.line + offset
            key_path = (*path, text)
            lines[key_path] = line
            event = get_event()
            if type(event) is ScalarEvent and event.anchor is None and event.tag is None:
                value = event.value
                if "<|" in value:
                    self.stray_tokens(event)
                if event.implicit[0] and (value := plain_values.get(value, _UNSEEN)) is _UNSEEN:
                    value = self.plain(event)
            else:
                value = self.node(event, key_path)
            size = len(mapping)
            mapping[key] = value
            if len(mapping) == size:  # the key was there already
                self.problems.append((line, f"duplicate key `{text}`"))
        return self.merge(mapping, merged, path) if merged else mapping

    def unusual_key(self, event: Any) -> tuple[str, Any]:
        """A key with an anchor or a tag, or an alias: its text (for its path) and its value. Only a scalar can be
        a key: PyYAML calls a mapping or a list "unhashable"."""
        if type(event) is ScalarEvent:
            return event.value, self.node(event, ())
        if type(event) is AliasEvent:
            value = self.node(event, ())  # an undefined alias is reported as such
            if (text := self.anchors[event.anchor].text) is not None:
                return text, value
        raise _NotReadable(self.line(event), "found unhashable key")

    def merge_value(self) -> list[tuple[dict, dict[tuple, int]]]:
        """The mappings a merge key (`<<`) names, each with the lines of its places: a mapping, or a list of them."""
        event = self.get_event()
        outer, self.lines = self.lines, {}
        value = self.node(event, ())
        relative, self.lines = self.lines, outer
        if isinstance(value, dict):
            return [(value, relative)]
        if not isinstance(value, list):
            reason = f"expected a mapping or list of mappings for merging, but found {_kind(value)}"
            raise _NotReadable(self.line(event), reason)
        sources = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                line = relative.get((index,), self.line(event))
                raise _NotReadable(line, f"expected a mapping for merging, but found {_kind(item)}")
            sources.append((item, {place[1:]: line for place, line in relative.items() if place[:1] == (index,)}))
        return sources

    def merge(self, mapping: dict, merged: list[tuple[dict, dict[tuple, int]]], path: tuple) -> dict:
        """`mapping` with the keys of the merged mappings it does not have itself; the first to have a key wins."""
        result: dict[Any, Any] = {}
        for source, _lines in merged:
            for key, value in source.items():
                if key not in mapping:
                    result.setdefault(key, value)
        own = {place[0] for _source, lines in merged for place in lines if place and (*path, place[0]) in self.lines}
        for _source, lines in merged:
            self.replay({place: line for place, line in lines.items() if place and place[0] not in own}, path)
        result.update(mapping)
        return result

    def sequence(self, path: tuple) -> list:
        get_event, lines, plain_values, offset = self.get_event, self.lines, self.plain_values, self.offset
        items: list[Any] = []
        while True:
            event = get_event()
            if type(event) is SequenceEndEvent:
                return items
            item_path = (*path, len(items))
            lines.setdefault(item_path, event.start_mark.line + offset)
            if type(event) is ScalarEvent and event.anchor is None and event.tag is None:
                value = event.value
                if "<|" in value:
                    self.stray_tokens(event)
                if event.implicit[0] and (value := plain_values.get(value, _UNSEEN)) is _UNSEEN:
                    value = self.plain(event)
            else:
                value = self.node(event, item_path)
            items.append(value)
