"""The structured queries offered to generative models as a tool.

``find_documents`` lets a model ask for documents of a type that meet field
conditions (and follow links, count, sort) the way the exact answers do. The call
runs as the asker: only documents they may see, sensitive fields refused for
non-HR askers by the query layer itself, whatever the prompt says. Every document
a call returns becomes a numbered source the answer may cite, after the ones the
prompt already holds. A bad call (unknown tool, broken JSON, unknown field,
wrong value, huge limit) is answered with a clear error for the model to read,
never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chatcore.parsers import loads_strict
from knowledge.doctypes import DOC_TYPES
from knowledge.queries import OPERATORS, Condition, QueryError, SensitiveFieldError, Snapshot, find_documents

from .base import Source

TOOL_NAME = "find_documents"
TOOL_LIMIT = 25  # documents returned to the model per call; "total" still counts them all
MAX_ROUNDS = 3  # model turns that may call tools before it must answer


def tool_spec() -> dict:
    """The tool as JSON Schema (OpenAI, Azure, TGI and Ollama take it as it is; Gemini too)."""
    fields = sorted({f.name for t in DOC_TYPES.values() for f in t.fields})
    return {
        "name": TOOL_NAME,
        "description": (
            "Find company documents (employees, departments, projects, procedures) of one type whose fields meet "
            "every condition. Links hold document keys: find the projects someone works on with "
            "{field: members, op: links, value: E001}, a department's people with {field: department_id, op: links, "
            "value: D01}. Returns the total and the documents with their fields and citation numbers [n]. "
            "Fields per type: " + "; ".join(f"{t.name}: {', '.join(f.name for f in t.fields)}" for t in DOC_TYPES.values()) + "."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "doc_type": {"type": "string", "enum": list(DOC_TYPES)},
                "where": {
                    "type": "array",
                    "description": "Conditions, all of which must hold.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string", "enum": fields},
                            "op": {
                                "type": "string",
                                "enum": list(OPERATORS),
                                "description": "eq: same text; has: list item or word of a text; links: points "
                                "at a key; year/before/after: dates; gt/lt: numbers.",
                            },
                            "value": {"description": "Text, number, key or year; a list matches any of them."},
                            "not": {"type": "boolean", "description": "Documents that do NOT meet it."},
                        },
                        "required": ["field", "op", "value"],
                    },
                },
                "keys": {"type": "array", "items": {"type": "string"}, "description": "Only these documents."},
                "order_by": {"type": "string", "description": "A field to sort by; '-' before it for descending."},
                "limit": {"type": "integer", "minimum": 0, "maximum": TOOL_LIMIT},
                "count_only": {"type": "boolean", "description": "Only the number of matching documents."},
            },
            "required": ["doc_type"],
        },
    }


@dataclass
class Toolbox:
    """The asker's tools for one answer. ``sources`` is the answer's list of
    citable sources: documents the calls return are appended to it."""

    user: Any
    snapshot: Snapshot
    sources: list[Source]
    calls: list[dict] = field(default_factory=list)

    @property
    def specs(self) -> list[dict]:
        return [tool_spec()]

    def call(self, name: str, arguments: Any) -> str:
        """The tool's answer as JSON text: the result, or ``{"error": …}``."""
        result = self._run(name, arguments)
        self.calls.append({"name": name, "ok": "error" not in result})
        return json.dumps(result, ensure_ascii=False)

    def _run(self, name: str, arguments: Any) -> dict:
        if name != TOOL_NAME:
            return {"error": f"Unknown tool {name!r}; the only tool is {TOOL_NAME}."}
        if isinstance(arguments, str):
            try:
                arguments = loads_strict(arguments or "{}")
            except ValueError:
                return {"error": "The arguments are not valid JSON."}
        if not isinstance(arguments, dict):
            return {"error": "The arguments must be a JSON object."}
        unknown = set(arguments) - {"doc_type", "where", "keys", "order_by", "limit", "count_only"}
        if unknown:
            return {"error": f"Unknown arguments: {', '.join(sorted(unknown))}."}
        where = arguments.get("where") or []
        if not isinstance(where, list) or not all(isinstance(c, dict) for c in where):
            return {"error": "'where' must be a list of {field, op, value} objects."}
        conditions = []
        for item in where:
            if set(item) - {"field", "op", "value", "not"} or not {"field", "op", "value"} <= set(item):
                return {"error": "Each condition needs field, op and value (and may have not)."}
            conditions.append(Condition(str(item["field"]), str(item["op"]), item["value"], negate=bool(item.get("not"))))
        limit = arguments.get("limit", TOOL_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            return {"error": "'limit' must be a whole number ≥ 0."}
        keys = arguments.get("keys")
        if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
            return {"error": "'keys' must be a list of document keys."}
        try:
            result = find_documents(
                user=self.user,
                doc_type=str(arguments.get("doc_type", "")),
                where=conditions,
                keys=keys,
                order_by=str(arguments.get("order_by") or ""),
                limit=min(limit, TOOL_LIMIT),
                snapshot=self.snapshot,
            )
        except SensitiveFieldError as exc:
            return {"error": f"Only HR can see {', '.join(exc.fields)}; tell the asker so and give no value."}
        except QueryError as exc:
            return {"error": str(exc)}
        if arguments.get("count_only"):
            return {"total": result.total}
        documents = []
        for record in result.records:
            documents.append(
                {
                    "n": self._cite(record),
                    "key": record.key,
                    "type": record.doc_type,
                    "title": record.title,
                    "fields": self.snapshot.shown_body(record),
                }
            )
        return {"total": result.total, "returned": len(documents), "documents": documents}

    def _cite(self, record) -> int:
        for source in self.sources:
            if source.key == record.key:
                return source.n
        from knowledge.doctypes import get_doctype

        text = get_doctype(record.doc_type).as_text(self.snapshot.shown_body(record), hr=True)  # the asker's view
        n = max((s.n for s in self.sources), default=0) + 1
        self.sources.append(
            Source(n=n, key=record.key, doc_type=record.doc_type, title=record.title, score=1.0, passages=(text,))
        )
        return n


def openai_tool_rounds(messages: list[dict], options, one_round) -> Iterator[str]:
    """The tool loop of the APIs that speak OpenAI's chat completions (OpenAI, Azure, TGI):
    ``one_round(messages, options, specs, calls)`` streams one answer's text and gathers its
    tool calls by index; each call runs, its result goes back as a ``tool`` message, and the
    last round offers no tools, so the model must answer."""
    messages = list(messages)
    tools = options.tools
    for round_ in range(MAX_ROUNDS + 1):
        offered = tools is not None and round_ < MAX_ROUNDS
        calls: dict[int, dict] = {}
        yield from one_round(messages, options, tools.specs if offered else None, calls)
        if not calls or not offered:
            return
        ordered = [calls[i] for i in sorted(calls)]
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": c["id"] or f"call_{i}",
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for i, c in enumerate(ordered)
                ],
            }
        )
        for i, c in enumerate(ordered):
            messages.append(
                {"role": "tool", "tool_call_id": c["id"] or f"call_{i}", "content": tools.call(c["name"], c["arguments"])}
            )


__all__ = ["MAX_ROUNDS", "TOOL_LIMIT", "TOOL_NAME", "Toolbox", "openai_tool_rounds", "tool_spec"]
