"""Characters as sprites: resolve a Figure to a Look, pick its drawer, cache the sprite.

A character looks the same on every page: `draw_figure` depends only on the figure's key,
species, colours and description, and its scale only on the page size; the page seed only moves it.
"""

from __future__ import annotations

import functools

from PIL import Image

from storyteller.backends.base import Figure
from storyteller.backends.storyboard.beasts import BEASTS, draw_quadruped
from storyteller.backends.storyboard.colors import parse_color
from storyteller.backends.storyboard.creatures import (
    SPECIAL_KINDS,
    draw_bird,
    draw_blob,
    draw_fish,
    draw_octopus,
    draw_robot,
    draw_seal,
    draw_snowman,
    draw_turtle,
)
from storyteller.backends.storyboard.pen import Look, Pen, split_words
from storyteller.backends.storyboard.people import PERSON_WORDS, draw_person


# Other words for the kinds drawn: plurals, young animals, close cousins drawn alike.
ALIASES = {"foxes": "fox", "vixen": "fox", "cub": "bear", "teddy": "bear", "kitty": "cat", "tomcat": "cat",
           "hound": "dog", "pup": "puppy", "doggy": "dog", "mice": "mouse", "hedgehogs": "hedgehog",
           "bunnies": "bunny", "leveret": "hare", "stag": "deer", "reindeer": "deer", "doe": "deer", "fawn": "deer",
           "calf": "cow", "ox": "cow", "bull": "cow", "piglet": "pig", "hog": "pig", "dino": "dinosaur",
           "toad": "frog", "gecko": "lizard", "chameleon": "lizard", "tortoise": "turtle", "pinniped": "seal",
           "sealion": "seal", "walrus": "seal", "pup_seal": "seal", "droid": "robot", "android": "robot",
           "automaton": "robot", "bot": "robot", "wyvern": "dragon", "dragonet": "dragon", "squid": "octopus",
           "goldfish": "fish", "salmon": "fish", "whale": "fish", "dolphin": "fish", "shark": "fish",
           "puffin": "bird", "robin": "bird", "sparrow": "bird", "crow": "bird", "raven": "bird", "parrot": "bird",
           "gull": "bird", "seagull": "bird", "swan": "duck", "goose": "duck", "duckling": "duck", "hen": "chicken",
           "chick": "chicken", "rooster": "chicken", "cockerel": "chicken", "pony": "pony", "mare": "horse",
           "stallion": "horse", "foal": "pony", "donkey": "horse", "zebra": "horse", "tigress": "tiger",
           "lioness": "lion", "wolfcub": "wolf", "ewe": "sheep", "ram": "sheep", "billy": "goat", "ape": "monkey",
           "chimp": "monkey", "gorilla": "monkey", "blob": "blob", "ghost": "blob", "monster": "blob",
           "creature": "blob", "slime": "blob", "star": "blob", "moon": "blob", "sun": "blob", "balloon": "blob",
           "teapot": "blob", "toy": "blob", "snowmen": "snowman", "lorry": "bus", "truck": "bus", "car": "bus",
           "tram": "bus", "train": "bus", "van": "bus", "taxi": "bus", "kites": "kite", "raincloud": "cloud"}
# Species words too vague to decide the kind: the description is searched as well.
GENERIC_SPECIES = {"", "person", "human", "character", "creature", "animal", "other", "thing", "being", "friend"}


def resolve_look(figure: Figure) -> Look:
    """Decide what kind of figure this is from its species (then its description) and its colours."""
    species_words = split_words(figure.species or "")
    desc_words = split_words(figure.description or "")
    search = species_words if set(species_words) - GENERIC_SPECIES else species_words + desc_words
    kind, match = "", ""
    for w in search:
        w2 = ALIASES.get(w, w)
        if w2 in BEASTS:
            kind, match = ("dragon" if w2 == "dragon" else "quadruped"), w2
        elif w2 in SPECIAL_KINDS:
            kind, match = w2, w2
        elif w2.rstrip("s") in BEASTS:
            kind, match = "quadruped", w2.rstrip("s")
        elif w in PERSON_WORDS:
            kind, match = "person", w
        if kind:
            break
    if not kind:
        kind, match = ("person", "person") if set(species_words) <= GENERIC_SPECIES else ("blob", "blob")
    colors = tuple(parse_color(c) for c in (figure.colors or []) if str(c).strip())
    return Look(kind=kind, species=match, words=frozenset(species_words + desc_words), colors=colors,
                color_words=tuple(str(c).strip().lower() for c in (figure.colors or []) if str(c).strip()),
                description=figure.description or "", key=figure.key or "")


DRAWERS = {
    "person": draw_person, "seal": draw_seal, "turtle": draw_turtle, "bird": draw_bird, "owl": draw_bird,
    "penguin": draw_bird, "duck": draw_bird, "chicken": draw_bird, "robot": draw_robot, "octopus": draw_octopus,
    "fish": draw_fish, "snowman": draw_snowman, "cloud": draw_blob, "kite": draw_blob, "bus": draw_blob, "blob": draw_blob,
}
FIGURE_MAX_WIDTH = 1.25  # in units of the figure height: wider sprites are scaled down (always, every page)


@functools.lru_cache(maxsize=128)
def _sprite(look: Look, height: int) -> Image.Image:
    pen = Pen(height)
    if look.kind in ("quadruped", "dragon"):
        draw_quadruped(pen, look, BEASTS[look.species])
    else:
        DRAWERS[look.kind](pen, look)
    sprite = pen.finish()
    limit = max(1, round(height * FIGURE_MAX_WIDTH))
    if sprite.width > limit:  # a wide dragon: keep it inside its slot on a crowded page
        sprite = sprite.resize((limit, max(1, round(sprite.height * limit / sprite.width))), Image.LANCZOS)
    return sprite


def draw_figure(figure: Figure, height: int) -> Image.Image:
    """The character as an RGBA sprite, feet at the bottom edge. `height` is the size of an adult
    person on the page; smaller species come out smaller. Depends only on the figure's key,
    species, colours and description (and `height`), so it is identical on every page."""
    return _sprite(resolve_look(figure), max(8, int(height))).copy()
