"""``bench chat``: the chat as staff get it, timed from the outside.

Starts daphne on a free loopback port, signs bench employees in through the login
form, and has them ask realistic questions one after another, each over its own
WebSocket, all users at once: new questions on a server that has just started, new
questions on the same topics on a server that has warmed up, then the same questions
again so the answer cache serves them (see ``PASSES``). Time to first token runs from
sending a question to the first frame that carries answer text; an answer's server
time is the ``latency_ms`` stored on its message.

Data: the configured database and index, as ``make run`` uses them. The bench users
(``bench-chat-NN``) and everything they created (conversations, messages, login
sessions) are deleted at the end, and leftovers of an interrupted run at the start.
``--dataset DIR`` runs on a temporary SQLite database and index loaded from a
company directory instead, touching nothing configured.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from conversations.models import Message
from retrieval.pipeline import EXACT_MODEL

from .chat_slow import TARGET_USERS as SLOW_TARGET_USERS
from .chat_slow import run_slow
from .kit import HTTP_SECONDS, Server, bench_index, create_users, database_url, remove_users, run_bench

HELP = "Time to first token and cached answers over real WebSockets: N users at once against a daphne the bench starts."

TARGET_USERS = 10
TARGET_TTFT_P50_MS = 150
TARGET_CACHED_SERVER_P50_MS = 20

USERNAME_PREFIX = "bench-chat-"
FULL_NAME = "Chat benchmark"
ANSWER_SECONDS = 60

# About the bundled sample company. Each user asks its own run of them; the default
# 10 users × 4 questions ask each once.
QUESTIONS = [
    "Kervan projesini kim yönetiyor?",
    "Who leads the Atlas Customer Portal project?",
    "Yıllık izin talebi kaç gün önceden yapılmalı?",
    "How do I get my business expenses reimbursed?",
    "Uzaktan çalışmada haftada kaç gün ofise gelmem gerekiyor?",
    "Which engineers in the company know Kafka?",
    "Ayşe Yılmaz hangi departmanda çalışıyor ve yöneticisi kim?",
    "What is the daily meal allowance on business trips abroad?",
    "Bir bilgi güvenliği olayını ne kadar sürede bildirmem gerekiyor?",
    "How can I request a new laptop or a second monitor?",
    "Hastalık raporumu İK Portalı'na nasıl yüklerim?",
    "What are the rules for a hotfix to production?",
    "Satın alma taleplerinde onay limitleri nelerdir?",
    "Who is the head of the Data & AI department?",
    "Poyraz filo takip projesinde hangi teknolojiler kullanılıyor?",
    "What is the current status of the Bulut cloud migration?",
    "İşe yeni başlayan bir çalışanın ilk günü nasıl geçer?",
    "What is the notice period when I leave the company?",
    "Pusula yapay zeka asistanı projesinde kimler çalışıyor?",
    "Is multi-factor authentication mandatory for every account?",
    "Mercan talep tahminleme projesinde hangi modeller kullanılıyor?",
    "Which employees work in the İzmir office?",
    "Defne e-Fatura otomasyonu manuel fatura girişini ne kadar azalttı?",
    "Who should I ask about my payroll and SGK records?",
    "Can Demir hangi şehirde çalışıyor?",
    "Who heads the Sales & Customer Success department?",
    "Liman konteyner sahası pilotu hangi müşteri için yapılıyor?",
    "What is the tech stack of the Atlas portal?",
    "Çınar İK Portalı v2 projesi neleri kapsıyor?",
    "Who takes care of ISO 27001 and information security?",
    "Deneme süresi değerlendirmesi nasıl yapılıyor?",
    "Who is our CFO?",
    "Which developers know React?",
    "What are the core working hours for remote employees?",
    "Yurt dışı seyahatlerini kim onaylıyor?",
    "How many days can I be off sick without a doctor's report?",
    "Kod incelemesinde bir merge request için kaç onay gerekiyor?",
    "Who is our DevOps engineer?",
    "Masraf ve satın alma süreçleri hangi departmanın sorumluluğunda?",
    "Hakan Yıldız hangi test araçlarını kullanıyor?",
]
# The same topics in other words, for the second set of users (see PASSES).
REPHRASED = [
    "Kervan rota optimizasyon projesinin lideri kim?",
    "Who is the project lead of Atlas?",
    "Yıllık izni ne kadar önceden istemem gerekiyor?",
    "How are expenses I paid myself paid back to me?",
    "Hibrit çalışmada ofis günleri nasıl belirleniyor?",
    "Who has experience with Kafka?",
    "Ayşe Yılmaz'ın yöneticisi kim?",
    "How much is the per diem for meals when travelling abroad?",
    "Oltalama e-postası alırsam ne yapmalıyım?",
    "Where do I ask for new equipment?",
    "Hastalandığımda kime ve ne zaman haber vermeliyim?",
    "When are production releases allowed?",
    "Bir yazılım satın alırken kaç teklif almam gerekiyor?",
    "Who runs the data and AI team?",
    "Poyraz projesi soğuk zincir araçlarını nasıl izliyor?",
    "Why was the AWS migration paused?",
    "Yeni çalışanlar için işe başlama süreci nasıl işliyor?",
    "What do I have to return on my last day?",
    "Pusula projesinin amacı nedir?",
    "How long must my password be?",
    "Mercan projesi kaç depo için tahmin yapıyor?",
    "Which of our colleagues work remotely?",
    "Defne projesi hangi sistemle entegre çalışıyor?",
    "Bordro sorularım için kime yazmalıyım?",
    "What are Can Demir's skills?",
    "Satış direktörümüz kim?",
    "What will the Liman pilot show in the Atlas portal?",
    "Atlas portalında hangi teknolojiler kullanılıyor?",
    "What will the new HR portal let employees do?",
    "Kalkan projesi ne zaman sertifika aldı?",
    "How is the probation period evaluated?",
    "Finans direktörü kim?",
    "Frontend ekibinde kimler var?",
    "Uzaktan çalışanlar hangi saatlerde ulaşılabilir olmalı?",
    "Who approves a business trip abroad?",
    "Raporsuz mazeret izni kaç gün?",
    "How many approvals does a merge request need?",
    "Kubernetes ve Terraform bilen kim var?",
    "Which department owns the expense and purchasing procedures?",
    "Who does test automation?",
]
# Not measured: the first answers load the embedder and fill the process's caches.
WARM_UP = [
    "Şirketin departmanları hangileri?",
    "What does the IT Operations department do?",
]

# Every bench user signs in from 127.0.0.1 and asks without pausing: limits set for one
# person's pace would cut the run short. Requests are still counted, never refused.
UNLIMITED = {"RATELIMIT_LOGIN_IP": "1000000/m", "RATELIMIT_USER": "1000000/m"}

# The frames ``ChatConsumer`` sends (see its ``ws_*.html`` templates).
TOKEN_FRAME = re.compile(r'<span hx-swap-oob="beforeend:#answer-\d+-text">(.*?)</span>', re.S)
ERROR_FRAME = re.compile(r'id="composer-error"[^>]*>(.*?)</p>', re.S)
DONE_FRAME = re.compile(r'hx-swap-oob="outerHTML"')
MESSAGE_ID = re.compile(r'id="feedback-(\d+)"')


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help=f"Concurrent users, each on its own WebSocket (default {TARGET_USERS}; "
        f"{SLOW_TARGET_USERS} with --provider openai and its slow model).",
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=4,
        help=f"Questions per user, asked one after another (at most {len(QUESTIONS)}; beyond "
        f"{len(QUESTIONS)} asks per pass users repeat each other's questions).",
    )
    parser.add_argument("--provider", default="local", help="LLM_PROVIDER for the server (default: the offline one).")
    parser.add_argument(
        "--dataset",
        default="",
        help="A company directory (like sample_company/) loaded into a temporary database and "
        "index; default: the configured ones.",
    )
    parser.add_argument(
        "--first-token-ms", type=float, default=800.0, help="--provider openai: the bench's slow model's time to the first token."
    )
    parser.add_argument("--tokens-per-s", type=float, default=25.0, help="--provider openai: its pace after that.")
    parser.add_argument("--model-tokens", type=int, default=60, help="--provider openai: tokens in each answer.")
    parser.add_argument(
        "--sockets",
        type=int,
        default=100,
        help="--provider openai: sockets one user asks on at once (all but the per-user limit are told to wait).",
    )
    parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")


def run(
    command: BaseCommand,
    *,
    users: int | None,
    questions: int,
    provider: str,
    dataset: str,
    as_json: bool,
    first_token_ms: float = 800.0,
    tokens_per_s: float = 25.0,
    model_tokens: int = 60,
    sockets: int = 100,
    **options,
) -> None:
    if provider == "openai" and not os.environ.get("OPENAI_BASE_URL"):
        # Against the bench's own slow OpenAI-compatible model: answers at once on one process.
        users = SLOW_TARGET_USERS if users is None else users
        if users < 1 or first_token_ms < 0 or tokens_per_s <= 0 or model_tokens < 1 or sockets < 1:
            raise CommandError("--users, --sockets, --tokens-per-s and --model-tokens must be positive.")
        run_bench(
            command,
            dataset=dataset,
            as_json=as_json,
            bench=[
                "chat",
                "--users",
                str(users),
                "--provider",
                provider,
                "--first-token-ms",
                str(first_token_ms),
                "--tokens-per-s",
                str(tokens_per_s),
                "--model-tokens",
                str(model_tokens),
                "--sockets",
                str(sockets),
            ],
            here=lambda: run_slow(
                command,
                users=users,
                sockets=sockets,
                first_token_ms=first_token_ms,
                tokens_per_s=tokens_per_s,
                model_tokens=model_tokens,
                questions=QUESTIONS + REPHRASED,
                as_json=as_json,
            ),
        )
        return
    users = TARGET_USERS if users is None else users
    if users < 1:
        raise CommandError("--users must be at least 1.")
    if not 1 <= questions <= len(QUESTIONS):
        raise CommandError(f"--questions must be between 1 and {len(QUESTIONS)}.")
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise CommandError("bench chat needs the websockets package: pip install -r requirements-dev.txt") from None
    run_bench(
        command,
        dataset=dataset,
        as_json=as_json,
        bench=["chat", "--users", str(users), "--questions", str(questions), "--provider", provider],
        here=lambda: ChatBench(command, quiet=as_json).run(users=users, questions=questions, provider=provider),
    )


@dataclass
class Answer:
    question: str
    ttft_ms: float | None = None
    total_ms: float | None = None
    message_id: int | None = None
    error: str = ""


@dataclass(frozen=True)
class Pass:
    key: str
    label: str
    users: int  # 0: the first set of bench users, asking QUESTIONS; 1: the second, asking REPHRASED
    at_once: bool
    cached: bool


# The second set of users asks about the same things in other words: new questions, so
# nothing comes from a cache keyed by the question, but put to a server that has already
# read the documents they lead to (the local answerer keeps the vectors of the sentences
# it has read), as a server that has been up for a while has.
PASSES = [
    Pass("fresh", "fresh, server just started", 0, at_once=True, cached=False),
    Pass("warm", "fresh, server warmed up", 1, at_once=True, cached=False),
    Pass("cached", "cached, all users at once", 0, at_once=True, cached=True),
    Pass("cached_alone", "cached, one at a time", 1, at_once=False, cached=True),
]
TARGETS = [  # JSON field, limit in ms, what it is
    ("ttft_p50_ms", TARGET_TTFT_P50_MS, "first token p50 ≤ {} ms, server just started"),
    ("warm_ttft_p50_ms", TARGET_TTFT_P50_MS, "first token p50 ≤ {} ms, server warmed up"),
    ("cached_server_p50_ms", TARGET_CACHED_SERVER_P50_MS, "cached answer p50 ≤ {} ms server time, all at once"),
    ("cached_alone_server_p50_ms", TARGET_CACHED_SERVER_P50_MS, "cached answer p50 ≤ {} ms server time, one at a time"),
]


class ChatBench:
    def __init__(self, command: BaseCommand, *, quiet: bool) -> None:
        self.stdout, self.stderr, self.quiet = command.stdout, command.stderr, quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            self.stderr.write(text)

    def run(self, *, users: int, questions: int, provider: str) -> None:
        index = bench_index()
        plans = [
            [[asked[(u * questions + j) % len(asked)] for j in range(questions)] for u in range(users)]
            for asked in (QUESTIONS, REPHRASED)
        ]
        password = secrets.token_urlsafe(16)
        sessions: list[str] = []
        with tempfile.TemporaryDirectory(prefix="chatcore-bench-") as workdir:
            try:
                accounts = create_users(USERNAME_PREFIX, FULL_NAME, 2 * users, password)
                env = {
                    **os.environ,
                    "DATABASE_URL": database_url(),
                    "INDEX_DIR": str(settings.INDEX_DIR),
                    "LLM_PROVIDER": provider,
                    **UNLIMITED,
                }
                with Server(env=env, log=Path(workdir) / "daphne.log") as server:
                    self.say(f"daphne is up on {server.url}; signing in {2 * users} bench users…")
                    sessions = [server.login(user.username, password) for user in accounts]
                    self.say(
                        f"{users} user(s) at once × {questions} question(s), four times: "
                        + ", ".join(p.label for p in PASSES)
                        + "…"
                    )
                    answers, seconds = asyncio.run(self._measure(server, [sessions[:users], sessions[users:]], plans))
                    failed = any(a.error for found in answers.values() for a in found)
                    log_tail = server.log_tail(40) if failed else ""
                    ids = [a.message_id for found in answers.values() for a in found if a.message_id]
                    stored = {
                        m["id"]: m
                        for m in Message.objects.filter(id__in=ids).values(
                            "id", "latency_ms", "cached", "incomplete", "provider", "model"
                        )
                    }
            finally:
                remove_users(USERNAME_PREFIX, FULL_NAME, sessions)
        result, rows = _summarise(answers, seconds, stored, users=users, questions=questions)
        if not self.quiet:
            self._table(result, rows, index=index)
        for error in sorted({a.error for found in answers.values() for a in found if a.error})[:5]:
            self.stderr.write(f"error: {error}")
        if log_tail:
            self.stderr.write(f"The server's log ended with:\n{log_tail}")
        self.stdout.write(json.dumps(result))

    async def _measure(self, server: Server, groups: list[list[str]], plans: list[list[list[str]]]):
        failed = next((a.error for a in await _ask_all(server, groups[0][0], WARM_UP) if a.error), "")
        if failed:
            raise CommandError(f"The warm-up question failed: {failed}\n{server.log_tail()}")
        answers, seconds = {}, {}
        for p in PASSES:
            started = time.perf_counter()
            asks = [_ask_all(server, session, asked) for session, asked in zip(groups[p.users], plans[p.users])]
            per_user = await asyncio.gather(*asks) if p.at_once else [await ask for ask in asks]
            seconds[p.key] = time.perf_counter() - started
            answers[p.key] = [a for found in per_user for a in found]
        return answers, seconds

    def _table(self, r: dict, rows: dict, *, index) -> None:
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        out = self.stdout.write
        out(
            f"bench chat: {r['users']} user(s) at once, {r['questions']} question(s) each, back to back; "
            f"provider {r['provider'] or '-'}; {connection.vendor}; index v{index.version} "
            f"({index.chunk_count} passages); {cache}"
        )
        out("")
        out(f"{'':<44}{'answers':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for p in PASSES:
            for n, (metric, name) in enumerate([("ttft", "first token"), ("total", "whole answer"), ("server", "server time")]):
                row = rows[p.key][metric]
                label = f"{p.label if n == 0 else '':<30}{name}"
                out(f"{label:<44}{row['n']:>8}" + "".join(_ms(row[q]) for q in ("p50", "p95", "max")))
        out("")
        out(
            f"fresh answers/s: {r['answers_per_s']} (server just started), {r['warm_answers_per_s']} (warmed up)"
            f"   errors: {r['errors']}   cache misses: {r['cache_misses']}"
        )
        out("first token and whole answer: seen by the client; server time: the answer's latency_ms")
        out("")
        if r["users"] != TARGET_USERS:
            out(f"(the targets are set for {TARGET_USERS} users)")
        for field, limit, label in TARGETS:
            met = "met" if r["targets_met"][field[:-3]] else "MISSED"
            out(f"target  {label.format(limit):<62}{_ms(r[field])}  {met}")


def _ms(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.1f}"


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {
        "n": len(values),
        "p50": round(float(np.percentile(values, 50)), 1),
        "p95": round(float(np.percentile(values, 95)), 1),
        "max": round(float(max(values)), 1),
    }


def _summarise(
    answers: dict[str, list[Answer]], seconds: dict[str, float], stored: dict[int, dict], *, users: int, questions: int
) -> tuple[dict, dict]:
    """The JSON line's fields, and the table's rows. A cached pass counts only the
    answers that really came from the cache; the others are cache misses."""
    rows, misses, providers = {}, 0, set()
    for p in PASSES:
        for answer in answers[p.key]:
            message = stored.get(answer.message_id)
            if not answer.error and message is None:
                answer.error = "the answer's message is not in the database"
            elif not answer.error and message["incomplete"]:
                answer.error = "the answer was stored as incomplete"
        done = [a for a in answers[p.key] if not a.error]
        # Exact answers from the structured documents are computed afresh every time, by design
        # (a millisecond or two); a cached pass measures the others.
        if p.cached:
            done = [a for a in done if stored[a.message_id]["model"] != EXACT_MODEL]
        counted = [a for a in done if stored[a.message_id]["cached"]] if p.cached else done
        misses += len(done) - len(counted)
        providers |= {stored[a.message_id]["provider"] for a in counted}
        rows[p.key] = {
            "ttft": _stats([a.ttft_ms for a in counted]),
            "total": _stats([a.total_ms for a in counted]),
            "server": _stats([stored[a.message_id]["latency_ms"] for a in counted]),
        }
    fresh, warm, cached, alone = (rows[p.key] for p in PASSES)
    result = {
        "users": users,
        "questions": questions,
        "provider": ",".join(sorted(providers)),
        "answers": fresh["ttft"]["n"],
        "ttft_p50_ms": fresh["ttft"]["p50"],
        "ttft_p95_ms": fresh["ttft"]["p95"],
        "ttft_max_ms": fresh["ttft"]["max"],
        "total_p50_ms": fresh["total"]["p50"],
        "total_p95_ms": fresh["total"]["p95"],
        "server_p50_ms": fresh["server"]["p50"],
        "answers_per_s": _rate(fresh["ttft"]["n"], seconds["fresh"]),
        "warm_ttft_p50_ms": warm["ttft"]["p50"],
        "warm_ttft_p95_ms": warm["ttft"]["p95"],
        "warm_total_p50_ms": warm["total"]["p50"],
        "warm_server_p50_ms": warm["server"]["p50"],
        "warm_answers_per_s": _rate(warm["ttft"]["n"], seconds["warm"]),
        "cached_server_p50_ms": cached["server"]["p50"],
        "cached_server_p95_ms": cached["server"]["p95"],
        "cached_client_p50_ms": cached["total"]["p50"],
        "cached_alone_server_p50_ms": alone["server"]["p50"],
        "cached_alone_client_p50_ms": alone["total"]["p50"],
        "cache_misses": misses,
        "errors": sum(1 for found in answers.values() for a in found if a.error),
    }
    result["targets_met"] = {field[:-3]: result[field] is not None and result[field] <= limit for field, limit, _ in TARGETS}
    return result, rows


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds else 0.0


# --- The client: one WebSocket per user ------------------------------------------------


async def _ask_all(server: Server, session: str, questions: list[str]) -> list[Answer]:
    """Ask ``questions`` in order in one new conversation; after a failure the next
    question opens a new socket, so one error costs one answer, not the rest."""
    from websockets.asyncio.client import connect

    answers, ws = [], None
    try:
        for question in questions:
            if ws is None:
                try:
                    ws = await connect(
                        f"{server.ws_url}/ws/chat/new/",
                        origin=server.url,
                        proxy=None,
                        open_timeout=HTTP_SECONDS,
                        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
                    )
                except Exception as exc:  # refused, rejected handshake, timeout: all count as errors
                    answers.append(Answer(question, error=f"WebSocket not opened: {exc}"))
                    continue
            answer = await _ask(ws, question)
            answers.append(answer)
            if answer.error:
                await ws.close()
                ws = None
    finally:
        if ws is not None:
            await ws.close()
    return answers


async def _ask(ws, question: str) -> Answer:
    from websockets.exceptions import ConnectionClosed

    answer = Answer(question)
    started = time.perf_counter()
    await ws.send(json.dumps({"message": question}))
    deadline = started + ANSWER_SECONDS
    while True:
        try:
            frame = await asyncio.wait_for(ws.recv(), timeout=max(0.0, deadline - time.perf_counter()))
        except TimeoutError:
            answer.error = f"no whole answer within {ANSWER_SECONDS} s"
            return answer
        except ConnectionClosed as exc:
            answer.error = f"the socket closed mid-answer ({exc})"
            return answer
        elapsed_ms = (time.perf_counter() - started) * 1000
        error = ERROR_FRAME.search(frame)
        if error and error.group(1).strip():
            answer.error = f"the server said: {html.unescape(error.group(1).strip())}"
            return answer
        token = TOKEN_FRAME.search(frame)
        if answer.ttft_ms is None and token and token.group(1).strip():
            answer.ttft_ms = elapsed_ms
        if DONE_FRAME.search(frame):
            answer.total_ms = elapsed_ms
            message_id = MESSAGE_ID.search(frame)
            if message_id is None:
                answer.error = "the finished answer has no message id"
            elif answer.ttft_ms is None:
                answer.error = "the answer finished without any text"
            else:
                answer.message_id = int(message_id.group(1))
            return answer
