"""Characters as sprites: resolve a Figure to a Look, pick its drawer, cache the sprite.

A character looks the same on every page: its sprite depends only on the figure's key, species,
colours and description, its pose (action, expression, facing) and its scale; the seed only moves it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
from storyteller.backends.storyboard.pen import SUPERSAMPLE, Look, Pen, split_words
from storyteller.backends.storyboard.poses import (ARTICULATED, ARTICULATED_LEAN, STANDING, Pose, add_marks, body_move,
                                                   face_of, family, mirror)
from storyteller.backends.storyboard.people import PERSON_WORDS, ROLE_WORDS, draw_person


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
    # In the species an animal's word wins over a person's ("a grumpy old bear" is a bear, though
    # "old" is a person word); in a description the first word found decides ("a girl with a dog").
    kind, match = _first_kind(search, animals_first=search is species_words)
    if not kind:
        kind, match = ("person", "person") if set(species_words) <= GENERIC_SPECIES else ("blob", "blob")
    colors = tuple(parse_color(c) for c in (figure.colors or []) if str(c).strip())
    return Look(kind=kind, species=match, words=frozenset(species_words + desc_words), colors=colors,
                color_words=tuple(str(c).strip().lower() for c in (figure.colors or []) if str(c).strip()),
                description=figure.description or "", key=figure.key or "")


def _first_kind(words: list[str], *, animals_first: bool) -> tuple[str, str]:
    def animal(w: str) -> tuple[str, str]:
        w2 = ALIASES.get(w, w)
        if w2 in BEASTS:
            return ("dragon" if w2 == "dragon" else "quadruped"), w2
        if w2 in SPECIAL_KINDS:
            return w2, w2
        if w2.rstrip("s") in BEASTS:
            return "quadruped", w2.rstrip("s")
        return "", ""

    if animals_first:
        found = next((animal(w) for w in words if animal(w)[0]), None)
        if found:
            return found
    for w in words:
        if animal(w)[0] and not animals_first:
            return animal(w)
        if w in PERSON_WORDS or w in ROLE_WORDS:
            return "person", w
    return "", ""


DRAWERS = {
    "person": draw_person, "seal": draw_seal, "turtle": draw_turtle, "bird": draw_bird, "owl": draw_bird,
    "penguin": draw_bird, "duck": draw_bird, "chicken": draw_bird, "robot": draw_robot, "octopus": draw_octopus,
    "fish": draw_fish, "snowman": draw_snowman, "cloud": draw_blob, "kite": draw_blob, "bus": draw_blob, "blob": draw_blob,
}
FIGURE_MAX_WIDTH = 1.25  # in units of the figure height: wider sprites are scaled down (always, every page)


@dataclass(frozen=True)
class Posed:
    """A figure drawn in a pose: the RGBA sprite (feet on its bottom edge), the point its hand holds
    things at (sprite pixels), and how the action was drawn ("articulated", or "body moved": the
    nearest the family can do)."""

    image: Image.Image
    hand: tuple[float, float] | None
    drawn_as: str


@functools.lru_cache(maxsize=512)
def _posed(look: Look, height: int, pose: Pose) -> Posed:
    pen = Pen(height)
    pen.expression = face_of(pose)
    pen.gaze = 0 if pose.facing == "front" else 1  # drawn facing right; "left" is the mirror image
    pen.talking = pose.action == "talk"
    fam = family(look.kind)
    articulated = pose.action in ARTICULATED.get(fam, set())
    drawn_pose = pose if articulated else Pose("stand", pose.expression, pose.facing)
    if look.kind in ("quadruped", "dragon"):
        hand = draw_quadruped(pen, look, BEASTS[look.species], drawn_pose)
    else:
        hand = DRAWERS[look.kind](pen, look, drawn_pose)
    sprite = pen.finish()
    box = pen.crop_box  # the pen draws at SUPERSAMPLE x on a canvas finish() crops: the hand follows
    if hand is not None:
        hand = (hand[0] * pen.k / SUPERSAMPLE - box[0], hand[1] * pen.k / SUPERSAMPLE - box[1])
    limit = max(1, round(height * FIGURE_MAX_WIDTH))
    if sprite.width > limit:  # a wide dragon: keep it inside its slot on a crowded page
        scale = limit / sprite.width
        sprite = sprite.resize((limit, max(1, round(sprite.height * scale))), Image.LANCZOS)
        hand = hand and (hand[0] * scale, hand[1] * scale)
    if hand is None:  # a creature with no hands holds things against its front
        hand = (sprite.width * 0.85, sprite.height * 0.55)
    if articulated:
        lean = ARTICULATED_LEAN.get((fam, pose.action), 0.0)
        sprite, hand = body_move(sprite, pose.action, hand, only_lift=True, lean=lean)
        drawn_as = "articulated"
    else:
        sprite, hand = body_move(sprite, pose.action, hand)
        drawn_as = "body moved" if pose.action != "stand" else "articulated"
    if pose.facing == "left":
        sprite, hand = mirror(sprite, hand)
    sprite, hand = add_marks(sprite, pose, hand, height)
    return Posed(sprite, hand, drawn_as)


def draw_posed(figure: Figure, height: int, pose: Pose = STANDING) -> Posed:
    """The character in a pose. Colours and shapes depend only on the figure (key, species, colours,
    description) and `height`, so a character is recognisably itself in every pose; the pose only
    moves limbs, the face and the ink marks."""
    posed = _posed(resolve_look(figure), max(8, int(height)), pose)
    return Posed(posed.image.copy(), posed.hand, posed.drawn_as)


def draw_figure(figure: Figure, height: int, pose: Pose = STANDING) -> Image.Image:
    """The character as an RGBA sprite, feet at the bottom edge. `height` is the size of an adult
    person on the page; smaller species come out smaller. Identical for the same figure, height and
    pose on every page."""
    return draw_posed(figure, height, pose).image
