"""Types of the optional C accelerator built from ``_xmlpath.c`` (see setup.py)."""

from typing import Any

def extract(
    elements: list[Any],
    specs: list[tuple[int, tuple[str, ...], str | None]],
    namespace: str,
    element_type: type,
) -> list[list[Any]]: ...

def layout_ok(element: Any, name: str, element_type: type) -> bool: ...
