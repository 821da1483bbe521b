"""Measures of a story's text: what `storyteller eval` reports and what the writer's critic scores.

Pure functions on strings, no model: the same number whether it is computed on a page candidate
or on a finished story. They read English and Chinese, by script, so a text mixing both works:
Latin words by their letters, Chinese (CJK ideographs) cut into words by jieba's dictionary
(`words`), sentences ended by . ! ? or 。！？, quotes "" “” 「」, and each language's own meta
phrases and premise grammar. Another language adds its rules beside these.

- sentences / sentence_key: the units repetition is counted in;
- distinct_n: unique n-grams over all n-grams of a text (Li et al. 2016's distinct-2 at n=2);
- repeated_sentences: sentences that appear on more than one page;
- meta_text: words about the book rather than of it ("In conclusion", "Page 3", "the premise");
- dialogue_lines: quoted speech;
- reading_grade: Flesch-Kincaid grade level, syllables counted by a vowel-group rule;
- premise_kinds / protagonist_matches: what the premise says the main character is, and whether
  a character is of that kind;
- copied_spans: runs of words copied from a source (the prompt's context, a character sheet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_RANGES}]")
_WORD = re.compile(f"[{_CJK_RANGES}]+|[^\\W\\d_]+(?:['’][^\\W\\d_]+)*|\\d+")

STOPWORDS = frozenset(
    "a an the and or but if then so of to in on at by for with from into onto over under up down out off "
    "about after before again all am are as be been being can could did do does doing each few had has have "
    "having he her here hers herself him himself his how i is it its itself just me more most my myself no nor "
    "not now once only other our ours ourselves own same she should some such than that their theirs them "
    "themselves there these they this those through too until very was we were what when where which while who "
    "whom why will would you your yours yourself yourselves one two three four five who's it's that's".split()
    # Chinese function words
    + "的 了 着 过 在 是 和 与 跟 也 就 都 而 及 把 被 让 给 向 从 对 他 她 它 他们 她们 它们 我 我们 你 你们 这 那 "
    "这个 那个 一个 一只 有 没有 很 还 又 吗 呢 吧 啊 呀 地 得 说 上 下 里 中 个 只".split()
)


# A sentence ends at . ! or ? (and the quote or bracket closing there) when what follows starts a
# new one: a capital, a quote, or the end. '"I was lost!" said Fox.' is one sentence. 。！？ end
# one wherever they are ("“看！”小狐狸说。" is one sentence: the quote mark follows the 。).
# Titles before a name ("Mrs. Brown") end no sentence.
_BREAK = re.compile(r"(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)[.!?]+[\"'”’)]*(?=\s+[\"“'‘(]*[A-Z0-9" + _CJK_RANGES + r"]|\s+[\"“'‘]*\s*$|\s*$)")
_ZH_OPEN, _ZH_CLOSE, _ZH_END = "“「『", "”」』", "。！？"


def _zh_sentences(text: str) -> list[str]:
    """Chinese sentences: a 。！or ？ outside quotation marks ends one, with what closes it; inside
    quotes it ends the speech, not the sentence ("“看！”小狐狸说。" is one)."""
    found, start, depth, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += (ch in _ZH_OPEN) - (ch in _ZH_CLOSE and depth > 0)
        if ch in _ZH_END and depth == 0:
            while i + 1 < len(text) and (text[i + 1] in _ZH_END or text[i + 1] in "）)"):
                i += 1
            found.append(text[start:i + 1])
            start = i + 1
        i += 1
    found.append(text[start:])
    return found


def is_cjk(text: str) -> bool:
    """Whether a text is mostly Chinese (CJK ideographs among its letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(bool(_CJK.match(ch)) for ch in letters) / len(letters) > 0.3


_jieba = None


def configured_jieba():
    """jieba, loaded once and quiet, its dictionary cache in storyteller's cache folder (never in
    /tmp); None when it is not installed. Everything that cuts Chinese words goes through here,
    Kokoro's Mandarin phonemes (misaki, which calls jieba itself) included."""
    global _jieba
    if _jieba is None:
        try:
            import jieba
        except ImportError:
            _jieba = False
        else:
            import logging

            from storyteller.paths import cache_dir

            jieba.setLogLevel(logging.WARNING)
            folder = cache_dir() / "jieba"
            folder.mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(folder)
            _jieba = jieba
    return _jieba or None


def _cut(run: str) -> list[str]:
    """Chinese words of a run of ideographs, by jieba's dictionary; each ideograph a word without jieba."""
    jieba = configured_jieba()
    return jieba.lcut(run) if jieba else list(run)


def sentences(text: str) -> list[str]:
    """The sentences of a text that have at least one letter or digit (a lone quote is not one)."""
    found, start = [], 0
    for match in _BREAK.finditer(text):
        found.append(text[start:match.end()])
        start = match.end()
    found.append(text[start:])
    if _CJK.search(text):
        found = [piece for part in found for piece in _zh_sentences(part)]
    return [s.strip() for s in found if re.search(r"[^\W_]", s)]


def sentence_key(sentence: str) -> str:
    """A sentence reduced to lower-case letters, digits and spaces: two sentences that differ only
    in punctuation or case are the same sentence."""
    return " ".join(re.sub(r"[^\w ]+", " ", sentence.lower()).split())


def words(text: str) -> list[str]:
    found: list[str] = []
    for w in _WORD.findall(text):
        if _CJK.match(w):
            found += _cut(w)
        else:
            found.append(w.lower().replace("’", "'"))
    return found


def singular(word: str) -> str:
    """A plural English noun's singular, by rule: enough to match "foxes" with "fox", "mice"
    with "mouse" and "sisters" with "sister" (an unknown word comes back unchanged)."""
    irregular = {"mice": "mouse", "geese": "goose", "children": "child", "people": "person", "men": "man",
                 "women": "woman", "feet": "foot", "teeth": "tooth", "wolves": "wolf", "leaves": "leaf",
                 "elves": "elf", "knives": "knife", "lives": "life", "shelves": "shelf", "calves": "calf"}
    if word in irregular:
        return irregular[word]
    if not word.isascii():
        return word  # Chinese has no plural to undo
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and re.search(r"(ch|sh|x|ss|z)es$", word):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    return [singular(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or not w.isascii())]


def distinct_n(text: str, n: int = 2) -> float | None:
    """Unique n-grams / all n-grams of the text's words; None for a text shorter than n words."""
    tokens = words(text)
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def repeated_sentences(pages: Sequence[str]) -> list[tuple[str, list[int]]]:
    """(sentence, the 1-based pages it is on) for every sentence that is on more than one page."""
    where: dict[str, list[int]] = {}
    first: dict[str, str] = {}
    for number, text in enumerate(pages, start=1):
        for sentence in sentences(text):
            key = sentence_key(sentence)
            if not key:
                continue
            first.setdefault(key, sentence)
            if number not in where.setdefault(key, []):
                where[key].append(number)
    return [(first[k], on) for k, on in where.items() if len(on) > 1]


# Words about the book, not of it: a page must never say them. Each pattern names one habit of
# small models (summing up, citing the page, naming the prompt's parts, speaking as an assistant).
META_PATTERNS = {
    "summing up": r"\b(in conclusion|to sum up|in summary|all in all|overall,|the moral of (the|this) story)",
    "page or chapter label": r"\b(page|chapter|part)\s+\d+\b",
    "the prompt's words": r"\b(premise|story ?beat|beat:|character sheet|what happens:|where:|the reader (asks|wants))",
    "sheet labels": r"\b(looks|personality|voice|clothing|species|colou?rs):\s",
    "talk about the story": r"\b(this (story|book|tale|page) (is|was|tells|shows|ends)|the story (ends|begins|continues) (here|now)|"
                            r"our story|the end of (the|this) (story|book)|the scene (is|was|shows)|on this page)",
    "assistant talk": r"\b(as an ai|here is (the|a|your) (page|story|text)|here's (the|a|your) (page|story)|"
                      r"i hope you enjoy|let me know)",
    # The same habits in Chinese.
    "总结": r"(总之|总而言之|综上所述|这个故事告诉我们)",
    "页码": r"(第\s*[0-9一二三四五六七八九十]+\s*页)",
    "提示的话": r"(故事梗概|角色卡|故事大纲|读者(要求|希望))",
    "谈论故事": r"(这个故事(讲|是|结束)|故事(到此|就此)结束|本页)",
    "助手的话": r"(作为(一个)?(AI|人工智能)|希望你喜欢)",
}
_META = {name: re.compile(pattern, re.I) for name, pattern in META_PATTERNS.items()}


def meta_text(text: str) -> list[str]:
    """The meta phrases in a text, as found, each with the habit it shows ("summing up: In conclusion")."""
    return [f"{name}: {m.group(0).strip()}" for name, pattern in _META.items() for m in pattern.finditer(text)]


_QUOTE = re.compile(r"[\"“«「]([^\"”»」]{2,}?)[\"”»」]")


def dialogue_lines(text: str) -> list[str]:
    """Quoted speech of two words or more ("Look!" said Fern. -> no; "Look at that!" -> yes)."""
    return [q.strip() for q in _QUOTE.findall(text) if len(words(q)) >= 2]


def syllables(word: str) -> int:
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1  # a silent final e
    return max(1, count)


def reading_grade(text: str) -> float | None:
    """Flesch-Kincaid grade level: 0.39 words/sentence + 11.8 syllables/word - 15.59. Picture books
    sit around grades 1 to 4; None for a text with no sentence, and for Chinese (the formula
    counts English syllables; it has no Chinese counterpart of equal standing)."""
    if is_cjk(text):
        return None
    found = sentences(text)
    tokens = [w for w in words(text) if not w.isdigit()]
    if not found or not tokens:
        return None
    return round(0.39 * len(tokens) / len(found) + 11.8 * sum(map(syllables, tokens)) / len(tokens) - 15.59, 2)


# The premise's subject ends where its predicate starts: at a relative pronoun, a preposition, or
# the verb. Verbs are found by a short list of common ones and by position: once a noun has been
# seen, a word right before a determiner or preposition is the verb ("A girl discovers a door",
# "Two sisters build a robot", "A lost kite travels around the world").
_SKIP = {"a", "an", "the", "two", "three", "four", "five", "some", "my", "our", "this", "one", "and", "his", "her",
         "their", "its"}
_ADJECTIVES = {"young", "little", "old", "big", "small", "tiny", "shy", "brave", "lost", "lonely", "curious", "clever",
               "sleepy", "happy", "sad", "grumpy", "kind", "retired", "magic", "magical", "wise", "giant", "baby",
               "new", "last", "first", "gentle", "proud", "timid", "silly", "quiet", "noisy"}
_GROUPS = {"family", "group", "pair", "band", "crew", "team", "flock", "pack", "herd", "couple", "bunch", "troop"}
_RELATIVE = {"who", "that", "which", "whose", "where", "when"}
_PREPOSITIONS = {"in", "on", "at", "from", "to", "for", "with", "into", "across", "around", "through", "under",
                 "over", "near", "by", "after", "before", "about", "out", "up", "down", "along"}
_FOLLOWERS = _PREPOSITIONS | {"a", "an", "the", "her", "his", "their", "its", "my", "our", "lost", "away", "home",
                              "together", "every", "each", "all", "some"}
_VERBS = {"is", "are", "was", "were", "has", "have", "gets", "get", "go", "goes", "become", "becomes", "wants",
          "want", "wishes", "wish", "tries", "try", "learns", "learn", "finds", "find", "meets", "meet", "makes",
          "make", "lives", "live", "dreams", "loves", "love", "starts", "start", "must", "can", "will", "refuses"}


def premise_kinds(premise: str) -> list[str]:
    """What the premise says its main character(s) are, as singular nouns in the premise's words:
    "A lighthouse keeper who befriends a seal" -> ["lighthouse", "keeper"]; "A boy and his dog
    search..." -> ["boy", "dog"]; "A family of hedgehogs moves..." -> ["hedgehog"]. Adjectives
    ("shy", "old") are left out. Empty when the premise has no subject this reader can find.
    A Chinese premise is read by its own grammar (_premise_kinds_zh)."""
    if is_cjk(premise):
        return _premise_kinds_zh(premise)
    tokens = words(premise)
    kinds: list[str] = []
    i = 0
    while i < len(tokens):
        w, nxt = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        if w in _RELATIVE or (kinds and (w in _VERBS or (w in _PREPOSITIONS and w != "of"))):
            break
        if w in _GROUPS and nxt == "of":
            i += 2
            continue
        if w in _SKIP or w in _ADJECTIVES:
            i += 1
            continue
        if kinds and nxt in _FOLLOWERS and not w.endswith("'s"):
            break  # the verb
        kinds.append(singular(w[:-2] if w.endswith("'s") else w))
        i += 1
    return list(dict.fromkeys(k for k in kinds if k not in STOPWORDS))


# A Chinese premise's subject comes before its predicate: a preposition (在, 用, 把 ...), or a verb
# that follows a noun and is not part of a compound noun with the next word ("灯塔看守人": 看守
# between nouns is part of the name). Numbers and measure words before a noun ("一只", "两") go.
_ZH_NUMBER = re.compile(r"^[一二两三四五六七八九十几]+[只个位条头匹群家对]?")


def _premise_kinds_zh(premise: str) -> list[str]:
    try:
        import jieba.posseg as posseg
    except ImportError:
        return []
    _cut("")  # jieba set up quietly, its cache in ours
    tokens = [(t.word, t.flag) for t in posseg.lcut(premise) if t.word.strip()]
    kinds: list[str] = []
    span: list[str] = []
    phrase = 0  # where the noun phrase being read starts in `kinds`
    second = False  # after 和: one more noun phrase, then the subject is over
    for i, (word, flag) in enumerate(tokens):
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if word in "，。！？,.!?" or (kinds and flag.startswith("p")):
            break
        if flag.startswith("n"):
            head = _ZH_NUMBER.sub("", word) or word
            span.append(word if span else head)
            kinds.append(head)
            if len(span) > 1:
                kinds.append("".join(span))
            if second and not after.startswith("n") and after != "uj":
                break
        elif flag.startswith("v") and span and after.startswith("n") and i + 2 < len(tokens) and \
                tokens[i + 2][1] != "uj":
            span.append(word)  # a verb inside a compound noun ("看守" in 灯塔看守人)
        elif flag.startswith("v") and kinds:
            break  # the predicate
        elif word in ("和", "与", "跟", "同") and kinds:
            span, phrase, second = [], len(kinds), True  # a second subject follows ("小男孩和他的狗")
        elif word == "的":
            del kinds[phrase:]  # what came before describes the noun that follows ("穿着宇航服的猫")
            span = []
        else:
            span = []
    return list(dict.fromkeys(k for k in kinds if k and k not in STOPWORDS and len(k) <= 8))


def protagonist_matches(premise: str, kind_words: Iterable[str]) -> bool | None:
    """Whether a character described by `kind_words` (species, kind, name...) is of a kind the
    premise names for its main character; None when the premise names none."""
    kinds = set(premise_kinds(premise))
    if not kinds:
        return None
    described = {singular(w) for text in kind_words for w in words(text)}
    joined = "".join(kind_words)
    # A Chinese kind may be a compound the premise writes as one word ("灯塔看守人").
    return bool(kinds & described) or any(not k.isascii() and k in joined for k in kinds)


def premise_coverage(premise: str, text: str) -> float | None:
    """Share of the premise's content words (singular) that the story's text uses."""
    wanted = set(content_words(premise))
    if not wanted:
        return None
    present = set(content_words(text))
    return round(len(wanted & present) / len(wanted), 4)


def copied_spans(text: str, sources: Iterable[str], n: int = 7) -> list[str]:
    """Runs of at least `n` consecutive words of `text` that also occur in one of `sources`: the
    page copying its prompt or a character sheet. Merged, so one long copy is one span."""
    tokens = words(text)
    grams: set[tuple[str, ...]] = set()
    for source in sources:
        src = words(source)
        grams.update(tuple(src[i : i + n]) for i in range(len(src) - n + 1))
    spans, i = [], 0
    while i <= len(tokens) - n:
        if tuple(tokens[i : i + n]) in grams:
            j = i + n
            while j < len(tokens) and tuple(tokens[j - n + 1 : j + 1]) in grams:
                j += 1
            spans.append(" ".join(tokens[i:j]))
            i = j
        else:
            i += 1
    return spans
