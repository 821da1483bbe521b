"""The arc: the shape of a picture book, fitted to its page count, decided before any beat.

A small model asked for "six beats" writes the premise six times; asked for "the page where
the trouble starts" it writes a different page. So the planner fixes each page's *stage* first
(storyteller.story.ARC_STAGES) and asks for one beat per stage, with the stage's guidance:

    opening -> want -> trouble -> try (escalating, as many as fit) -> turn -> resolution -> closing

Short books drop stages from the middle out (a 3-page book is opening, trouble, resolution);
long books give the extra pages to the tries, then to trouble and resolution. Deterministic:
the same page count always gives the same arc.
"""

from __future__ import annotations

from storyteller.languages import ENGLISH, Language
from storyteller.story import Bible

# Which stages a book of n pages has, for n below 7; 7 pages and more have all of them.
_SHORT = {
    1: ["resolution"],
    2: ["opening", "resolution"],
    3: ["opening", "trouble", "resolution"],
    4: ["opening", "trouble", "turn", "resolution"],
    5: ["opening", "want", "trouble", "turn", "resolution"],
    6: ["opening", "want", "trouble", "try", "turn", "resolution"],
}
# Shares of a long book's pages beyond one per stage: most go to the tries (the middle of a
# story is its attempts), some to the trouble growing and to the resolution unfolding.
_LONG_SHARES = {"try": 0.6, "trouble": 0.15, "resolution": 0.1, "want": 0.05, "turn": 0.05, "opening": 0.05}


def arc_for(pages: int) -> list[str]:
    """The stage of each page, in order."""
    if pages < 1:
        raise ValueError(f"a story has at least one page, got {pages}")
    if pages in _SHORT:
        return list(_SHORT[pages])
    counts = {stage: 1 for stage in ("opening", "want", "trouble", "try", "turn", "resolution", "closing")}
    extra = pages - len(counts)
    shares = {stage: int(extra * share) for stage, share in _LONG_SHARES.items()}
    shares["try"] += extra - sum(shares.values())  # what rounding left over
    for stage, n in shares.items():
        counts[stage] += n
    return [stage for stage, n in counts.items() for _ in range(n)]


def guidance(stage: str, bible: Bible, name: str, *, index: int = 1, of: int = 1, last: bool = False,
             language: Language = ENGLISH) -> str:
    """What the page of this stage is for, in the words (and the language) the beat prompt uses.
    `index`/`of`: which of the stage's pages this is (the third of five tries escalates more
    than the first)."""
    words = language.guidance
    fill = {"name": name, "index": index, "of": of,
            "want": bible.want.rstrip(".。") or words["want?"],
            "obstacle": bible.obstacle.rstrip(".。") or words["obstacle?"],
            "setting": bible.setting.rstrip(".。") or words["setting?"]}
    if stage == "try":
        key = "try1" if of == 1 else "try-last" if index == of else "try+" if index > 1 else "try"
    elif stage in ("opening", "trouble", "resolution") and index > 1:
        key = f"{stage}+"
    else:
        key = stage if stage in words else "continue"  # a reader's direction past the plan
    text = words[key].format(**fill)
    if last and stage not in ("resolution", "closing"):
        text += words["last"]
    return text


def opener(stage: str, index: int, attempt: int, *, hero: str, friend: str, language: Language = ENGLISH) -> str | None:
    """The words page `index` of its stage starts with, in the story's language (None for a
    reader's direction: the reader says what happens). A small model told "the turning point"
    writes the last page again; made to start with "Suddenly," (the grammar forces the words) it
    writes a turn. `attempt` picks another opener for a re-asked beat."""
    choices = language.openers.get(stage)
    if not choices:
        return None
    return choices[(index - 1 + attempt) % len(choices)].format(hero=hero, friend=friend)


def positions(arc: list[str]) -> list[tuple[int, int]]:
    """(index, of) of each page within its stage: the 2nd of 3 tries is (2, 3)."""
    totals = {stage: arc.count(stage) for stage in arc}
    seen: dict[str, int] = {}
    out = []
    for stage in arc:
        seen[stage] = seen.get(stage, 0) + 1
        out.append((seen[stage], totals[stage]))
    return out
