"""A photo that speaks: find who is in a photo, give each a sheet and a voice, and write and
narrate what they might be saying to each other.

    photo -> describe (captioner) + find people and animals (VLM or detector)
          -> cast (LLM: title, a name and personality per subject) -> voices
          -> script (LLM: N lines, each with speaker and tone) -> narrate line by line

The result is an ordinary story folder of kind "photo" with one page: the photo is its picture,
the script its text (and `dialogue`), and each character keeps where it is in the photo
(`photo_region`), how they look in it (`expression`: asked of a neural VQA model, else a smile
told by OpenCV's cascades, labelled classical) and a crop of it as reference picture. `continue`
goes on from it like any story, and `talk` lets the reader talk with them (storyteller.agent.talk).

A photo with nobody in it becomes a guided scene: a guide shows the reader the things the detector
finds (each a `PhotoObject` on the page, tagged in the HTML), one line about each.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, create_model, field_validator

from storyteller import languages, prompts
from storyteller.agent.photos import describe_photo, store_photo
from storyteller.agent.structured import generate_structured, strip_json_residue
from storyteller.agent.voices import TONES, assign_voices
from storyteller.backends.base import Detection
from storyteller.backends.classical_vision import crop, dominant_colours
from storyteller.backends.detectors import VLM_OBJECTS_PROMPT, VLM_PROMPT, found_record, parse_vlm_detections, where
from storyteller.errors import BackendCallError, InvalidInput
from storyteller.events import PageWritten, emit
from storyteller.languages import Language, say
from storyteller.memory.prose import is_cjk
from storyteller.session import StoryFolder
from storyteller.story import (EXPRESSIONS, Appearance, Character, DialogueLine, FaceReading, Page, PageBeat,
                               PhotoObject, Provenance, Region, Story, StyleGuide, slugify)

MAX_SUBJECTS = 6
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


def find_objects(toolbox, image) -> tuple[list[Detection], Provenance]:
    """The things in a photo without people or animals, left to right: asked of a neural VQA model
    (its answer without boxes falls back to the detector), else the detector role's objects. Two
    labels on almost the same box (a cup and its bowl) are one thing, the likelier one."""
    vqa = toolbox.backend("vqa")
    fallback_reason = None
    if vqa.kind == "neural":
        result = vqa.answer(image, VLM_OBJECTS_PROMPT)
        try:
            return _tidy(parse_vlm_detections(result.text, *image.size)), result.provenance
        except BackendCallError as exc:
            fallback_reason = f"{vqa.name} gave no usable boxes ({exc}); used the detector role instead"
    found = toolbox.backend("detector").detect_objects(image)
    if fallback_reason:
        found.provenance.parameters["fallback"] = fallback_reason
    kept: list[Detection] = []
    for d in sorted(found.detections, key=lambda d: -(d.score or 0)):
        if not any(_iou(d.box, k.box) > 0.7 for k in kept):
            kept.append(d)
    return _tidy(kept), found.provenance


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


EXPRESSION_QUESTION = ("How does the {label} in this picture look? Answer with one word: " + ", ".join(EXPRESSIONS)
                       + ". Is the {label} smiling?")


def read_expression(toolbox, image, detection: Detection) -> FaceReading:
    """How a subject looks, from its part of the photo, asked of the VQA backend: a neural one answers
    in words; the classical one tells a smile from no smile with OpenCV's cascades, and says so.
    Where its face is (for --blur-faces) is found by the classical face cascades."""
    from storyteller.images import face_boxes

    part = crop(image, detection.box)
    vqa = toolbox.backend("vqa")
    result = vqa.answer(part, EXPRESSION_QUESTION.format(label=detection.label))
    measured = result.details.get("expression")  # the classical VQA's smile reading
    method = f"{result.provenance.backend} vqa ({result.provenance.kind})" + (
        ": OpenCV face and smile cascades" if measured is not None else ", asked")
    if measured is not None:
        smiling = measured["smiling"]
        expression = "happy" if smiling else "neutral"
        face = measured["face"]
    else:
        words = re.findall(r"[a-z]+", result.text.lower())
        expression = next((w for w in words if w in EXPRESSIONS), "neutral")
        smiling = True if "smiling" in words and "not" not in words else (False if "not" in words else None)
        faces = face_boxes(part) if detection.label == "person" else []
        face = max(faces, key=lambda f: (f[2] - f[0]) * (f[3] - f[1])) if faces else None
    region = None
    if face is not None:  # from the crop's fractions to the photo's
        x0, y0, x1, y1 = detection.box
        fx0, fy0, fx1, fy1 = face
        region = Region(label="face", x=x0 + fx0 * (x1 - x0), y=y0 + fy0 * (y1 - y0), w=max(1e-3, (fx1 - fx0) * (x1 - x0)),
                        h=max(1e-3, (fy1 - fy0) * (y1 - y0)), detector="opencv haar cascades (classical)")
    return FaceReading(expression=expression, smiling=smiling, face=region, method=method, detail=result.text[:300])


def subject(language: Language, label: str, box, colours=(), look: str = "") -> str:
    """A subject of the photo as the prompts and the reader see it: "a cat on the left, mostly
    grey, smiling" (or its Chinese), from what the detector and classical vision found."""
    words = language.photo
    text = words["subject"].format(label=say(language, label), where=say(language, where(box)) if box else "").strip()
    if colours:
        text += words["colours"].format(colours=words["and"].join(say(language, c) for c in colours))
    return text + (words["look"].format(look=say(language, look)) if look else "")


def who_line(language: Language, character: Character, box) -> str:
    """A character of the scene, for a prompt: "Milo: a cat on the left, smiling; curious"."""
    words = language.photo
    return (words["member"].format(name=character.name, subject=subject(language, character.appearance.species, box,
                                                                        look=looks(character.expression)))
            + (words["trait"].format(personality=character.personality) if character.personality else ""))


def looks(reading: FaceReading | None) -> str:
    """How a character looks, in the words a prompt uses after "is": 'smiling', 'looking sad', ''."""
    if reading is None or (reading.expression == "neutral" and reading.smiling is None):
        return ""
    if reading.smiling and reading.expression in ("happy", "neutral"):
        return "smiling"
    return f"looking {reading.expression}" if reading.expression != "neutral" else "not smiling"


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
_OUT_OF_CHARACTER = re.compile(r"\b(assist|as an ai|language model|i'm here to help|i am here to help|i can't help)\b"
                               r"|作为一?个?(?:AI|人工智能|助手)|语言模型|我是一?个?助手|为您服务|有什么可以帮", re.I)


def in_language(language: Language, *texts: str) -> list[str]:
    """For a language with its own script (Chinese): the texts the model wrote in another one
    (small models fall back to English), to be re-asked."""
    if language.code != "zh":
        return []
    return [t for t in texts if not is_cjk(t)]


def _key(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def line_key(text: str) -> str:
    """What a line says, for telling repeats: its words, without a leading "Name," aside (small
    models reuse a line for another speaker)."""
    return _key(re.sub(r"^\s*\w+[,，]\s*", "", text))


def tidy_script(said: list[DialogueLine], wanted: int) -> tuple[list[DialogueLine], dict]:
    """Deterministic repairs of a small model's script, each recorded: a line said twice is kept
    once (a leading "Name," aside: small models reuse a line for another speaker), and a line out of
    character (assistant talk) is dropped, and JSON syntax left at a line's end is cut."""
    kept, seen, notes = [], set(), {}
    for entry in said:
        bare = strip_json_residue(entry.text).strip("\"“”")
        if bare != entry.text:
            notes["json_residue_stripped"] = notes.get("json_residue_stripped", 0) + 1
            entry = entry.model_copy(update={"text": bare or "…"})
        key = line_key(entry.text)
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


def _messages(user: str, language: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": prompts.render("scene_system", language=language)},
            {"role": "user", "content": user}]


def _written_in(language: Language):
    """A check for generate_structured: every text the answer holds is in `language`'s script."""
    def check(answer: BaseModel) -> list[str]:
        texts = [v for v in answer.model_dump().values() if isinstance(v, str)]
        texts += [t for v in answer.model_dump().values() if isinstance(v, dict) for k, t in v.items()
                  if k in ("name", "text") and t]
        wrong = in_language(language, *texts)
        return [f"write these in {language.name}, in its own script: " + "; ".join(wrong)] if wrong else []
    return check


# -- the scene -----------------------------------------------------------------------------------
def make_photo_scene(run, image_path, *, out, lines: int = 6, mood: str = "playful", language: str = "en",
                     keep_metadata: bool = False) -> StoryFolder:
    """Make the photo scene into the new folder `out`, through `run` (a StoryRun without a folder:
    its toolbox, seed and cancel token). Commits a "plan" turn (cast) and a "page" turn (script,
    photo, narration), in `language` (storyteller.languages: its prompts, words and voices). The
    photo is stored without its metadata unless `keep_metadata`."""
    from storyteller.agent.graph import png_bytes

    toolbox, cancel, seed = run.toolbox, run.cancel, run.seed
    lang = languages.get(language)
    mood = say(lang, mood)  # the default moods in the story's words
    photo = describe_photo(toolbox, image_path)  # refuses unreadable or huge pictures
    image = photo.image  # upright (EXIF rotation applied): boxes are found and drawn on it
    cancel.check("before finding who is in the photo")
    detections, found_by = find_subjects(toolbox, image)
    if not detections:
        return make_guided_scene(run, photo, found_by, out=out, lines=lines, mood=mood, language=lang,
                                 keep_metadata=keep_metadata)
    subjects, colours_of, readings = [], [], []
    for d in detections:
        cancel.check("before reading how they look")
        colours = [name for name, _ in dominant_colours(crop(image, d.box))][:2]
        colours_of.append(colours)
        readings.append(read_expression(toolbox, image, d))
        subjects.append(subject(lang, d.label, d.box, colours, looks(readings[-1])))

    cancel.check("before naming the characters")
    cast, cast_completion, cast_failed = generate_structured(
        toolbox.llm, _messages(prompts.render("scene_cast", language=lang.code, description=photo.description,
                                              subjects=subjects, mood=mood), lang.code),
        cast_model([d.label for d in detections]), max_attempts=toolbox.settings.plan_attempts, seed=seed, temperature=0.6,
        max_tokens=120 + 60 * len(detections), check=_written_in(lang))
    members = [getattr(cast, key) for key in type(cast).model_fields if key != "title"]
    names, renamed = distinct_names([m.name for m in members])
    characters, used = [], set()
    for name, member, detection, colours, reading in zip(names, members, detections, colours_of, readings, strict=True):
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
            expression=reading,
        ))
    slugs = [c.slug for c in characters]
    plan_provenance = cast_completion.provenance
    plan_provenance.parameters.update(
        failed_attempts=cast_failed, renamed=renamed, mood=mood, lines=lines, photo_description=photo.description,
        detection=found_record(detections, found_by))
    words = lang.photo
    story = Story(
        kind="photo", title=cast.title.strip() or words["title"], language=lang.code,
        premise=words["premise"].format(who=words["and"].join(sorted({say(lang, d.label) for d in detections})), mood=mood),
        style=StyleGuide(name="photo", description="the reader's photo"),
        characters=characters,
        outline=[PageBeat(beat=words["beat"].format(mood=mood), scene=photo.description, characters=slugs)],
        seed=seed, plan_provenance=plan_provenance,
    )
    assign_voices(story, toolbox.backend("narrator").voices())

    folder = run.create_folder(out, story)
    photo_asset = store_photo(folder, photo, "photo", keep_metadata=keep_metadata)
    for character, detection in zip(story.characters, detections, strict=True):
        picture = crop(image, detection.box, CROP_MARGIN)
        character.reference_assets = [folder.write_asset(
            "reference_image", f"character-{character.slug}", png_bytes(picture.convert("RGB")), suffix=".png", media_type="image/png",
            provenance=Provenance(backend="photo-crop", model=f"crop of {photo_asset.path}", kind="procedural",
                                  parameters={"box": [round(v, 4) for v in detection.box], "margin": CROP_MARGIN},
                                  duration_s=0.0))]
    run.open_memory()  # the lorebook: sheets, their crops as reference pictures, the style
    run.commit("plan", f"cast of the photo: {', '.join(c.name for c in story.characters)}")

    cancel.check("before writing the scene")
    who = [who_line(lang, c, d.box) for c, d in zip(story.characters, detections, strict=True)]
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
                "scene_lines", language=lang.code, description=photo.description, title=story.title, mood=mood,
                order=order, tones=list(TONES), characters=who,
                earlier=[f"{story.character(e.speaker).name}: {e.text}" for e in said]), lang.code),
            script_model(order), max_attempts=toolbox.settings.plan_attempts, seed=seed + 1 + call,
            temperature=0.8 + 0.1 * call, max_tokens=80 + 70 * missing, check=_written_in(lang))
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
    text = "\n".join(words["line"].format(name=story.character(d.speaker).name, tone=d.tone, text=d.text) for d in dialogue)
    provenance = completion.provenance
    provenance.parameters.update(mood=mood, lines=lines, calls=notes)
    page = Page(number=1, text=text, scene=photo.description, characters=slugs, dialogue=dialogue,
                text_provenance=provenance, illustration=photo_asset)
    story.pages.append(page)
    folder.save()
    run.memory.add_page(page)
    run.memory.add_illustration(1, image, asset=photo_asset.path, characters=slugs)
    emit(PageWritten(page=1, text=text))
    run.narrate_one(1)  # each line in its speaker's voice; commits the page's turn
    return folder


# -- a photo without people or animals: a guided scene -----------------------------------------
GUIDE = "guide"


def guide_model(keys: list[str]) -> type[BaseModel]:
    """{"title": ..., "line1_cup": {"tone", "text"}, ...}: one line about each thing, named in its key."""
    line = create_model("GuideLine", tone=(Literal[tuple(TONES)], ...), text=(str, Field(min_length=1, max_length=240)))
    return create_model("Tour", title=(str, Field(min_length=1, max_length=80)),
                        **{f"line{i}_{_field(key)}": (line, ...) for i, key in enumerate(keys, 1)})


def make_guided_scene(run, photo, found_by: Provenance, *, out, lines: int, mood: str, language: Language,
                      keep_metadata: bool) -> StoryFolder:
    """A photo with nobody in it: a guide (a character the reader can talk with) shows the reader the
    things in it, one line about each in turn. Commits a "plan" turn and a "page" turn."""
    toolbox, cancel, seed, image = run.toolbox, run.cancel, run.seed, photo.image
    cancel.check("before finding the things in the photo")
    things, objects_by = find_objects(toolbox, image)
    if not things:
        raise InvalidInput(
            f"nothing to talk about in {photo.path}: no people, animals or things found "
            f"(by {found_by.backend} and {objects_by.backend}, {objects_by.kind})",
            fix="use a photo where people, animals or everyday things are clearly visible, or configure a "
                "vision-language model as the vqa backend (README: Real models)")
    objects, used = [], set()
    for d in things:
        key = base = slugify(d.label, fallback="thing", max_length=32)
        n = 2
        while key in used:
            key, n = f"{base}-{n}", n + 1
        used.add(key)
        x0, y0, x1, y1 = d.box
        objects.append(PhotoObject(key=key, name=d.label, region=Region(
            label=d.label, x=x0, y=y0, w=max(1e-3, x1 - x0), h=max(1e-3, y1 - y0), score=d.score,
            detector=f"{objects_by.backend} ({objects_by.kind})")))
    lang, words = language, language.photo
    guide = Character(name=words["guide"], slug=GUIDE, role="guide", personality=words["guide_personality"],
                      appearance=Appearance(species="tour guide"))
    order = [objects[i % len(objects)] for i in range(lines)]

    def place(o: PhotoObject) -> dict[str, str]:
        return {"thing": say(lang, o.name),
                "where": say(lang, where((o.region.x, o.region.y, o.region.x + o.region.w, o.region.y + o.region.h)))}

    cancel.check("before writing the tour")
    tour, completion, failed = generate_structured(
        toolbox.llm, _messages(prompts.render(
            "guide_lines", language=lang.code, description=photo.seen, mood=mood, tones=list(TONES),
            things=[words["thing"].format(**place(o)) for o in objects],
            order=[say(lang, o.name) for o in order]), lang.code),
        guide_model([o.key for o in order]), max_attempts=toolbox.settings.plan_attempts, seed=seed, temperature=0.7,
        max_tokens=80 + 70 * lines, check=_written_in(lang))
    said = [DialogueLine(speaker=GUIDE, tone=getattr(tour, key).tone, about=o.key,
                         text=" ".join(getattr(tour, key).text.split()).strip("\"“”") or "…")
            for o, key in zip(order, [k for k in type(tour).model_fields if k != "title"], strict=True)]
    dialogue, repairs = tidy_script(said, lines)
    if not dialogue:
        raise BackendCallError("the LLM wrote no usable line for the tour (all repeated or out of character)",
                               fix="try another --seed, or configure a larger LLM (README: Real models)")
    detection = found_record(things, objects_by)
    story = Story(
        kind="photo", title=tour.title.strip() or words["tour_title"], language=lang.code,
        premise=words["tour_premise"].format(things=words["and"].join(dict.fromkeys(say(lang, o.name) for o in objects)),
                                             mood=mood),
        style=StyleGuide(name="photo", description="the reader's photo"), characters=[guide],
        outline=[PageBeat(beat=words["tour_beat"].format(mood=mood), scene=photo.description, characters=[GUIDE])],
        seed=seed, plan_provenance=completion.provenance.model_copy(deep=True))
    story.plan_provenance.parameters.update(guided=True, mood=mood, lines=lines, photo_description=photo.description,
                                            detection={"people_and_animals": found_record([], found_by), "objects": detection})
    assign_voices(story, toolbox.backend("narrator").voices())
    folder = run.create_folder(out, story)
    photo_asset = store_photo(folder, photo, "photo", keep_metadata=keep_metadata)
    run.open_memory()
    run.commit("plan", f"a guided scene: {', '.join(o.name for o in objects)}")
    text = "\n".join(words["line"].format(name=guide.name, tone=d.tone, text=d.text) for d in dialogue)
    provenance = completion.provenance
    provenance.parameters.update(mood=mood, lines=lines, failed_attempts=failed, **repairs)
    page = Page(number=1, text=text, scene=photo.description, characters=[GUIDE], dialogue=dialogue, objects=objects,
                text_provenance=provenance, illustration=photo_asset)
    story.pages.append(page)
    folder.save()
    run.memory.add_page(page)
    run.memory.add_illustration(1, image, asset=photo_asset.path, characters=[GUIDE])
    for o in objects:  # what the guide showed, for the conversation that may follow
        run.memory.add_fact(words["shows"].format(**place(o)), type="object", key=o.key, page=1)
    emit(PageWritten(page=1, text=text))
    run.narrate_one(1)
    return folder
