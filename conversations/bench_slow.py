"""``bench chat --provider openai``: the chat under a real model's latency, on one process.

The bench starts a slow OpenAI-compatible model on 127.0.0.1 (``conversations.slowmodel``:
``--first-token-ms`` to the first token, then ``--model-tokens`` tokens at ``--tokens-per-s``),
points one daphne at it, and measures:

1. one answer alone, over a WebSocket: the ideal, since answers that run in parallel each take
   about as long as one;
2. ``--users`` answers at once over WebSockets, one user each;
3. the same number at once over Server-Sent Events (``POST /api/chat/``, API tokens);

and, during 2 and 3, a quick request (``GET /api/conversations/``) every 50 ms. It reports first
token and whole answer percentiles, answers/s, the ratio of each pass's wall time to the ideal,
the quick requests' p99, the server's CPU and memory, and its threads and the model's open
streams after the run (nothing leaked). With ``OPENAI_BASE_URL`` set the bench uses no model of
its own: point it at a real one with ``bench chat --provider openai`` and the usual settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_token_create

from .benchkit import HTTP_SECONDS, Server, bench_index, create_users, database_url, remove_users
from .slowmodel import SlowModel

USERNAME_PREFIX = "bench-slow-"
FULL_NAME = "Slow model benchmark"
TARGET_USERS = 50
TARGET_RATIO = 1.3
TARGET_TTFT_MARGIN_MS = 150
TARGET_QUICK_P99_MS = 200
QUICK_EVERY_SECONDS = 0.05
UNLIMITED = {"RATELIMIT_LOGIN_IP": "1000000/m", "RATELIMIT_USER": "1000000/m"}


def run_slow(command: BaseCommand, *, users: int, first_token_ms: float, tokens_per_s: float, model_tokens: int,
             questions: list[str], as_json: bool) -> None:
    try:
        import aiohttp  # noqa: F401
        import psutil  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        raise CommandError("bench chat --provider openai needs websockets, aiohttp and psutil: "
                           "pip install -r requirements-dev.txt") from None
    SlowBench(command, quiet=as_json).run(users=users, first_token_ms=first_token_ms, tokens_per_s=tokens_per_s,
                                          model_tokens=model_tokens, questions=questions)


class SlowBench:
    def __init__(self, command: BaseCommand, *, quiet: bool) -> None:
        self.stdout, self.stderr, self.quiet = command.stdout, command.stderr, quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            self.stderr.write(text)

    def run(self, *, users: int, first_token_ms: float, tokens_per_s: float, model_tokens: int,
            questions: list[str]) -> None:
        import psutil

        bench_index()
        password = secrets.token_urlsafe(16)
        sessions: list[str] = []
        with tempfile.TemporaryDirectory(prefix="chatcore-bench-") as workdir, \
                SlowModel(first_token_seconds=first_token_ms / 1000, tokens_per_second=tokens_per_s,
                          tokens=model_tokens) as model:
            try:
                accounts = create_users(USERNAME_PREFIX, FULL_NAME, 2 * users + 2, password)
                tokens = [api_token_create(user=user).key for user in accounts[users + 1:]]
                env = {**os.environ, "DATABASE_URL": database_url(), "INDEX_DIR": str(settings.INDEX_DIR),
                       "LLM_PROVIDER": "openai", "OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "bench",
                       "LLM_MODEL": "slow-model", "LLM_FALLBACK_PROVIDER": "none",
                       "LLM_TIMEOUT": str(max(30.0, 4 * model.answer_seconds)),
                       # Room for every bench answer at once (the default is 64 a process).
                       "CHAT_MAX_ANSWERS": str(max(settings.CHAT_MAX_ANSWERS, users + 8)),
                       "CHAT_MAX_ANSWERS_PER_USER": "2", **UNLIMITED}
                with Server(env=env, log=Path(workdir) / "daphne.log") as server:
                    self.say(f"daphne is up on {server.url}, the model on {model.base_url} "
                             f"({first_token_ms:.0f} ms to the first token, then {model_tokens} tokens at "
                             f"{tokens_per_s:g}/s); signing in {users + 1} bench users…")
                    sessions = [server.login(user.username, password) for user in accounts[:users + 1]]
                    process = psutil.Process(server.process.pid)
                    result = asyncio.run(self._measure(server, process, model, sessions, tokens, questions))
                    failed = result["ws"]["errors"] or result["sse"]["errors"]
                    log_tail = server.log_tail(30) if failed else ""
            finally:
                remove_users(USERNAME_PREFIX, FULL_NAME, sessions)
        result.update({"users": users, "first_token_ms": first_token_ms, "tokens_per_s": tokens_per_s,
                       "model_tokens": model_tokens, "model_answer_s": round(model.answer_seconds, 3)})
        result["targets_met"] = _targets(result, first_token_ms)
        if not self.quiet:
            self._table(result)
        if log_tail:
            self.stderr.write(f"The server's log ended with:\n{log_tail}")
        self.stdout.write(json.dumps(result))

    async def _measure(self, server: Server, process, model: SlowModel, sessions: list[str], tokens: list[str],
                       questions: list[str]) -> dict:
        import aiohttp

        client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                       timeout=aiohttp.ClientTimeout(total=HTTP_SECONDS * 4), trust_env=False)
        try:
            alone = await _ws_answer(server, sessions[0], questions[0])
            if alone["error"]:
                raise CommandError(f"The first answer failed: {alone['error']}\n{server.log_tail()}")
            threads_before = process.num_threads()
            ws = await self._pass(process, client, server, tokens[-1],
                                  [_ws_answer(server, s, questions[(n + 1) % len(questions)])
                                   for n, s in enumerate(sessions[1:])])
            sse = await self._pass(process, client, server, tokens[-1],
                                   [_sse_answer(client, server, t, questions[(n + 2) % len(questions)])
                                    for n, t in enumerate(tokens[:-1])])
            # Give the server a moment to let go of what the answers held.
            await asyncio.sleep(1.0)
            leftover = {"server_threads_before": threads_before, "server_threads_after": process.num_threads(),
                        "model_streams_open_after": model.open_streams, "model_streams_closed_early": model.closed_early}
        finally:
            await client.close()
        return {"one_answer_s": round(alone["total_ms"] / 1000, 3), "one_ttft_ms": round(alone["ttft_ms"], 1),
                "ws": _summary(ws, alone["total_ms"]), "sse": _summary(sse, alone["total_ms"]), **leftover}

    async def _pass(self, process, client, server: Server, token: str, asks: list) -> dict:
        stop = asyncio.Event()
        quick: list[float] = []
        rss: list[int] = []

        async def probe() -> None:
            url = f"{server.url}/api/conversations/"
            headers = {"Authorization": f"Token {token}"}
            while not stop.is_set():
                started = time.perf_counter()
                async with client.get(url, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        quick.append((time.perf_counter() - started) * 1000)
                rss.append(process.memory_info().rss)
                await asyncio.sleep(QUICK_EVERY_SECONDS)

        cpu_before = sum(process.cpu_times()[:2])
        prober = asyncio.create_task(probe())
        started = time.perf_counter()
        answers = await asyncio.gather(*asks)
        wall = time.perf_counter() - started
        stop.set()
        await prober
        cpu = sum(process.cpu_times()[:2]) - cpu_before
        return {"answers": answers, "wall_s": wall, "quick_ms": quick, "cpu_percent": round(100 * cpu / wall, 1),
                "rss_mb": round(max(rss, default=process.memory_info().rss) / 2**20, 1)}

    def _table(self, r: dict) -> None:
        out = self.stdout.write
        out(f"bench chat --provider openai: {r['users']} users at once, one process; the model: "
            f"{r['first_token_ms']:.0f} ms to the first token, {r['model_tokens']} tokens at {r['tokens_per_s']:g}/s "
            f"({r['model_answer_s']:.2f} s an answer)")
        out(f"one answer alone: {r['one_answer_s']:.2f} s (first token {r['one_ttft_ms']:.0f} ms): the ideal")
        out("")
        out(f"{'':<12}{'answers':>8}{'errors':>8}{'wall s':>8}{'× ideal':>9}{'ttft p50':>10}{'ttft p95':>10}"
            f"{'total p50':>11}{'total p95':>11}{'answers/s':>11}{'quick p99':>11}{'cpu %':>7}{'rss MB':>8}")
        for key, label in (("ws", "WebSocket"), ("sse", "SSE")):
            p = r[key]
            out(f"{label:<12}{p['answers']:>8}{p['errors']:>8}{p['wall_s']:>8.2f}{p['ratio']:>9.2f}"
                + "".join(f"{p[f]:>10.0f}" if p[f] is not None else f"{'-':>10}" for f in ("ttft_p50_ms", "ttft_p95_ms"))
                + "".join(f"{p[f]:>11.0f}" if p[f] is not None else f"{'-':>11}"
                          for f in ("total_p50_ms", "total_p95_ms"))
                + f"{p['answers_per_s']:>11.2f}"
                + (f"{p['quick_p99_ms']:>11.0f}" if p["quick_p99_ms"] is not None else f"{'-':>11}")
                + f"{p['cpu_percent']:>7.0f}{p['rss_mb']:>8.0f}")
        out("")
        out(f"after the run: server threads {r['server_threads_before']} → {r['server_threads_after']}, "
            f"model streams open {r['model_streams_open_after']}")
        for name, met in r["targets_met"].items():
            out(f"target  {name:<56}{'met' if met else 'MISSED'}")


def _targets(r: dict, first_token_ms: float) -> dict[str, bool]:
    ttft = first_token_ms + TARGET_TTFT_MARGIN_MS
    met = {}
    for key, label in (("ws", "WebSocket"), ("sse", "SSE")):
        p = r[key]
        met[f"{label}: wall ≤ {TARGET_RATIO} × one answer"] = p["errors"] == 0 and p["ratio"] <= TARGET_RATIO
        met[f"{label}: first token p50 ≤ {ttft:.0f} ms"] = p["ttft_p50_ms"] is not None and p["ttft_p50_ms"] <= ttft
        met[f"{label}: quick requests p99 ≤ {TARGET_QUICK_P99_MS} ms"] = (
            p["quick_p99_ms"] is not None and p["quick_p99_ms"] <= TARGET_QUICK_P99_MS)
    met["nothing left open after the run"] = r["model_streams_open_after"] == 0
    return met


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _summary(p: dict, one_ms: float) -> dict:
    done = [a for a in p["answers"] if not a["error"]]
    errors = sorted({a["error"] for a in p["answers"] if a["error"]})
    return {
        "answers": len(done), "errors": len(p["answers"]) - len(done), "error_kinds": errors[:3],
        "wall_s": round(p["wall_s"], 3), "ratio": round(p["wall_s"] * 1000 / one_ms, 2),
        "ttft_p50_ms": _pct([a["ttft_ms"] for a in done], 50), "ttft_p95_ms": _pct([a["ttft_ms"] for a in done], 95),
        "total_p50_ms": _pct([a["total_ms"] for a in done], 50), "total_p95_ms": _pct([a["total_ms"] for a in done], 95),
        "answers_per_s": round(len(done) / p["wall_s"], 2) if p["wall_s"] else 0.0,
        "quick_p99_ms": _pct(p["quick_ms"], 99), "quick_requests": len(p["quick_ms"]),
        "cpu_percent": p["cpu_percent"], "rss_mb": p["rss_mb"],
    }


async def _ws_answer(server: Server, session: str, question: str) -> dict:
    from websockets.asyncio.client import connect

    from .bench import DONE_FRAME, ERROR_FRAME, TOKEN_FRAME

    answer = {"ttft_ms": None, "total_ms": None, "error": ""}
    try:
        async with connect(f"{server.ws_url}/ws/chat/new/", origin=server.url, proxy=None, open_timeout=HTTP_SECONDS,
                           additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}) as ws:
            started = time.perf_counter()
            await ws.send(json.dumps({"message": question}))
            while True:
                frame = await asyncio.wait_for(ws.recv(), timeout=HTTP_SECONDS * 4)
                elapsed = (time.perf_counter() - started) * 1000
                error = ERROR_FRAME.search(frame)
                if error and error.group(1).strip():
                    answer["error"] = f"the server said: {error.group(1).strip()}"
                    return answer
                token = TOKEN_FRAME.search(frame)
                if answer["ttft_ms"] is None and token and token.group(1).strip():
                    answer["ttft_ms"] = elapsed
                if DONE_FRAME.search(frame):
                    answer["total_ms"] = elapsed
                    if answer["ttft_ms"] is None:
                        answer["error"] = "the answer finished without any text"
                    return answer
    except Exception as exc:  # refused, closed, timed out: each counts as an error
        answer["error"] = f"{exc.__class__.__name__}: {exc}"
        return answer


async def _sse_answer(client, server: Server, token: str, question: str) -> dict:
    answer = {"ttft_ms": None, "total_ms": None, "error": ""}
    started = time.perf_counter()
    try:
        async with client.post(f"{server.url}/api/chat/", json={"message": question},
                               headers={"Authorization": f"Token {token}", "Accept": "text/event-stream"}) as response:
            if response.status != 200:
                answer["error"] = f"HTTP {response.status}: {(await response.text())[:200]}"
                return answer
            event = ""
            async for raw in response.content:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    elapsed = (time.perf_counter() - started) * 1000
                    if event == "token" and answer["ttft_ms"] is None and json.loads(line[6:]).get("text", "").strip():
                        answer["ttft_ms"] = elapsed
                    elif event == "error":
                        answer["error"] = f"error event: {line[6:200]}"
                        return answer
                    elif event == "done":
                        answer["total_ms"] = elapsed
                        if answer["ttft_ms"] is None:
                            answer["error"] = "the answer finished without any text"
                        return answer
        answer["error"] = "the stream ended without a done event"
    except Exception as exc:  # noqa: BLE001
        answer["error"] = f"{exc.__class__.__name__}: {exc}"
    return answer
