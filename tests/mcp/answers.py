"""A tool's answer, as an assistant reads it: what it returned, or the error it was refused with."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, TextContent


def ok(called: CallToolResult) -> dict[str, Any]:
    assert not called.is_error, called.content
    structured: dict[str, Any] = called.structured_content
    return structured


def refused(called: CallToolResult) -> str:
    assert called.is_error, called
    text = called.content[0]
    assert isinstance(text, TextContent)
    return text.text
