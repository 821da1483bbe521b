"""A photo that speaks: find who is in a photo, give each a sheet and a voice, and write and
narrate what they might be saying to each other.

    photo -> describe (captioner) + find people and animals (VLM or detector)
          -> cast (LLM: title, a name and personality per subject) -> voices
          -> script (LLM: N lines, each with speaker and tone) -> narrate line by line

The result is an ordinary story folder of kind "photo" with one page: the photo is its picture,
the script its text (and `dialogue`), and each character keeps where it is in the photo
(`photo_region`) and a crop of it as reference picture. `continue` goes on from it like any story.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, create_model, field_validator

from storyteller import prompts
from storyteller.agent.photos import describe_photo, store_photo
from storyteller.agent.structured import generate_structured
from storyteller.agent.voices import TONES, assign_voices
from storyteller.backends.base import Detection
from storyteller.backends.classical_vision import crop, dominant_colours
from storyteller.backends.detectors import VLM_PROMPT, found_record, parse_vlm_detections, where
from storyteller.errors import BackendCallError, InvalidInput
from storyteller.events import PageWritten, PlanReady, emit
from storyteller.session import StoryFolder
from storyteller.story import (Appearance, Character, DialogueLine, Page, PageBeat, Provenance, Region, Story,
                               StyleGuide, slugify)

MAX_SUBJECTS = 6
MAX_LINES = 20
CROP_MARGIN = 0.15  # a reference crop shows a little around the detected box


def find_subjects(toolbox, image) -> tuple[list[Detection], Provenance]:
    """People and animals in the photo, left to right, with the best detector configured: a neural
    VQA model asked for boxes, else the detector role. A VLM answer without readable boxes falls
    back to the detector, and the provenance says so."""
    vqa = toolbox.backend("vqa")
    fallback_reason = None
    if vqa.kind == "neural":
        result = vqa.answer(image, VLM_PROMPT)
        try:
            detections = parse_vlm_detections(result.text, *image.size)
            result.provenance.parameters["answer"] = result.text[:2000]
            return _tidy(detections), result.provenance
        except BackendCallError as exc:
            fallback_reason = f"{vqa.name} gave no usable boxes ({exc}); used the detector role instead"
    found = toolbox.backend("detector").detect(image)
    if fallback_reason:
        found.provenance.parameters["fallback"] = fallback_reason
    return _tidy(found.detections), found.provenance


def _tidy(detections: list[Detection]) -> list[Detection]:
    """At most MAX_SUBJECTS, the largest first, then ordered left to right as a reader names them."""
    def area(d: Detection) -> float:
        return (d.box[2] - d.box[0]) * (d.box[3] - d.box[1])

    kept = sorted(detections, key=area, reverse=True)[:MAX_SUBJECTS]
    return sorted(kept, key=lambda d: (d.box[0] + d.box[2]) / 2)


# -- what the LLM answers ----------------------------------------------------------------------
class CastMember(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    personality: str = Field(default="", max_length=160)

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str) -> str:
        value = " ".join(value.split()).strip("\"'“”")
        if not any(ch.isalpha() for ch in value):
            raise ValueError("a name needs letters")
        return value


def _field(text: str) -> str:
    return slugify(text, fallback="x").replace("-", "_")


def cast_model(labels: list[str]) -> type[BaseModel]:
    """{"title": ..., "person_1": {"name", "personality"}, "cat_2": {...}}: one key per subject, named
    after what it is, so even a small model sees whom it is naming when it writes the name."""
    fields = {f"{_field(label)}_{i}": (CastMember, ...) for i, label in enumerate(labels, 1)}
    return create_model("Cast", title=(str, Field(min_length=1, max_length=80)), **fields)


# Names for a character whose model-given name another character already has (small models
# often name everyone alike): a deterministic repair, recorded in the plan's provenance.
SPARE_NAMES = ("Juniper", "Milo", "Hazel", "Otto", "Ivy", "Rufus", "Pearl", "Felix", "Wren", "Basil")


def distinct_names(names: list[str]) -> tuple[list[str], dict[str, str]]:
    result, renamed, seen = [], {}, set()
    spares = (n for n in SPARE_NAMES if n.lower() not in {x.lower() for x in names})
    for name in names:
        if name.lower() in seen:
            new = next(spares)
            renamed[f"{name} ({len(result) + 1})"] = new
            name = new
        seen.add(name.lower())
        result.append(name)
    return result, renamed


def script_model(order: list[tuple[str, str]]) -> type[BaseModel]:
    """{"line1_milo": {"tone", "text"}, "line2_luna": {...}}: the speakers' turn order is in the keys,
    so every line has the speaker the scene needs and the model knows who is talking as it writes."""
    line = create_model("Line", tone=(Literal[tuple(TONES)], ...), text=(str, Field(min_length=1, max_length=240)))
    return create_model("Script", **{f"line{i}_{_field(slug)}": (line, ...) for i, (slug, _) in enumerate(order, 1)})


# What a chat-tuned small model says when it falls out of the scene into assistant talk.
_OUT_OF_CHARACTER = re.compile(r"\b(assist|as an ai|language model|i'm here to help|i am here to help|i can't help)\b", re.I)


def _key(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def tidy_script(said: list[DialogueLine], wanted: int) -> tuple[list[DialogueLine], dict]:
    """Deterministic repairs of a small model's script, each recorded: a line said twice is kept
    once (a leading "Name," aside: small models reuse a line for another speaker), and a line out of
    character (assistant talk) is dropped."""
    kept, seen, notes = [], set(), {}
    for entry in said:
        key = _key(re.sub(r"^\s*\w+,\s*", "", entry.text))
        if not key or key in seen:
            notes["repeated_lines_dropped"] = notes.get("repeated_lines_dropped", 0) + 1
        elif _OUT_OF_CHARACTER.search(entry.text):
            notes["out_of_character_dropped"] = notes.get("out_of_character_dropped", 0) + 1
        else:
            seen.add(key)
            kept.append(entry)
    return kept[:wanted], notes


def _turns(slugs: list[str], start: int, count: int) -> list[str]:
    return [slugs[(start + i) % len(slugs)] for i in range(count)]


def _messages(user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": prompts.render("scene_system")}, {"role": "user", "content": user}]


# -- the scene -----------------------------------------------------------------------------------
def make_photo_scene(run, image_path, *, out, lines: int = 6, mood: str = "playful") -> StoryFolder:
    """Make the photo scene into the new folder `out`, through `run` (a StoryRun without a folder:
    its toolbox, seed and cancel token). Commits a "plan" turn (cast) and a "page" turn (script,
    photo, narration)."""
    from storyteller.agent.graph import png_bytes

    toolbox, cancel, seed = run.toolbox, run.cancel, run.seed
    if not 1 <= lines <= MAX_LINES:
        raise InvalidInput(f"lines must be between 1 and {MAX_LINES}, got {lines}")
    photo = describe_photo(toolbox, image_path)  # refuses unreadable or huge pictures
    image = photo.image  # upright (EXIF rotation applied): boxes are found and drawn on it
    cancel.check("before finding who is in the photo")
    detections, found_by = find_subjects(toolbox, image)
    if not detections:
        raise InvalidInput(
            f"no people or animals found in {image_path} (by {found_by.backend}, {found_by.kind})",
            fix="use a photo where people or animals are clearly visible, or configure a vision-language "
                "model as the vqa backend (README: Real models)")
    subjects, colours_of = [], []
    for d in detections:
        colours = [name for name, _ in dominant_colours(crop(image, d.box))][:2]
        colours_of.append(colours)
        subjects.append(f"a {d.label} {where(d.box)}" + (f", mostly {' and '.join(colours)}" if colours else ""))

    cancel.check("before naming the characters")
    cast, cast_completion, cast_failed = generate_structured(
        toolbox.llm, _messages(prompts.render("scene_cast", description=photo.description, subjects=subjects, mood=mood)),
        cast_model([d.label for d in detections]), max_attempts=toolbox.settings.plan_attempts, seed=seed, temperature=0.6,
        max_tokens=120 + 60 * len(detections))
    members = [getattr(cast, key) for key in type(cast).model_fields if key != "title"]
    names, renamed = distinct_names([m.name for m in members])
    characters, used = [], set()
    for name, member, detection, colours in zip(names, members, detections, colours_of, strict=True):
        slug = base = slugify(name, fallback="character", max_length=32)
        n = 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        x0, y0, x1, y1 = detection.box
        characters.append(Character(
            name=name, slug=slug, personality=member.personality,
            appearance=Appearance(species=detection.label, colors=colours),
            photo_region=Region(label=detection.label, x=x0, y=y0, w=max(1e-3, x1 - x0), h=max(1e-3, y1 - y0),
                                score=detection.score, detector=f"{found_by.backend} ({found_by.kind})"),
        ))
    slugs = [c.slug for c in characters]
    plan_provenance = cast_completion.provenance
    plan_provenance.parameters.update(
        failed_attempts=cast_failed, renamed=renamed, mood=mood, lines=lines, photo_description=photo.description,
        detection=found_record(detections, found_by))
    story = Story(
        kind="photo", title=cast.title.strip() or "A photo that speaks",
        premise=f"What the {' and '.join(sorted({d.label for d in detections}))} in the photo might say ({mood}).",
        style=StyleGuide(name="photo", description="the reader's photo"),
        characters=characters,
        outline=[PageBeat(beat=f"a {mood} conversation in the photo", scene=photo.description, characters=slugs)],
        seed=seed, plan_provenance=plan_provenance,
    )
    assign_voices(story, toolbox.backend("narrator").voices())

    folder = StoryFolder.create(out, story)
    run.folder = folder
    photo_asset = store_photo(folder, photo, "photo")
    for character, detection in zip(story.characters, detections, strict=True):
        picture = crop(image, detection.box, CROP_MARGIN)
        character.reference_assets = [folder.write_asset(
            "reference_image", f"character-{character.slug}", png_bytes(picture.convert("RGB")), suffix=".png", media_type="image/png",
            provenance=Provenance(backend="photo-crop", model=f"crop of {photo_asset.path}", kind="procedural",
                                  parameters={"box": [round(v, 4) for v in detection.box], "margin": CROP_MARGIN},
                                  duration_s=0.0))]
    run.open_memory()  # the lorebook: sheets, their crops as reference pictures, the style
    folder.commit("plan", f"cast of the photo: {', '.join(c.name for c in story.characters)}")
    emit(PlanReady(title=story.title, pages=1, characters=[c.name for c in story.characters]))

    cancel.check("before writing the scene")
    who = [f"{c.name}: a {c.appearance.species} {where(d.box)}; {c.personality}"
           for c, d in zip(story.characters, detections, strict=True)]
    said: list[DialogueLine] = []
    notes: dict = {}
    completion = None
    # A second call only when repairs dropped lines: it goes on from what was kept.
    for call in range(2):
        missing = lines - len(said)
        if missing <= 0:
            break
        cancel.check("before writing the scene")
        order = [(slug, story.character(slug).name) for slug in _turns(slugs, len(said), missing)]
        script, made, failed = generate_structured(
            toolbox.llm, _messages(prompts.render(
                "scene_lines", description=photo.description, title=story.title, mood=mood, order=order,
                tones=list(TONES), characters=who,
                earlier=[f"{story.character(e.speaker).name}: {e.text}" for e in said])),
            script_model(order), max_attempts=toolbox.settings.plan_attempts, seed=seed + 1 + call,
            temperature=0.8 + 0.1 * call, max_tokens=80 + 70 * missing)
        completion = completion or made
        answered = [DialogueLine(speaker=slug, tone=getattr(script, key).tone,
                                 text=" ".join(getattr(script, key).text.split()).strip("\"“”") or "…")
                    for (slug, _), key in zip(order, type(script).model_fields, strict=True)]
        said, repairs = tidy_script(said + answered, lines)
        notes[f"call_{call + 1}"] = {"failed_attempts": failed, **repairs}
    if not said:
        raise BackendCallError("the LLM wrote no usable line for the scene (all repeated or out of character)",
                               fix="try another --seed, or configure a larger LLM (README: Real models)")
    if len(said) < lines:
        notes["lines_delivered"] = len(said)
    dialogue = said
    text = "\n".join(f"{story.character(d.speaker).name} ({d.tone}): “{d.text}”" for d in dialogue)
    provenance = completion.provenance
    provenance.parameters.update(mood=mood, lines=lines, calls=notes)
    page = Page(number=1, text=text, scene=photo.description, characters=slugs, dialogue=dialogue,
                text_provenance=provenance, illustration=photo_asset)
    story.pages.append(page)
    folder.save()
    run.memory.add_page(page)
    run.memory.add_illustration(1, image, asset=photo_asset.path, characters=slugs)
    emit(PageWritten(page=1, text=text))
    run.narrate({"page": 1})  # each line in its speaker's voice; commits the page's turn
    return folder
