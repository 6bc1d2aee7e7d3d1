"""Tokenisation for the sparse index and support scoring (language: :mod:`medsage.lang`).

Chinese is segmented with ``jieba`` (search mode, so compound words also yield their
parts); English is lower-cased, stop-word filtered and Snowball-stemmed (PyStemmer).
Both scripts can occur in one text; each run of characters is handled by its script.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9][A-Za-z0-9\-']*")
_ZH_STOP = frozenset(
    ["的", "了", "和", "是", "在", "有", "与", "及", "或", "等", "对", "中", "为", "也", "就", "都", "而", "被", "这", "那", "其", "之", "于", "以", "上", "下", "我", "你", "他", "她", "它", "们", "吗", "呢", "吧", "啊", "什么", "怎么", "如何", "哪些", "是否", "可以", "会", "能", "要", "应该", "一个", "一种", "一些", "这个", "那个", "因为", "所以", "如果", "但是"]
)
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _stopwords_en() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | {"(are)", "are", "is", "what", "how", "does", "do"}


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def token_pairs(text: str) -> list[tuple[str, str]]:
    """``(token, surface)`` for each index token of ``text``, in order.

    The surface is the word the token came from: the lower-cased English word before
    stemming (``"asthmatic"`` for the token ``"asthmat"``), the Chinese word itself.
    """
    stop = _stopwords_en()
    out: list[tuple[str, str]] = []
    for run in _RUNS.findall(text):
        if _CJK.match(run[0]):
            for word in _jieba().lcut_for_search(run):
                if word not in _ZH_STOP:
                    out.append((word, word))
        else:
            low = run.lower().strip("-'")
            if low and low not in stop and len(low) < 40:
                out.append((_stem(low), low))
    return out


def tokenize(text: str) -> list[str]:
    """Index tokens of ``text``: stemmed English words and segmented Chinese words."""
    return [token for token, _ in token_pairs(text)]
