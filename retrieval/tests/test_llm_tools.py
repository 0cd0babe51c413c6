"""Every LLM provider offered ``find_documents`` as a tool, through its own SDK or HTTP
client against a local server speaking its wire protocol: the tool call arrives, runs as
the asker, and its result goes back to the model in that protocol's shape; a malformed
call and a call for a sensitive field by a non-HR asker get a tool error, never an
exception and never the value."""

from __future__ import annotations

import json

import pytest

from knowledge.queries import knowledge_snapshot
from retrieval.llm import Options, ProviderError, Source
from retrieval.llm.tools import TOOL_NAME, Toolbox, tool_spec

from .llm_servers import CHUNKS, MESSAGES
from .test_llm_failures import CASES

PR1 = Source(n=1, key="PR1", doc_type="procedure", title="Yıllık İzin", score=0.9, passages=("…",))


def options(user) -> tuple[Options, Toolbox]:
    sources = [PR1]
    toolbox = Toolbox(user=user, snapshot=knowledge_snapshot(user=user), sources=sources)
    return Options(question="Who knows Kafka?", language="en", max_tokens=200, timeout=2, sources=sources, tools=toolbox), toolbox


def tool_result(case_name: str, request) -> dict:
    """What the provider sent back to the model as the tool's answer."""
    body = request.body
    if case_name == "gemini":
        part = body["contents"][-1]["parts"][0]
        return part["functionResponse"]["response"]["result"]
    [message] = [m for m in body["messages"] if m["role"] == "tool"]
    return json.loads(message["content"])


def offered_tools(case_name: str, request) -> list[str]:
    body = request.body
    if case_name == "gemini":
        return [d["name"] for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]
    return [t["function"]["name"] for t in body.get("tools", [])]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_tool_call_round_trip_answers_with_the_documents_it_found(case, llm_server, alice, company):
    server = llm_server(case.name)
    server.mode = ["tool_call", "ok"]
    opts, toolbox = options(alice)
    assert "".join(case.provider(server.url).stream(MESSAGES, opts)) == "".join(CHUNKS)
    first, second = server.requests
    assert offered_tools(case.name, first) == [TOOL_NAME]
    result = tool_result(case.name, second)
    assert result["total"] == 1 and [d["key"] for d in result["documents"]] == ["E1"]
    # The document found is a source the answer may cite, numbered after the prompt's own.
    assert result["documents"][0]["n"] == 2 and [s.key for s in opts.sources] == ["PR1", "E1"]
    assert "salary" not in result["documents"][0]["fields"]
    assert toolbox.calls == [{"name": TOOL_NAME, "ok": True}]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_malformed_tool_call_gets_a_clear_tool_error(case, llm_server, alice, company):
    server = llm_server(case.name)
    server.mode = ["tool_call", "ok"]
    server.tool_arguments = {"doc_type": "employee", "where": [{"field": "shoe_size", "op": "eq", "value": 42}], "limit": 10**9}
    opts, _ = options(alice)
    assert "".join(case.provider(server.url).stream(MESSAGES, opts)) == "".join(CHUNKS)
    error = tool_result(case.name, server.requests[1])["error"]
    assert "no field shoe_size" in error or "limit" in error


@pytest.mark.parametrize("case", [c for c in CASES if c.name in ("openai", "huggingface")], ids=["openai", "huggingface"])
def test_tool_arguments_that_are_not_json_get_a_tool_error(case, llm_server, alice, company):
    server = llm_server(case.name)
    server.mode = ["tool_call", "ok"]
    server.tool_arguments = '{"doc_type": "employee", "where": ['
    opts, _ = options(alice)
    assert "".join(case.provider(server.url).stream(MESSAGES, opts)) == "".join(CHUNKS)
    assert tool_result(case.name, server.requests[1]) == {"error": "The arguments are not valid JSON."}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_model_asking_for_a_sensitive_field_for_an_employee_is_refused_by_the_tool(case, llm_server, alice, hr_user, company):
    server = llm_server(case.name)
    server.mode = ["tool_call", "ok"]
    server.tool_arguments = {"doc_type": "employee", "where": [{"field": "salary", "op": "gt", "value": 100000}]}
    opts, _ = options(alice)
    list(case.provider(server.url).stream(MESSAGES, opts))
    result = tool_result(case.name, server.requests[1])
    assert result == {"error": "Only HR can see salary; tell the asker so and give no value."}
    assert "210000" not in json.dumps(server.requests[1].body)
    server.requests.clear()
    server.mode = ["tool_call", "ok"]
    opts, _ = options(hr_user)
    list(case.provider(server.url).stream(MESSAGES, opts))
    found = tool_result(case.name, server.requests[1])
    assert [d["key"] for d in found["documents"]] == ["E2"] and found["documents"][0]["fields"]["salary"] == 210000


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_model_that_keeps_calling_tools_must_answer_in_the_end(case, llm_server, alice, company):
    server = llm_server(case.name)
    server.mode = ["tool_call", "tool_call", "tool_call", "ok"]
    opts, _ = options(alice)
    assert "".join(case.provider(server.url).stream(MESSAGES, opts)) == "".join(CHUNKS)
    assert len(server.requests) == 4 and offered_tools(case.name, server.requests[-1]) == []


def test_a_failure_during_a_tool_round_is_a_provider_error(llm_server, alice, company):
    case = CASES[0]
    server = llm_server(case.name)
    server.mode = ["tool_call", "server_error"]
    opts, _ = options(alice)
    with pytest.raises(ProviderError, match="HTTP 500"):
        list(case.provider(server.url).stream(MESSAGES, opts))


def test_unknown_tools_and_arguments_are_tool_errors(alice, company):
    _, toolbox = options(alice)
    assert "Unknown tool" in json.loads(toolbox.call("delete_everything", {}))["error"]
    assert "Unknown arguments: colour" in json.loads(toolbox.call(TOOL_NAME, {"doc_type": "employee", "colour": 1}))["error"]
    assert json.loads(toolbox.call(TOOL_NAME, {"doc_type": "employee", "count_only": True})) == {"total": 3}
    assert "Unknown document type" in json.loads(toolbox.call(TOOL_NAME, {"doc_type": "spaceship"}))["error"]


def test_the_tool_spec_names_every_type():
    spec = tool_spec()
    assert spec["name"] == TOOL_NAME and set(spec["parameters"]["properties"]["doc_type"]["enum"]) == {
        "employee",
        "department",
        "project",
        "procedure",
    }
    fields = spec["parameters"]["properties"]["where"]["items"]["properties"]["field"]["enum"]
    assert {"members", "lead_id", "skills", "salary"} <= set(fields)
