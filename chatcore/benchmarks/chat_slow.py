"""``bench chat --provider openai``: the chat under a real model's latency, on one process.

The bench starts a slow OpenAI-compatible model on 127.0.0.1 in a process of its own
(``chatcore.benchmarks.slowmodel``: ``--first-token-ms`` to the first token, then ``--model-tokens``
tokens at ``--tokens-per-s``), points one daphne at it, and measures:

1. after a warm-up answer (the server's first one loads what it needs), one answer alone over a
   WebSocket: the ideal, since answers that run in parallel each take about as long as one;
2. ``--users`` answers at once over WebSockets, one user each: the sockets open first, as the
   chat pages hold them open before anyone asks, then everyone asks at the same moment;
3. the same number at once over Server-Sent Events (``POST /api/chat/``, API tokens), each a new
   request sent at the same moment;
4. as many users who each close their socket at their answer's first token: every model stream
   must be closed early and every partial answer stored, marked incomplete;
5. one user asking on ``--sockets`` sockets at once: ``CHAT_MAX_ANSWERS_PER_USER`` answers, a
   "busy" message on every other socket;

and, during 2 and 3, a quick request (``GET /api/conversations/``) every 50 ms. It reports first
token and whole answer percentiles, answers/s, the ratio of each pass's wall time to the ideal,
the quick requests' p99, the server's CPU and memory, and — once the server has been idle for
its ``THREAD_IDLE_SECONDS`` — its threads, TCP connections and the model's open streams, which
must be back where they were before the passes (nothing leaked).
"""

from __future__ import annotations

import asyncio
import contextlib
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

from .kit import HTTP_SECONDS, Server, bench_index, create_users, database_url, remove_users
from .slowmodel import SlowModelProcess

USERNAME_PREFIX = "bench-slow-"
FULL_NAME = "Slow model benchmark"
TARGET_USERS = 50
TARGET_RATIO = 1.3
TARGET_TTFT_MARGIN_MS = 150
TARGET_QUICK_P99_MS = 200
QUICK_EVERY_SECONDS = 0.05
# The server's idle threads end after this long, so the bench can see it back at rest.
IDLE_SECONDS = 2
PER_USER = 2  # the server's CHAT_MAX_ANSWERS_PER_USER in the bench
REST_WAIT_SECONDS = 20
UNLIMITED = {"RATELIMIT_LOGIN_IP": "1000000/m", "RATELIMIT_USER": "1000000/m"}


def run_slow(
    command: BaseCommand,
    *,
    users: int,
    sockets: int,
    first_token_ms: float,
    tokens_per_s: float,
    model_tokens: int,
    questions: list[str],
    as_json: bool,
) -> None:
    try:
        import aiohttp  # noqa: F401
        import psutil  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        raise CommandError(
            "bench chat --provider openai needs websockets, aiohttp and psutil: pip install -r requirements-dev.txt"
        ) from None
    SlowBench(command, quiet=as_json).run(
        users=users,
        sockets=sockets,
        first_token_ms=first_token_ms,
        tokens_per_s=tokens_per_s,
        model_tokens=model_tokens,
        questions=questions,
    )


class SlowBench:
    def __init__(self, command: BaseCommand, *, quiet: bool) -> None:
        self.stdout, self.stderr, self.quiet = command.stdout, command.stderr, quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            self.stderr.write(text)

    def run(
        self, *, users: int, sockets: int, first_token_ms: float, tokens_per_s: float, model_tokens: int, questions: list[str]
    ) -> None:
        import psutil

        bench_index()
        password = secrets.token_urlsafe(16)
        sessions: list[str] = []
        with (
            tempfile.TemporaryDirectory(prefix="chatcore-bench-") as workdir,
            SlowModelProcess(
                first_token_seconds=first_token_ms / 1000, tokens_per_second=tokens_per_s, tokens=model_tokens
            ) as model,
        ):
            try:
                accounts = create_users(USERNAME_PREFIX, FULL_NAME, 2 * users + 2, password)
                tokens = [api_token_create(user=user).key for user in accounts[users + 1 :]]
                env = {
                    **os.environ,
                    "DATABASE_URL": database_url(),
                    "INDEX_DIR": str(settings.INDEX_DIR),
                    "LLM_PROVIDER": "openai",
                    "OPENAI_BASE_URL": model.base_url,
                    "OPENAI_API_KEY": "bench",
                    "LLM_MODEL": "slow-model",
                    "LLM_FALLBACK_PROVIDER": "none",
                    "LLM_TIMEOUT": str(max(30.0, 4 * model.answer_seconds)),
                    # Room for every bench answer at once (the default is 64 a process).
                    "CHAT_MAX_ANSWERS": str(max(settings.CHAT_MAX_ANSWERS, users + 8)),
                    "CHAT_MAX_ANSWERS_PER_USER": str(PER_USER),
                    "THREAD_IDLE_SECONDS": str(IDLE_SECONDS),
                    **UNLIMITED,
                }
                with Server(env=env, log=Path(workdir) / "daphne.log") as server:
                    self.say(
                        f"daphne is up on {server.url}, the model on {model.base_url} "
                        f"({first_token_ms:.0f} ms to the first token, then {model_tokens} tokens at "
                        f"{tokens_per_s:g}/s); signing in {users + 1} bench users…"
                    )
                    sessions = [server.login(user.username, password) for user in accounts[: users + 1]]
                    process = psutil.Process(server.process.pid)
                    result = asyncio.run(self._measure(server, process, model, sessions, tokens, questions, sockets=sockets))
                    failed = result["ws"]["errors"] or result["sse"]["errors"]
                    log_tail = server.log_tail(30) if failed else ""
            finally:
                remove_users(USERNAME_PREFIX, FULL_NAME, sessions)
        result.update(
            {
                "users": users,
                "first_token_ms": first_token_ms,
                "tokens_per_s": tokens_per_s,
                "model_tokens": model_tokens,
                "model_answer_s": round(model.answer_seconds, 3),
            }
        )
        result["targets_met"] = _targets(result, first_token_ms)
        if not self.quiet:
            self._table(result)
        if log_tail:
            self.stderr.write(f"The server's log ended with:\n{log_tail}")
        self.stdout.write(json.dumps(result))

    async def _measure(
        self,
        server: Server,
        process,
        model: SlowModelProcess,
        sessions: list[str],
        tokens: list[str],
        questions: list[str],
        *,
        sockets: int,
    ) -> dict:
        import aiohttp

        client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=HTTP_SECONDS * 4), trust_env=False
        )
        ask = lambda n: questions[n % len(questions)]  # noqa: E731 - each pass asks new questions: no cache hits
        users = len(sessions) - 1
        try:
            # The server's first answer loads the model's client, the embedder and the index: not the ideal.
            cold = await _ws_answer(server, sessions[0], ask(-1))
            # A few at once over both paths start what libraries start once per process (thread pools of
            # the tokenizer and the linear algebra), so what is left after the passes is theirs to explain.
            few = min(4, users)
            warm = await asyncio.gather(
                *(_ws_answer(server, s, ask(-2 - n)) for n, s in enumerate(sessions[1 : few + 1])),
                *(_sse_answer(client, server, t, ask(-2 - few - n)) for n, t in enumerate(tokens[:few])),
            )
            for answer in (cold, *warm):
                if answer["error"]:
                    raise CommandError(f"The first answers failed: {answer['error']}\n{server.log_tail()}")
            alone = await _ws_answer(server, sessions[0], ask(0))
            if alone["error"]:
                raise CommandError(f"The answer alone failed: {alone['error']}\n{server.log_tail()}")
            await asyncio.sleep(IDLE_SECONDS + 1.0)
            rest = _resources(process, server.port)
            self.say(f"one answer alone: {alone['total_ms'] / 1000:.2f} s; {users} answers at once over WebSockets…")
            start = _Start(users)
            ws = await self._pass(
                process,
                client,
                server,
                tokens[-1],
                start,
                [_ws_answer(server, s, ask(n + 1), start) for n, s in enumerate(sessions[1:])],
            )
            self.say("… over Server-Sent Events…")
            start = _Start(users)
            sse = await self._pass(
                process,
                client,
                server,
                tokens[-1],
                start,
                [_sse_answer(client, server, t, ask(n + 2), start) for n, t in enumerate(tokens[:-1])],
            )
            self.say(f"… {users} users leaving at their first token, one user on {sockets} sockets…")
            early_before = model.closed_early
            incomplete_before = await asyncio.to_thread(_incomplete_answers)
            dropped = await asyncio.gather(*(_ws_drop(server, s, ask(n + 3)) for n, s in enumerate(sessions[1:])))
            flood = await _ws_flood(server, sessions[1], ask(4), sockets)
            self.say(f"… waiting for the server to rest ({IDLE_SECONDS} s idle threads)…")
            # The bench's own keep-alive connections go first: what remains is the server's.
            await client.close()
            after = await self._rested(process, rest, server.port)
            stats = model.stats()
            leftover = {
                "server_at_rest": rest,
                "server_after": after,
                "model_streams_open_after": stats["open_streams"],
                "dropped": {
                    "clients": len(dropped),
                    "got_first_token": sum(d["ttft_ms"] is not None for d in dropped),
                    "errors": sum(bool(d["error"]) for d in dropped),
                    "model_streams_closed_early": stats["closed_early"] - early_before,
                    "incomplete_answers_stored": await asyncio.to_thread(_incomplete_answers) - incomplete_before,
                },
                "one_user_sockets": flood,
            }
        finally:
            await client.close()
        return {
            "cold_answer_s": round(cold["total_ms"] / 1000, 3),
            "cold_ttft_ms": round(cold["ttft_ms"], 1),
            "one_answer_s": round(alone["total_ms"] / 1000, 3),
            "one_ttft_ms": round(alone["ttft_ms"], 1),
            "ws": _summary(ws, alone["total_ms"]),
            "sse": _summary(sse, alone["total_ms"]),
            **leftover,
        }

    async def _rested(self, process, rest: dict, port: int) -> dict:
        """The server's resources once it is back at rest (or after ``REST_WAIT_SECONDS``)."""
        deadline = time.monotonic() + REST_WAIT_SECONDS
        while True:
            now = _resources(process, port)
            if (now["threads"] <= rest["threads"] and now["connections"] == 0) or time.monotonic() > deadline:
                return now
            await asyncio.sleep(0.5)

    async def _pass(self, process, client, server: Server, token: str, start: _Start, asks: list) -> dict:
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

        running = asyncio.gather(*asks)
        # The sockets open first, as pages hold them open before anyone asks; then all ask at once.
        await asyncio.wait_for(start.all_ready.wait(), timeout=HTTP_SECONDS * 2)
        cpu_before = sum(process.cpu_times()[:2])
        prober = asyncio.create_task(probe())
        started = time.perf_counter()
        start.go.set()
        answers = await running
        wall = time.perf_counter() - started
        stop.set()
        await prober
        cpu = sum(process.cpu_times()[:2]) - cpu_before
        return {
            "answers": answers,
            "wall_s": wall,
            "quick_ms": quick,
            "cpu_percent": round(100 * cpu / wall, 1),
            "rss_mb": round(max(rss, default=process.memory_info().rss) / 2**20, 1),
        }

    def _table(self, r: dict) -> None:
        out = self.stdout.write
        out(
            f"bench chat --provider openai: {r['users']} users at once, one process; the model: "
            f"{r['first_token_ms']:.0f} ms to the first token, {r['model_tokens']} tokens at {r['tokens_per_s']:g}/s "
            f"({r['model_answer_s']:.2f} s an answer)"
        )
        out(
            f"first answer of the server: {r['cold_answer_s']:.2f} s (first token {r['cold_ttft_ms']:.0f} ms); "
            f"then one answer alone: {r['one_answer_s']:.2f} s (first token {r['one_ttft_ms']:.0f} ms): the ideal"
        )
        out("")
        out(
            f"{'':<12}{'answers':>8}{'errors':>8}{'wall s':>8}{'× ideal':>9}{'ttft p50':>10}{'ttft p95':>10}"
            f"{'total p50':>11}{'total p95':>11}{'answers/s':>11}{'quick p99':>11}{'cpu %':>7}{'rss MB':>8}"
        )
        for key, label in (("ws", "WebSocket"), ("sse", "SSE")):
            p = r[key]
            out(
                f"{label:<12}{p['answers']:>8}{p['errors']:>8}{p['wall_s']:>8.2f}{p['ratio']:>9.2f}"
                + "".join(f"{p[f]:>10.0f}" if p[f] is not None else f"{'-':>10}" for f in ("ttft_p50_ms", "ttft_p95_ms"))
                + "".join(f"{p[f]:>11.0f}" if p[f] is not None else f"{'-':>11}" for f in ("total_p50_ms", "total_p95_ms"))
                + f"{p['answers_per_s']:>11.2f}"
                + (f"{p['quick_p99_ms']:>11.0f}" if p["quick_p99_ms"] is not None else f"{'-':>11}")
                + f"{p['cpu_percent']:>7.0f}{p['rss_mb']:>8.0f}"
            )
        out("")
        rest, after, dropped, flood = r["server_at_rest"], r["server_after"], r["dropped"], r["one_user_sockets"]
        out(
            f"{dropped['clients']} users leaving at their first token: {dropped['got_first_token']} got it, "
            f"{dropped['model_streams_closed_early']} model streams closed early, "
            f"{dropped['incomplete_answers_stored']} partial answers stored"
        )
        out(
            f"one user on {flood['sockets']} sockets: {flood['answered']} answered, {flood['busy']} told busy, "
            f"{flood['errors']} errors"
        )
        out(
            f"server at rest before the passes: {rest['threads']} threads, {rest['connections']} client connections "
            f"({rest['upstream']} kept to the model and services), {rest['rss_mb']:.0f} MB; after them: "
            f"{after['threads']} threads, {after['connections']} client connections ({after['upstream']} kept), "
            f"{after['rss_mb']:.0f} MB; model streams open {r['model_streams_open_after']}"
        )
        for name, met in r["targets_met"].items():
            out(f"target  {name:<66}{'met' if met else 'MISSED'}")


def _resources(process, port: int) -> dict:
    """Threads, TCP connections of clients (to the server's port) and upstream (to the model,
    the database, Redis: pools that keep idle connections by design), and memory of the server."""
    connections = [c for c in process.net_connections(kind="tcp") if c.status != "LISTEN"]
    clients = sum(1 for c in connections if c.laddr and c.laddr.port == port)
    return {
        "threads": process.num_threads(),
        "connections": clients,
        "upstream": len(connections) - clients,
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
    }


def _incomplete_answers() -> int:
    from conversations.models import Message

    return (
        Message.objects.filter(
            conversation__owner__username__startswith=USERNAME_PREFIX, role=Message.Role.ASSISTANT, incomplete=True
        )
        .exclude(content="")
        .count()
    )


def _targets(r: dict, first_token_ms: float) -> dict[str, bool]:
    ttft = first_token_ms + TARGET_TTFT_MARGIN_MS
    met = {}
    for key, label in (("ws", "WebSocket"), ("sse", "SSE")):
        p = r[key]
        met[f"{label}: wall ≤ {TARGET_RATIO} × one answer"] = p["errors"] == 0 and p["ratio"] <= TARGET_RATIO
        met[f"{label}: first token p50 ≤ {ttft:.0f} ms"] = p["ttft_p50_ms"] is not None and p["ttft_p50_ms"] <= ttft
        met[f"{label}: quick requests p99 ≤ {TARGET_QUICK_P99_MS} ms"] = (
            p["quick_p99_ms"] is not None and p["quick_p99_ms"] <= TARGET_QUICK_P99_MS
        )
    rest, after, dropped = r["server_at_rest"], r["server_after"], r["dropped"]
    met["nothing left open after the run"] = (
        r["model_streams_open_after"] == 0 and after["threads"] <= rest["threads"] and after["connections"] == 0
    )
    met["every early leaver's model stream closed, partial answer stored"] = (
        dropped["errors"] == 0
        and dropped["model_streams_closed_early"] == dropped["clients"]
        and dropped["incomplete_answers_stored"] == dropped["clients"]
    )
    flood = r["one_user_sockets"]
    met["one user's many sockets: the per-user limit, busy on the rest"] = (
        flood["answered"] == flood["limit"] and flood["busy"] == flood["sockets"] - flood["limit"]
    )
    return met


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _summary(p: dict, one_ms: float) -> dict:
    done = [a for a in p["answers"] if not a["error"]]
    errors = sorted({a["error"] for a in p["answers"] if a["error"]})
    return {
        "answers": len(done),
        "errors": len(p["answers"]) - len(done),
        "error_kinds": errors[:3],
        "wall_s": round(p["wall_s"], 3),
        "ratio": round(p["wall_s"] * 1000 / one_ms, 2),
        "ttft_p50_ms": _pct([a["ttft_ms"] for a in done], 50),
        "ttft_p95_ms": _pct([a["ttft_ms"] for a in done], 95),
        "total_p50_ms": _pct([a["total_ms"] for a in done], 50),
        "total_p95_ms": _pct([a["total_ms"] for a in done], 95),
        "answers_per_s": round(len(done) / p["wall_s"], 2) if p["wall_s"] else 0.0,
        "quick_p99_ms": _pct(p["quick_ms"], 99),
        "quick_requests": len(p["quick_ms"]),
        "cpu_percent": p["cpu_percent"],
        "rss_mb": p["rss_mb"],
    }


class _Start:
    """Everyone asks at the same moment: each asker says when it is ready (its socket open, as
    the page holds it open before anyone asks), and all go together."""

    def __init__(self, askers: int) -> None:
        self.left = askers
        self.all_ready = asyncio.Event()
        self.go = asyncio.Event()
        if askers <= 0:
            self.all_ready.set()

    def ready(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.all_ready.set()

    async def wait(self) -> None:
        self.ready()
        await self.go.wait()


async def _ws_answer(server: Server, session: str, question: str, start: _Start | None = None) -> dict:
    from websockets.asyncio.client import connect

    from .chat import DONE_FRAME, ERROR_FRAME, TOKEN_FRAME

    answer = {"ttft_ms": None, "total_ms": None, "error": ""}
    try:
        async with connect(
            f"{server.ws_url}/ws/chat/new/",
            origin=server.url,
            proxy=None,
            open_timeout=HTTP_SECONDS,
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
        ) as ws:
            if start is not None:
                await start.wait()
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
        if start is not None and not start.go.is_set():
            start.ready()
        return answer


async def _sse_answer(client, server: Server, token: str, question: str, start: _Start | None = None) -> dict:
    answer = {"ttft_ms": None, "total_ms": None, "error": ""}
    if start is not None:
        await start.wait()
    started = time.perf_counter()
    try:
        async with client.post(
            f"{server.url}/api/chat/",
            json={"message": question},
            headers={"Authorization": f"Token {token}", "Accept": "text/event-stream"},
        ) as response:
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


async def _ws_drop(server: Server, session: str, question: str) -> dict:
    """Ask, then close the socket at the first token."""
    from websockets.asyncio.client import connect

    from .chat import ERROR_FRAME, TOKEN_FRAME

    answer = {"ttft_ms": None, "error": ""}
    try:
        async with connect(
            f"{server.ws_url}/ws/chat/new/",
            origin=server.url,
            proxy=None,
            open_timeout=HTTP_SECONDS,
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
        ) as ws:
            started = time.perf_counter()
            await ws.send(json.dumps({"message": question}))
            while True:
                frame = await asyncio.wait_for(ws.recv(), timeout=HTTP_SECONDS * 4)
                error = ERROR_FRAME.search(frame)
                if error and error.group(1).strip():
                    answer["error"] = f"the server said: {error.group(1).strip()}"
                    return answer
                token = TOKEN_FRAME.search(frame)
                if token and token.group(1).strip():
                    answer["ttft_ms"] = (time.perf_counter() - started) * 1000
                    return answer  # leaving the block closes the socket mid-answer
    except Exception as exc:  # noqa: BLE001
        answer["error"] = f"{exc.__class__.__name__}: {exc}"
        return answer


async def _ws_flood(server: Server, session: str, question: str, sockets: int) -> dict:
    """One user asks the same question on ``sockets`` sockets at once."""
    from websockets.asyncio.client import connect

    from .chat import DONE_FRAME, ERROR_FRAME

    async def one(ws) -> str:
        await ws.send(json.dumps({"message": question}))
        while True:
            frame = await asyncio.wait_for(ws.recv(), timeout=HTTP_SECONDS * 4)
            error = ERROR_FRAME.search(frame)
            if error and error.group(1).strip():
                return "busy" if "answers being written at once" in error.group(1) else "error"
            if DONE_FRAME.search(frame):
                return "answered"

    outcomes: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        opened = []
        for _ in range(sockets):
            opened.append(
                await stack.enter_async_context(
                    connect(
                        f"{server.ws_url}/ws/chat/new/",
                        origin=server.url,
                        proxy=None,
                        open_timeout=HTTP_SECONDS,
                        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}", "Accept-Language": "en"},
                    )
                )
            )
        results = await asyncio.gather(*(one(ws) for ws in opened), return_exceptions=True)
        outcomes = [r if isinstance(r, str) else "error" for r in results]
    return {
        "sockets": sockets,
        "limit": PER_USER,
        "answered": outcomes.count("answered"),
        "busy": outcomes.count("busy"),
        "errors": outcomes.count("error"),
    }
