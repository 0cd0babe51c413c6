"""Answer quality on a BEIR dataset whose queries carry gold ``answers``."""

from __future__ import annotations

import json
import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatcore.progress import progress_over
from retrieval.answers import CITATION, cited_sources, word_count
from retrieval.embeddings import get_embedder
from retrieval.evaluation import build_index, open_dataset
from retrieval.llm import Options, get_provider
from retrieval.llm.prompts import build_messages
from retrieval.pipeline import write_answer
from retrieval.services import sources_from_hits
from retrieval.text import detect_language, fold


def first_sentence(answer: str) -> str:
    """The answer up to its first citation: the offline answerer closes each sentence with one."""
    match = CITATION.search(answer)
    return answer[: match.end()] if match else answer


class Command(BaseCommand):
    help = "Share of answers holding a gold answer, share citing the gold paragraph, mean words, latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--provider", default=None, help="Provider name (default: LLM_PROVIDER).")
        parser.add_argument("--limit", type=int, default=0, help="Only the first N questions.")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")

    def handle(self, *args, dataset: str, provider: str | None, limit: int, as_json: bool, **options) -> None:
        data = open_dataset(dataset)
        queries = [q for q in data.queries if q.get("answers")]
        if not queries:
            raise CommandError(f"{dataset}: no query carries gold 'answers'")
        if limit:
            queries = queries[:limit]
        llm = get_provider(provider)
        embedder = get_embedder()

        def bar(desc):
            return progress_over(self, desc=desc, quiet=as_json)

        index, _ = build_index(data, embedder, progress=bar("embedding passages"))
        documents = {d["_id"]: {"doc_type": "passage", "title": str(d.get("title") or "").replace("_", " ")} for d in data.corpus}
        has_gold, first_has_gold, cites_gold, words, latencies = [], [], [], [], []
        for query in bar(f"answering with {llm.name}")(queries):
            started = time.perf_counter()
            hits = index.search(query["text"], embedder.embed_query(query["text"]), k=4)
            sources = sources_from_hits(hits, documents)
            language = detect_language(query["text"])
            messages = build_messages(question=query["text"], language=language, sources=sources, history=[])
            options = Options(question=query["text"], language=language, sources=sources)
            # The chat's own writing step (provider, then the fallback on failure), on this dataset's sources.
            parts = []
            for event in write_answer(provider=llm, messages=messages, options=options):
                if event.kind == "reset":
                    parts = []
                elif event.kind == "token":
                    parts.append(event.data["text"])
            answer = "".join(parts)
            latencies.append((time.perf_counter() - started) * 1000)
            has_gold.append(any(fold(g) in fold(answer) for g in query["answers"]))
            first = first_sentence(answer)
            first_has_gold.append(any(fold(g) in fold(first) for g in query["answers"]))
            cites_gold.append(any(s.key in data.qrels[query["_id"]] for s in cited_sources(answer, sources)))
            words.append(word_count(answer))
        result = {
            "dataset": data.name,
            "provider": llm.name,
            "questions": len(queries),
            "answer_has_gold": round(float(np.mean(has_gold)), 4),
            "first_sentence_has_gold": round(float(np.mean(first_has_gold)), 4),
            "cites_gold": round(float(np.mean(cites_gold)), 4),
            "mean_words": round(float(np.mean(words)), 1),
            "median_words": float(np.median(words)),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        }
        if not as_json:
            self.stdout.write(
                f"{'dataset':<12}{'provider':<10}{'questions':>10}{'has gold':>10}{'cites gold':>11}{'words':>7}{'p50 ms':>8}"
            )
            self.stdout.write(
                f"{result['dataset']:<12}{result['provider']:<10}{result['questions']:>10}"
                f"{result['answer_has_gold']:>10.3f}{result['cites_gold']:>11.3f}"
                f"{result['mean_words']:>7.1f}{result['p50_ms']:>8.1f}"
            )
        self.stdout.write(json.dumps(result))
