"""The front matter as YAML source: where a key is in the file (for a problem's line number),
keys given twice, the line an FAQ answer's markdown starts after, and the safe loader that
keeps dates as text. loader.py's parse_file() uses them.
"""

from __future__ import annotations

import yaml


def node_line(node: yaml.Node | None, loc: tuple, default: int) -> int:
    """The file line of the YAML node at `loc` (a pydantic error location)."""
    line = default
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if key.value == part:
                    found = key if value is None else value
                    line = key.start_mark.line + 1
                    break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def duplicate_keys(node: yaml.Node | None) -> list[tuple[str, int]]:
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if key.value in seen:
                found.append((key.value, key.start_mark.line + 1))
            seen.add(key.value)
            found += duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += duplicate_keys(item)
    return found


def answer_offset(tree: yaml.Node | None, category: int, item: int) -> int:
    """File line just before the answer's first markdown line."""
    node = tree
    for part in ("faq", category, "items", item, "answer"):
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return 1
    if not isinstance(node, yaml.ScalarNode):
        return 1
    # a block scalar (`answer: |`) starts on the next line; a plain one on the key's line
    return node.start_mark.line + 1 if node.style in ("|", ">") else node.start_mark.line


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but dates stay text: the schema parses them and names the key
    and line of an impossible one (PyYAML would raise on 2026-13-01 and hide every other error)."""


YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
