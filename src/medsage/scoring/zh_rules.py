"""The phrase patterns :mod:`medsage.scoring.extract` uses, as data.

Patterns run on NFKC-normalised text (full-width colons, commas and brackets are
already ASCII). A statement pattern ends where the answer starts; the extractor
then reads the letter (or the option's own text) and anything joined to it.
Each statement is ``(pattern, strict)``: a strict statement only counts when the
letter is followed by its option text, the end of the clause, or a verb
("是", "正确" …) — "是A" counts, "是A型血" does not.
"""

from __future__ import annotations

import re

OPEN = r"[\s\*\[\(【「『“\"'《]*"

_P = re.compile

# Tier 2: explicit statements of the answer.
STRONG: list[tuple[re.Pattern[str], bool]] = [
    (_P(r"(?i:answer_choice)\"?\s*[:=]\s*\"?"), False),
    (_P(r"(?i:\b(?:final\s+|correct\s+|best\s+|right\s+)?answer\s*(?:is|would\s+be|should\s+be|will\s+be|[:=])?"
        r"\s*(?:option\s*|choice\s*)?[:=]?\s*)"), False),
    (_P(r"(?i:\b(?:correct|right|best)\s+(?:option|choice)\s*(?:is|[:=])?\s*)"), False),
    (_P(r"(?:正确|最佳|最终|标准|参考|本题的?|我的|最后的?)?答案\s*(?:选项)?\s*(?:应该|应当|应|就|也)?\s*"
        r"(?:是|为|选|选择|:)\s*:?\s*(?:选项|选)?"), False),
    (_P(r"答案\s*(?:选项)?(?=[\[(【“\"'*]*[A-J](?![A-Za-z0-9]))"), False),
    (_P(r"答案\s*[】\]]\s*:?\s*"), False),
    (_P(r"(?<![问解作])答\s*:\s*"), False),
    (_P(r"(?:结论|最终选择|我的选择)\s*(?:是|为)?\s*:\s*"), False),
    (_P(r"正确(?:的)?(?:选项|选择)\s*(?:应该|应当|应)?\s*(?:是|为)?\s*:?\s*"), False),
    (_P(r"(?:最佳|最合适|最恰当|最正确)(?:的)?(?:选项|选择|答案)\s*(?:应该|应)?\s*(?:是|为)?\s*:?\s*"), False),
]

# Tier 3: choice statements.
MEDIUM: list[tuple[re.Pattern[str], bool]] = [
    (_P(r"(?:故|因此|所以|应当|应该|应|我|本题|则|可以|可|只能|会)?(?:选择|选)\s*(?:的是|是|为)?\s*:?\s*"), False),
    (_P(r"我们?(?:认为|觉得|倾向于?|会)\s*(?:选择|选)?\s*(?:的)?(?:答案|选项)?\s*(?:是|为)?\s*:?\s*(?:选项)?"), True),
    (_P(r"(?:(?<![但还于可总只要就都倒像即])是|(?<![因作认成行以称视较更])为|属于)\s*:?\s*(?:选项)?"), True),
    (_P(r"(?:所以|因此|故|综上所述?|总之|显然|即)\s*[,:]?\s*(?:选项)?"), True),
    (_P(r"(?i:\bI\s+(?:would\s+)?(?:choose|pick|select|go\s+with)\s+(?:option\s+)?|\boption\s+)"), True),
]

# Statements that name their letters first: "选项D正确", "B是正确答案", "B和C都对".
LETTERS_FIRST = _P(
    r"(?<![A-Za-z0-9])(?:选项)?(?P<run>[A-Z](?:\s*(?:和|与|及|、|,)\s*(?:选项)?[A-Z])*)(?![A-Za-z0-9])"
    r"\s*(?:选项|项)?\s*(?:都|均)?\s*(?:是|为|才是)?\s*(?:本题的?)?"
    r"(?:正确|对|最符合题意|符合题意|最合适|最恰当|最佳|最可能)(?:的)?(?:答案|选项)?"
    r"(?=$|[\s。.,;!！:)])"
)

# "选项A：…，是本题的正确答案", "选项A：严密观察产程进展，是正确的做法".
ANSWER_AFTER = _P(
    r"(?<![A-Za-z0-9])(?:选项)?(?P<run>[A-Z])(?![A-Za-z0-9])(?:选项|项)?\s*(?::(?:(?![A-J]\s*:)[^。;!?]){0,40}?)?\s*,?\s*"
    r"(?:是|(?<![认因作成行以称视])为|才是)\s*(?:本题|该题|此题)?的?(?:正确|最佳|最合适)的?(?:答案|选项|做法|选择)"
)

# After a strict letter: what may follow it.
STRICT_AFTER = _P(r"\s*(?:$|[。.;!?,)]|是|为|才是|正确|对|最|更|比较|可能|符合|项|选项)"
                  r"|(?i:\s*(?:is|was|seems|would|should|as|best|fits)\b)")
# After a letter: a negative judgement makes the statement not an answer ("A选项不正确").
NEG_AFTER = _P(r"\s*(?:选项|项)?\s*(?:是|为|也|则)?\s*(?:不(?:正确|对|符合|合适|恰当|选|考虑)|错误|错的|是错|并非|排除|除外)"
               r"|(?i:\s*(?:is|are)\s+(?:not|incorrect|wrong|false)\b|\s+(?:incorrect|wrong)\b)")
# Negations just before a statement ("不选A", "排除A").
NEG_BEFORE = ("不", "未", "没", "勿", "非", "排除", "无需")

JOINER = _P(r"\s*(?P<sep>以及|或者|或是|和|与|及|、|/|,|或|还是|(?i:\bor\b|\band\b)|&)\s*(?:选项)?\s*")
HEDGE_WORD = _P(r"或|还是|/|(?i:\bor\b)")

# Tier 5: clauses that state a conclusion.
CLAUSE_CUE = _P(
    r"答案|选择|应选|首选|选用|我认为|我觉得|最可能|最有可能|最常见|最严重|最佳|最合适|最恰当|最宜|最符合|"
    r"诊断为|诊断是|考虑为|考虑是|应为|应该是|是本题|综上|因此|所以|总之|可能性最大|首先考虑|(?<!事)故(?!障)"
)
CONNECTIVE_ONLY = _P(r".{0,10}(?:综上所述?|因此|所以|总之|故|可见|以上分析|综合考虑|以上情况|来看|而言)")
NEGATED_CLAUSE = _P(r"不是|不考虑|排除|并非|不符合|不太可能|不支持|不属于|不正确|错误|不会是|可能性较?小|除外|而不是|不能")

REFUSAL = _P(
    r"无法(?:回答|确定|判断|给出|作答|选择|提供)|不能(?:回答|确定|判断|给出)|难以(?:确定|判断|回答)|"
    r"抱歉|对不起|不太?清楚|不确定|不知道|不明白|咨询(?:专业)?(?:的)?医生|"
    r"(?i:\bI\s+(?:cannot|can't|can\s+not|am\s+unable\s+to)\b|\bnot\s+sure\b|\bI\s+don't\s+know\b|\bunable\s+to\b)"
)
