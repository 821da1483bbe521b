"""Does every picture show its own moment, with the characters still themselves?

    python benchmarks/shots.py --write DIR [--pages 4] [--premises N]   # write the shared premises' stories
    python benchmarks/shots.py DIR --redraw-from OLD              # OLD's stories, staged and drawn again into DIR
    python benchmarks/shots.py DIR [--label after] [--contact-sheet STORY]  # measure the story folders in DIR

Writing uses the embedded default (Storyteller() with no configuration), one folder per premise of
../shared/eval/premises.txt. Redrawing keeps each story's text (written by whatever version wrote
OLD) and makes everything a picture depends on again with this version: the characters' sheets,
each page's shot (the embedded LLM and the words), each picture through the gate. So the same
texts can be compared before and after a change to the pictures. Measuring reads only the folders, so stories written by an older
version of storyteller (before shots existed) are measured the same way. Per story:

* composition similarity: mean pairwise cosine similarity of its pages' pictures in the classical
  descriptor (colours, layout, edges): lower means the pages look less alike;
* gate: the share of pages that passed the consistency gate at the first attempt, and the mean
  character score of the first attempt (from the pictures' provenance);
* props: of the things the page's words name (storyteller.staging's lexicon), how many the
  storyboard's provenance says it drew;
* actions: of the actions the page asks for (its shot's cast; for a page without a shot, what the
  same lexicon reads in its text), how many were drawn as that action;
* on-stage count: pages whose number of figures drawn equals the number of characters on stage;
* same-looking pairs: pairs of pages whose pictures are near-identical (similarity > 0.97).

Prints a table and writes benchmarks/results/shots-LABEL.json. --contact-sheet writes the pages
of one story side by side into docs/images/contact-LABEL.png.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PREMISES = ROOT.parent / "shared" / "eval" / "premises.txt"
SAME_LOOKING = 0.97


def write(out: Path, pages: int, limit: int | None) -> None:
    from storyteller import Storyteller
    from storyteller.story import slugify

    premises = [line.strip() for line in PREMISES.read_text().splitlines() if line.strip()][:limit]
    teller = Storyteller()
    for premise in premises:
        folder = out / slugify(premise)
        if (folder / "story.json").exists():
            continue
        started = time.perf_counter()
        try:
            teller.new_story(premise, out=folder, pages=pages, style="watercolor", seed=0)
            print(f"{time.perf_counter() - started:6.1f}s  {premise}", flush=True)
        except Exception as exc:  # a benchmark goes on with the next premise, and says why this one failed
            print(f"FAILED {premise}: {exc!r}", flush=True)


def redraw(source: Path, out: Path) -> None:
    import shutil

    from storyteller import Storyteller
    from storyteller.agent.graph import StoryRun
    from storyteller.agent.shots import make_shot
    from storyteller.session import StoryFolder

    teller = Storyteller()
    for src in sorted(source.iterdir()):
        target = out / src.name
        if not (src / "story.json").is_file() or target.exists():
            continue
        started = time.perf_counter()
        shutil.copytree(src, target, ignore=shutil.ignore_patterns("memory", ".storyteller.lock"))
        folder = StoryFolder.open(target)
        try:
            story = folder.story
            for character in story.characters:
                character.reference_assets = []  # open_memory draws each sheet again
            run = StoryRun(teller.toolbox, folder=folder, seed=story.seed)
            run.open_memory()
            for i, page in enumerate(story.pages):
                page.shot = make_shot(teller.toolbox.llm, text=page.text, scene=page.scene,
                                      cast=[story.character(s) for s in page.characters], seed=story.seed + page.number,
                                      previous=story.pages[i - 1].shot if i else None)
                page.illustration = run.draw(page, story.seed * 1000 + page.number, stem=f"page-{page.number:02d}-shot")
            run.memory.save()
            folder.save()
        finally:
            folder.close()
        print(f"{time.perf_counter() - started:6.1f}s  redrew {src.name}", flush=True)


def _asked_actions(story, page) -> dict[str, str]:
    from storyteller import staging
    from storyteller.agent.shots import names_of

    if page.shot is not None:
        return {m.character: m.action for m in page.shot.cast}
    cues = staging.read_cast(page.text, {slug: names_of(story.character(slug)) for slug in page.characters})
    return {slug: c["action"].value for slug, c in cues.items() if "action" in c}


def measure_story(folder: Path, embedder) -> dict | None:
    from PIL import Image

    from storyteller import staging
    from storyteller.session import load_story

    story = load_story(folder)
    pages = [p for p in story.pages if p.illustration is not None]
    if not pages:
        return None
    images = []
    for p in pages:
        with Image.open(folder / p.illustration.path) as image:
            images.append(image.convert("RGB"))
    vectors = embedder.embed_images(images)
    pairs = [float(vectors[i] @ vectors[j]) for i, j in itertools.combinations(range(len(pages)), 2)]
    first_pass, first_scores = [], []
    props_named = props_drawn = 0
    actions_asked = actions_drawn = 0
    count_right = 0
    for page in pages:
        params = page.illustration.provenance.parameters
        gate = params.get("consistency") or {}
        if gate.get("attempts"):
            first = gate["attempts"][0]
            first_pass.append(bool(first.get("passed")))
            if first.get("character") is not None:
                first_scores.append(first["character"])
        exclude = [w for slug in page.characters for w in (story.character(slug).name, story.character(slug).appearance.species)]
        named = {c.value for c in staging.read_props(f"{page.scene}. {page.text}", exclude=exclude, limit=99)}
        drawn_props = set(params.get("props", []))
        props_named += len(named)
        props_drawn += len(named & drawn_props)
        figures = params.get("figures", [])
        drawn_actions = {f.get("key"): f.get("action", "stand") for f in figures}
        for slug, action in _asked_actions(story, page).items():
            if action == "stand":
                continue
            actions_asked += 1
            actions_drawn += drawn_actions.get(slug) == action
        count_right += len(figures) == len(page.characters)
    same = sum(s > SAME_LOOKING for s in pairs)
    return {
        "story": folder.name, "title": story.title, "pages": len(pages),
        "composition_similarity": round(float(np.mean(pairs)), 4) if pairs else None,
        "same_looking_pairs": same, "pairs": len(pairs),
        "gate_first_pass": round(sum(first_pass) / len(first_pass), 4) if first_pass else None,
        "gate_first_character": round(float(np.mean(first_scores)), 4) if first_scores else None,
        "props_named": props_named, "props_drawn": props_drawn,
        "actions_asked": actions_asked, "actions_drawn": actions_drawn,
        "onstage_right": count_right,
    }


def contact_sheet(folder: Path, out: Path, columns: int = 3, thumb: int = 320) -> None:
    from PIL import Image

    from storyteller.session import load_story

    story = load_story(folder)
    files = [folder / p.illustration.path for p in story.pages if p.illustration is not None]
    thumbs = []
    for path in files:
        with Image.open(path) as image:
            image = image.convert("RGB")
            thumbs.append(image.resize((thumb, round(image.height * thumb / image.width)), Image.LANCZOS))
    rows = (len(thumbs) + columns - 1) // columns
    th = max(t.height for t in thumbs)
    sheet = Image.new("RGB", (columns * (thumb + 8) + 8, rows * (th + 8) + 8), (255, 255, 255))
    for i, t in enumerate(thumbs):
        sheet.paste(t, (8 + (i % columns) * (thumb + 8), 8 + (i // columns) * (th + 8)))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--write", action="store_true", help="write the premises' stories into FOLDER first")
    parser.add_argument("--redraw-from", type=Path, default=None, help="stage and draw OLD's stories again into FOLDER")
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--premises", type=int, default=None, help="only the first N premises")
    parser.add_argument("--label", default="after")
    parser.add_argument("--contact-sheet", default=None, help="a story folder name in FOLDER")
    args = parser.parse_args()
    if args.write:
        write(args.folder, args.pages, args.premises)
    if args.redraw_from:
        args.folder.mkdir(parents=True, exist_ok=True)
        redraw(args.redraw_from, args.folder)

    from storyteller.backends.classical_image_embed import ClassicalImageEmbedder

    embedder = ClassicalImageEmbedder()
    stories = [r for f in sorted(args.folder.iterdir()) if (f / "story.json").is_file() and (r := measure_story(f, embedder))]

    def ratio(a: str, b: str) -> float | None:
        total = sum(s[b] for s in stories)
        return round(sum(s[a] for s in stories) / total, 4) if total else None

    def mean(key: str) -> float | None:
        values = [s[key] for s in stories if s[key] is not None]
        return round(float(np.mean(values)), 4) if values else None

    pages = sum(s["pages"] for s in stories)
    summary = {
        "label": args.label, "stories": len(stories), "pages": pages,
        "composition_similarity": mean("composition_similarity"),
        "same_looking_pairs": sum(s["same_looking_pairs"] for s in stories), "pairs": sum(s["pairs"] for s in stories),
        "gate_first_pass": round(sum((s["gate_first_pass"] or 0) * s["pages"] for s in stories) / pages, 4) if pages else None,
        "gate_first_character": mean("gate_first_character"),
        "props_drawn_of_named": ratio("props_drawn", "props_named"),
        "actions_drawn_of_asked": ratio("actions_drawn", "actions_asked"),
        "onstage_count_accuracy": round(sum(s["onstage_right"] for s in stories) / pages, 4) if pages else None,
    }
    print(f"{'story':42} {'pages':>5} {'sim':>6} {'same':>5} {'gate1':>6} {'char1':>6} {'props':>7} {'actions':>8} {'count':>6}")
    for s in stories:
        print(f"{s['story'][:42]:42} {s['pages']:5d} {s['composition_similarity'] or 0:6.3f} {s['same_looking_pairs']:5d} "
              f"{s['gate_first_pass'] or 0:6.2f} {s['gate_first_character'] or 0:6.3f} "
              f"{s['props_drawn']:>3}/{s['props_named']:<3} {s['actions_drawn']:>3}/{s['actions_asked']:<4} "
              f"{s['onstage_right']:>2}/{s['pages']:<3}")
    print(json.dumps(summary, indent=2))
    out = ROOT / "benchmarks" / "results" / f"shots-{args.label}.json"
    out.write_text(json.dumps({"summary": summary, "stories": stories}, indent=2) + "\n")
    print(f"wrote {out}")
    if args.contact_sheet:
        target = ROOT / "docs" / "images" / f"contact-{args.label}.png"
        contact_sheet(args.folder / args.contact_sheet, target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
