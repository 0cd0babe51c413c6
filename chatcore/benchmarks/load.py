"""``bench load``: the API under load, across two daphne processes the bench starts.

N users, each with a DRF token made for it, send requests back to back for S seconds,
alternating between the two processes: chat questions (``POST /api/chat/``, mostly new
questions about the company, some asked before so the answer cache serves them),
conversation lists and document searches. Meanwhile one abusive client signs in over
and over (``POST /api/auth/token/``) from the same 127.0.0.1, so it runs into the
per-IP sign-in limit and gets 429s, as it should.

Rate limits: the servers run with ``RATELIMIT_USER`` raised, otherwise 60 requests a
minute per user would cap 50 users at 50 requests/s and the bench would measure the
limit, not the servers. ``RATELIMIT_LOGIN_IP`` stays at its default (20/m), and the
normal users never sign in during the run, so only the abusive client meets it.
Without ``REDIS_URL`` each process counts (and caches answers) on its own, so the
abusive client gets 20 sign-ins a minute from each; the output says so.

Data: the configured database and index (``REDIS_URL`` too, when set), or
``--dataset DIR`` for a throwaway SQLite database. Bench users (``bench-load-NN``) and
what they created are deleted at the end, and leftovers of an interrupted run at the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from rest_framework.authtoken.models import Token

from knowledge.models import Document

from .chat import QUESTIONS, REPHRASED
from .kit import Server, bench_index, create_users, database_url, remove_users, run_bench

HELP = (
    "Throughput under load: N API users (chat, conversation lists, search) against two daphne "
    "processes the bench starts, plus one client over the sign-in rate limit."
)

TARGET_USERS = 50
TARGET_SECONDS = 60
TARGET_CHAT_RPS = 50
TARGET_LIST_RPS = 500
TARGET_CHAT_P99_MS = 1000

USERNAME_PREFIX = "bench-load-"
FULL_NAME = "Load benchmark"
REQUEST_SECONDS = 15
SERVERS = 2

# What a normal user does next, by weight: mostly glancing at its conversations, now and
# then a question or a search.
MIX = {"chat": 15, "list": 65, "search": 20}
# Of a user's chat questions, this share repeats one it asked before (an answer-cache hit when
# the same process answers it, or any process with Redis).
REPEAT_SHARE = 0.2
QUESTIONS_PER_CONVERSATION = 4
# The abusive client's pace, not waiting for answers (at most ABUSIVE_IN_FLIGHT at once). Its sign-ins use the right password:
# every answer before the limit is a 200 (nothing but 429s is expected of it), at the cost
# of one password hash per allowed sign-in — at most 20 a minute per process.
ABUSIVE_PER_SECOND = 25
ABUSIVE_IN_FLIGHT = 50

# A per-user limit no bench user reaches; the sign-in limit stays as documented, so the
# abusive client meets it.
SERVER_LIMITS = {"RATELIMIT_ENABLE": "true", "RATELIMIT_USER": "1000000/m", "RATELIMIT_LOGIN_IP": "20/m"}

KINDS = ("chat", "list", "search", "abusive")

# Questions made from the company's own documents, so a larger company gets more of them.
TEMPLATES = {
    "employee": ["Who is {}'s manager?", "{} hangi departmanda çalışıyor?", "What does {} work on?"],
    "project": ["Who works on the {} project?", "{} projesinin şu anki durumu nedir?"],
    "department": ["Who heads the {} department?", "{} departmanında kimler çalışıyor?"],
}
OTHER_TEMPLATES = ["What does the document '{}' say?", "'{}' hakkında neler bilmeliyim?"]


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--users", type=int, default=TARGET_USERS, help="Concurrent API users.")
    parser.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="How long the load runs.")
    parser.add_argument("--provider", default="local", help="LLM_PROVIDER for the servers (default: the offline one).")
    parser.add_argument(
        "--mix",
        default=_mix_text(MIX),
        help="What the users send, by weight: chat, list and search (default: %(default)s); "
        "e.g. list=100 for conversation lists only.",
    )
    parser.add_argument(
        "--dataset",
        default="",
        help="A company directory (like sample_company/) loaded into a temporary SQLite database "
        "and index; default: the configured ones.",
    )
    parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")


def run(
    command: BaseCommand, *, users: int, seconds: float, provider: str, mix: str, dataset: str, as_json: bool, **options
) -> None:
    if not 1 <= users <= 500:
        raise CommandError("--users must be between 1 and 500.")
    if not 1 <= seconds <= 600:
        raise CommandError("--seconds must be between 1 and 600.")
    weights = parse_mix(mix)
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise CommandError("bench load needs the aiohttp package: pip install -r requirements.txt") from None
    run_bench(
        command,
        dataset=dataset,
        as_json=as_json,
        bench=["load", "--users", str(users), "--seconds", str(seconds), "--provider", provider, "--mix", _mix_text(weights)],
        here=lambda: LoadBench(command, quiet=as_json, mix=weights).run(users=users, seconds=seconds, provider=provider),
    )


def parse_mix(text: str) -> dict[str, int]:
    """``chat=15,list=65,search=20`` → weights; a kind left out is never sent."""
    weights = {}
    for part in text.split(","):
        kind, sep, weight = part.strip().partition("=")
        if not sep or kind not in MIX or kind in weights or not weight.strip().isdigit():
            raise CommandError(
                f"--mix {text!r}: give kind=weight pairs separated by commas, "
                f"each kind once, of {', '.join(MIX)}; weights are whole numbers."
            )
        weights[kind] = int(weight)
    if not any(weights.values()):
        raise CommandError(f"--mix {text!r}: at least one weight must be above 0.")
    return {kind: weight for kind, weight in weights.items() if weight}


def _mix_text(weights: dict[str, int]) -> str:
    return ",".join(f"{kind}={weight}" for kind, weight in weights.items())


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    error_samples: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    cached_answers: int = 0

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        key = f"{kind}: {what}"
        self.error_samples[key] = self.error_samples.get(key, 0) + 1


class Questions:
    """New questions in turn while they last, shared by all users so two users rarely ask
    the same new question at once; then the pool again."""

    def __init__(self, pool: list[str], rng: random.Random) -> None:
        self.pool, self.rng = pool, rng
        self.fresh = iter(pool)

    def next(self) -> str:
        return next(self.fresh, None) or self.rng.choice(self.pool)


class LoadBench:
    def __init__(self, command: BaseCommand, *, quiet: bool, mix: dict[str, int]) -> None:
        self.stdout, self.stderr, self.quiet, self.mix = command.stdout, command.stderr, quiet, mix

    def say(self, text: str) -> None:
        if not self.quiet:
            self.stderr.write(text)

    def run(self, *, users: int, seconds: float, provider: str) -> None:
        index = bench_index()
        pool = _question_pool()
        # What the servers will use: they read their settings from the environment given them.
        redis = bool(os.environ.get("REDIS_URL", "").strip())
        if not redis:
            self.say(
                "REDIS_URL is not set: each daphne process keeps its own rate-limit counts and answer cache "
                "(the abusive client gets 20 sign-ins a minute from each process, not 20 in all)."
            )
        password = secrets.token_urlsafe(16)
        locked = 0
        with tempfile.TemporaryDirectory(prefix="chatcore-bench-load-") as workdir:
            try:
                accounts = create_users(USERNAME_PREFIX, FULL_NAME, users + 1, password)
                tokens = [Token.objects.create(user=user).key for user in accounts[:users]]
                abuser = accounts[users].username
                env = {
                    **os.environ,
                    "DATABASE_URL": database_url(),
                    "INDEX_DIR": str(settings.INDEX_DIR),
                    "LLM_PROVIDER": provider,
                    **SERVER_LIMITS,
                }
                with contextlib.ExitStack() as stack:
                    servers = [
                        stack.enter_context(Server(env=env, log=Path(workdir) / f"daphne-{n}.log")) for n in range(SERVERS)
                    ]
                    self.say(
                        f"daphne is up on {', '.join(s.url for s in servers)}; {users} user(s) for {seconds:g} s, "
                        f"one abusive client signing in {ABUSIVE_PER_SECOND} times a second…"
                    )
                    tally, elapsed = asyncio.run(self._load(servers, tokens, (abuser, password), pool, seconds))
                    logs = [s.log_path.read_text(encoding="utf-8", errors="replace") for s in servers]
                    locked = sum(log.count("database is locked") for log in logs)
                    failed = sum(tally.errors.values())
                    log_tail = "\n".join(s.log_tail(20) for s in servers) if failed else ""
            finally:
                remove_users(USERNAME_PREFIX, FULL_NAME, [])
        result, rows = _summarise(tally, elapsed)
        load = os.getloadavg()
        if not self.quiet:
            _print_table(
                self.stdout.write,
                result,
                rows,
                users=users,
                seconds=seconds,
                elapsed=elapsed,
                index=index,
                redis=redis,
                pool=len(pool),
                load=load,
                cached=tally.cached_answers,
                locked=locked,
                mix=self.mix,
            )
        for what, count in sorted(tally.error_samples.items(), key=lambda kv: -kv[1])[:8]:
            self.stderr.write(f"error ×{count}: {what}")
        if locked:
            self.stderr.write(
                f"SQLite said 'database is locked' {locked} time(s): two processes writing to one SQLite file "
                "wait for each other. Run the bench on PostgreSQL (DATABASE_URL=postgres://…) for numbers "
                "that mean something."
            )
        if log_tail:
            self.stderr.write(f"The servers' logs ended with:\n{log_tail}")
        self.stdout.write(json.dumps(result))

    async def _load(
        self, servers: list[Server], tokens: list[str], abuser: tuple[str, str], pool: list[str], seconds: float
    ) -> tuple[Tally, float]:
        import aiohttp

        urls = [s.url for s in servers]
        rng = random.Random(20250101)  # the same run of questions every time
        questions = Questions(pool, rng)
        tally = Tally()
        # aiohttp because the generator shares the machine's two cores with the servers: per
        # request it costs a fraction of what httpx does. No connection limit (each user keeps
        # its own connection to each server), loopback only: no proxy from the environment.
        client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
            timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS),
            trust_env=False,
        )
        async with client:
            await self._warm_up(client, urls, tokens[0])
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(
                *(
                    self._user(client, urls, n, token, questions, random.Random(n), tally, deadline)
                    for n, token in enumerate(tokens)
                ),
                self._abuse(client, urls, abuser, tally, deadline),
            )
            return tally, time.perf_counter() - started

    async def _warm_up(self, client, urls: list[str], token: str) -> None:
        """Not measured: each process's first answer and search load the embedder and the index."""
        headers = {"Authorization": f"Token {token}"}
        for url in urls:
            for method, path, options in (
                ("POST", "/api/chat/", {"json": {"message": "Şirketin departmanları hangileri?", "conversation": None}}),
                ("GET", "/api/documents/", {"params": {"q": "izin", "limit": 5}}),
            ):
                try:
                    async with client.request(method, url + path, headers=headers, **options) as response:
                        status, body = response.status, await response.read()
                except Exception as exc:
                    raise CommandError(f"The warm-up request to {url} failed: {exc!r}") from None
                if not 200 <= status < 300:
                    raise CommandError(
                        f"The warm-up request to {url} failed: HTTP {status} {body[:300].decode(errors='replace')}"
                    )

    async def _user(
        self, client, urls: list[str], n: int, token: str, questions: Questions, rng: random.Random, tally: Tally, deadline: float
    ) -> None:
        headers = {"Authorization": f"Token {token}"}
        kinds, weights = list(self.mix), list(self.mix.values())
        conversation, asked_in_it, openers = None, 0, []
        for turn in itertools.count(n):
            if time.perf_counter() >= deadline:
                return
            url = urls[turn % len(urls)]
            kind = rng.choices(kinds, weights)[0]
            if kind == "chat":
                # The answer cache is per user and depends on the conversation so far: a repeat
                # is the user asking one of its own opening questions again, in a new conversation.
                repeat = bool(openers) and rng.random() < REPEAT_SHARE
                if repeat or asked_in_it >= QUESTIONS_PER_CONVERSATION:
                    conversation, asked_in_it = None, 0
                question = rng.choice(openers) if repeat else questions.next()
                if conversation is None and not repeat:
                    openers.append(question)
                request = client.post(
                    f"{url}/api/chat/", headers=headers, json={"message": question, "conversation": conversation}
                )
            elif kind == "list":
                request = client.get(f"{url}/api/conversations/", headers=headers)
            else:
                request = client.get(
                    f"{url}/api/documents/", headers=headers, params={"q": rng.choice(questions.pool), "limit": 5}
                )
            response = await _timed(request, kind, tally)
            if response is None:
                continue
            status, body = response
            if not 200 <= status < 300:
                tally.error(kind, f"HTTP {status} {body[:120].decode(errors='replace')}")
                tally.latencies[kind].pop()
            elif kind == "chat":
                answer = json.loads(body)
                conversation, asked_in_it = answer.get("conversation"), asked_in_it + 1
                tally.cached_answers += bool(answer.get("cached"))

    async def _abuse(self, client, urls: list[str], abuser: tuple[str, str], tally: Tally, deadline: float) -> None:
        """One client signing in again and again from the users' own address, at a fixed
        pace whatever the answers take, as a script hammering the endpoint does: after 20
        in a minute (per process without Redis) every attempt is a 429."""
        username, password = abuser
        in_flight = asyncio.Semaphore(ABUSIVE_IN_FLIGHT)

        async def attempt(url: str) -> None:
            async with in_flight:
                response = await _timed(
                    client.post(f"{url}/api/auth/token/", json={"username": username, "password": password}), "abusive", tally
                )
            if response is not None and not 200 <= response[0] < 300:
                status, body = response
                tally.latencies["abusive"].pop()
                if status == 429:
                    tally.rate_limited += 1
                else:
                    tally.error("abusive", f"HTTP {status} {body[:120].decode(errors='replace')}")

        attempts = []
        started = time.perf_counter()
        for turn in itertools.count():
            if time.perf_counter() >= deadline:
                break
            attempts.append(asyncio.create_task(attempt(urls[turn % len(urls)])))
            await asyncio.sleep(max(0.0, started + (turn + 1) / ABUSIVE_PER_SECOND - time.perf_counter()))
        await asyncio.gather(*attempts)


async def _timed(request, kind: str, tally: Tally) -> tuple[int, bytes] | None:
    """The response's status and body, read in full and timed under ``kind``; None (and an
    error) when none came."""
    started = time.perf_counter()
    try:
        async with request as response:
            status, body = response.status, await response.read()
    except Exception as exc:  # timeouts, refused or dropped connections: all count as errors
        tally.error(kind, type(exc).__name__ + (f": {exc}" if str(exc) else ""))
        return None
    tally.latencies[kind].append((time.perf_counter() - started) * 1000)
    return status, body


def _question_pool() -> list[str]:
    pool = [*QUESTIONS, *REPHRASED]
    for doc_type, title in Document.objects.order_by("doc_type", "key").values_list("doc_type", "title"):
        pool += [t.format(title) for t in TEMPLATES.get(doc_type, OTHER_TEMPLATES)]
    # Mixed, so new questions do not come department by department; the same order every run.
    random.Random(7).shuffle(pool)
    return list(dict.fromkeys(pool))


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = (round(float(v), 1) for v in np.percentile(values, [50, 95, 99]))
    return {"n": len(values), "p50": p50, "p95": p95, "p99": p99}


def _summarise(tally: Tally, elapsed: float) -> tuple[dict, dict]:
    """The JSON line (rates and percentiles over the normal users' answered requests;
    the abusive client is only in ``rate_limited`` and its own table row) and the table's rows."""
    rows = {
        kind: {
            **_percentiles(tally.latencies[kind]),
            "errors": tally.errors[kind],
            "rps": round(len(tally.latencies[kind]) / elapsed, 1),
        }
        for kind in KINDS
    }
    rows["abusive"]["rate_limited"] = tally.rate_limited
    rows["abusive"]["rps"] = round((len(tally.latencies["abusive"]) + tally.rate_limited) / elapsed, 1)
    normal = [ms for kind in ("chat", "list", "search") for ms in tally.latencies[kind]]
    overall = _percentiles(normal)
    result = {
        "rps": round(len(normal) / elapsed, 1),
        "chat_rps": rows["chat"]["rps"],
        "list_rps": rows["list"]["rps"],
        "p50_ms": overall["p50"],
        "p95_ms": overall["p95"],
        "p99_ms": overall["p99"],
        "errors": sum(tally.errors.values()),
        "rate_limited": tally.rate_limited,
    }
    rows["all"] = {**overall, "errors": sum(tally.errors[k] for k in ("chat", "list", "search")), "rps": result["rps"]}
    return result, rows


def targets(result: dict, rows: dict) -> list[tuple[str, bool]]:
    p99 = rows["chat"]["p99"]
    return [
        (f"≥ {TARGET_CHAT_RPS} chat answers/s: {result['chat_rps']}", result["chat_rps"] >= TARGET_CHAT_RPS),
        (f"≥ {TARGET_LIST_RPS} conversation lists/s: {result['list_rps']}", result["list_rps"] >= TARGET_LIST_RPS),
        (f"chat p99 ≤ {TARGET_CHAT_P99_MS} ms: {p99}", p99 is not None and p99 <= TARGET_CHAT_P99_MS),
        (f"0 errors: {result['errors']}", result["errors"] == 0),
    ]


def _ms(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.1f}"


def _table_rows(rows: dict) -> list[str]:
    lines = [f"{'':<10}{'answered':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"]
    for kind in ("chat", "list", "search", "all", "abusive"):
        row = rows[kind]
        lines.append(
            f"{kind:<10}{row['n']:>9}{row['rps']:>8.1f}"
            + "".join(_ms(row[q]) for q in ("p50", "p95", "p99"))
            + f"{row['errors']:>8}"
        )
    return lines


def _print_table(
    out,
    r: dict,
    rows: dict,
    *,
    users: int,
    seconds: float,
    elapsed: float,
    index,
    redis: bool,
    pool: int,
    load: tuple[float, float, float],
    cached: int,
    locked: int,
    mix: dict[str, int],
) -> None:
    cache = "Redis (shared by both processes)" if redis else "no REDIS_URL: each process counts and caches on its own"
    out(
        f"bench load: {users} user(s) for {seconds:g} s ({elapsed:.1f} s with the last answers) against "
        f"{SERVERS} daphne processes; {connection.vendor}; index v{index.version} ({index.chunk_count} passages); {cache}"
    )
    total = sum(mix.values())
    out("mix: " + ", ".join(f"{kind} {weight / total:.0%}" for kind, weight in mix.items()))
    out(
        f"limits: RATELIMIT_USER raised to {SERVER_LIMITS['RATELIMIT_USER']} for the bench users; the abusive client "
        f"signs in {ABUSIVE_PER_SECOND}/s against RATELIMIT_LOGIN_IP {SERVER_LIMITS['RATELIMIT_LOGIN_IP']}"
    )
    out("")
    for line in _table_rows(rows):
        out(line)
    out("")
    chats = rows["chat"]["n"]
    out(
        f"chat answers from the cache: {cached} of {chats} ({pool} distinct questions, {REPEAT_SHARE:.0%} repeats)   "
        f"abusive: {rows['abusive']['n']} signed in, {r['rate_limited']} refused with 429 (expected)"
    )
    out(
        f"load average (1, 5, 15 min) at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPU(s); "
        "the load generator runs on the same machine"
    )
    if locked:
        out(f"SQLite 'database is locked': {locked} time(s) in the servers' logs — use PostgreSQL for this bench")
    out("")
    if users != TARGET_USERS or seconds != TARGET_SECONDS:
        out(f"(the targets are set for {TARGET_USERS} users, {TARGET_SECONDS} s)")
    for label, met in targets(r, rows):
        out(f"target  {label:<50}{'met' if met else 'MISSED'}")
