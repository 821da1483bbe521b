"""A page's shot: the LLM stages the picture under a grammar, then the page's own words check it.

The LLM answers a deliberately small JSON object (setting, time of day, weather, camera, and for
each character on stage an action and an expression), every value an enum from the shot's
vocabularies and every character a fixed key, so a 0.5B model under a llama.cpp grammar fills it
in a few dozen tokens and cannot name someone who is not there. Then a deterministic pass
(storyteller.staging) reads the page: where the text names a value ("moonlit", "trudged",
"smiled") and the model chose another, the text wins; what the model is not asked (props, light,
positions, facing, depth) comes from the words and the cast's order; a choice the place rules out
(swimming in a desert) is put back to standing. Each such repair is a line in `Shot.filled`, and
the LLM call's provenance is `Shot.provenance`. When the model gives no valid answer, the whole
shot comes from the words, and `filled` says so.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from storyteller import prompts, staging
from storyteller.agent.structured import generate_structured
from storyteller.errors import StructuredOutputError
from storyteller.story import Action, Camera, Character, Expression, Setting, Shot, ShotCharacter, TimeOfDay, Weather

# A shot is staging, not prose: little randomness, and few tokens (about 25 + 15 per character).
TEMPERATURE = 0.2
ATTEMPTS = 2
WATER_SETTINGS = {"sea", "underwater", "river"}
FLYERS = {"bird", "owl", "penguin", "duck", "chicken", "dragon", "fairy", "bee", "butterfly", "bat", "kite", "cloud",
          "balloon", "witch", "moth", "eagle", "robin", "parrot", "unicorn", "pegasus", "airship", "rocket"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _CastAnswer(_Strict):
    action: Action
    expression: Expression


def answer_model(slugs: list[str]) -> type[BaseModel]:
    """The LLM's answer for a page with these characters on stage: one fixed key per character."""
    cast = create_model("ShotCast", __base__=_Strict, **{slug: (_CastAnswer, ...) for slug in slugs})
    return create_model(
        "ShotAnswer", __base__=_Strict,
        setting=(Setting, ...), time_of_day=(TimeOfDay, ...), weather=(Weather, ...), camera=(Camera, ...),
        cast=(cast, ...),
    )


def names_of(character: Character) -> list[str]:
    """The words a page may call a character by: its name, its aliases, its species ("the fox")."""
    return [character.name, *character.aliases, character.appearance.species]


def make_shot(llm, *, text: str, scene: str, cast: list[Character], seed: int | None = None,
              previous: Shot | None = None, change: str | None = None) -> Shot:
    """Stage the picture of a page (its final text, its scene, the characters on stage in order;
    `previous`: the page before's shot, whose framing this one does not repeat unasked; `change`:
    what the reader asks the picture to show differently, whose words then win over the page's)."""
    slugs = [c.slug for c in cast]
    messages = [
        {"role": "system", "content": prompts.render("shot_system")},
        # The vocabularies are not listed: the grammar allows nothing else, and listing them doubled
        # the prompt (258 tokens against 125) for no better answers (2.25 against 2.0 of its
        # choices per page that the words overrule; benchmarks: see README, "Shots").
        {"role": "user", "content": prompts.render("shot_user", text=text, scene=scene, cast=cast, change=change)},
    ]
    model = answer_model(slugs)
    try:
        answer, completion, failed = generate_structured(
            llm, messages, model, max_attempts=ATTEMPTS, seed=seed, temperature=TEMPERATURE,
            max_tokens=40 + 24 * len(slugs))
    except StructuredOutputError as exc:
        shot = staging.read_shot(f"{change}. {text}" if change else text, scene, {c.slug: names_of(c) for c in cast})
        return shot.model_copy(update={"filled": [f"all: read from the words ({llm.name} gave no valid shot: {exc.message})"]})
    provenance = completion.provenance
    provenance.parameters["failed_attempts"] = failed
    provenance.parameters["answer"] = answer.model_dump()
    shot = repair(answer.model_dump(), text=text, scene=scene, cast=cast, previous=previous, change=change)
    return shot.model_copy(update={"provenance": provenance})


# The next framing when a page would repeat the page before's unasked: a picture book changes its
# distance from page to page (and a small 0.5B model picks the same camera again and again).
NEXT_CAMERA = {"close-up": "medium", "medium": "wide", "wide": "medium"}


def repair(answer: dict[str, Any], *, text: str, scene: str, cast: list[Character], previous: Shot | None = None,
           change: str | None = None) -> Shot:
    """The model's answer, checked and completed from the page's words, and first from the words
    of a `change` the reader asked for. Every change is recorded."""
    filled: list[str] = []
    everything = f"{scene}. {text}"
    asked = change or ""
    told = f"{asked}. {everything}" if asked else everything  # for what the change adds to the page's

    def first(read, *args):
        """A cue from the reader's change, else from the page."""
        return (read(asked, *args[1:]) if asked else None) or read(*args)

    def decide(field: str, model_value: str, cue: staging.Cue | None) -> str:
        if cue is not None and cue.value != model_value:
            filled.append(f"{field}: {cue.value} from {cue.word!r} (model: {model_value})")
            return cue.value
        return model_value

    setting = decide("setting", answer["setting"], (staging.read_setting("", asked) if asked else None)
                     or staging.read_setting(scene, text))
    time_of_day = decide("time_of_day", answer["time_of_day"], first(staging.read_time, everything))
    if setting == "space" and time_of_day != "night":
        filled.append(f"time_of_day: night, space is dark (model: {time_of_day})")
        time_of_day = "night"
    weather_cue = first(staging.read_weather, everything, setting)
    if weather_cue is None and setting != "snow" and staging.snowy(everything):
        weather_cue = staging.Cue("snow", "snowy")
    weather = decide("weather", answer["weather"], weather_cue)
    camera_cue = first(staging.read_camera, text)
    camera = decide("camera", answer["camera"], camera_cue)
    if camera_cue is None and previous is not None and previous.camera == camera:
        filled.append(f"camera: {NEXT_CAMERA[camera]}, not {camera} again after the page before")
        camera = NEXT_CAMERA[camera]
    light = staging.read_light(told, time_of_day, weather)
    filled.append(f"light: {light.value} from {light.word!r}")
    props = staging.read_props(told, exclude=[w for c in cast for w in names_of(c)])
    if props:
        filled.append("props: " + ", ".join(f"{c.value} from {c.word!r}" for c in props))

    cues = staging.read_cast(text, {c.slug: names_of(c) for c in cast})
    if asked:  # what the reader asks of someone wins over what the page has them do
        for slug, said in staging.read_cast(asked, {c.slug: names_of(c) for c in cast}).items():
            cues[slug] = {**cues[slug], **{k: v for k, v in said.items() if v is not None}}
    members = []
    for character in cast:
        given = answer["cast"][character.slug]
        action = decide(f"{character.slug}.action", given["action"], cues[character.slug].get("action"))
        expression = decide(f"{character.slug}.expression", given["expression"], cues[character.slug].get("expression"))
        action = _plausible(character, action, setting, cues[character.slug].get("action"), filled)
        depth = "far" if staging.read_far(text, names_of(character)) else "near"
        if depth == "far":
            filled.append(f"{character.slug}.depth: far from the words")
        members.append(ShotCharacter(character=character.slug, action=action, expression=expression, depth=depth))
    staged = staging.stage(members)
    if staged:
        filled.append("positions and facing: from the cast's order ("
                      + ", ".join(f"{m.character} {m.position} facing {m.facing}" for m in staged) + ")")
    return Shot(setting=setting, place=scene, time_of_day=time_of_day, weather=weather, light=light.value,
                props=[c.value for c in props], cast=staged, camera=camera, filled=filled)


def _plausible(character: Character, action: str, setting: str, cue: staging.Cue | None, filled: list[str]) -> str:
    """An action the words did not ask for and the place or the creature rules out goes back to standing."""
    if cue is not None:
        return action  # the page says so: draw it
    species = set(staging.words(f"{character.appearance.species} {character.name}"))
    if action == "swim" and setting not in WATER_SETTINGS:
        filled.append(f"{character.slug}.action: stand (model: swim, but there is no water in a {setting} scene)")
        return "stand"
    if action == "fly" and not species & FLYERS and setting not in ("sky", "space"):
        filled.append(f"{character.slug}.action: stand (model: fly, but a {character.appearance.species} does not fly)")
        return "stand"
    return action

