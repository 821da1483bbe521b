"""Words -> the shot vocabulary: the one lexicon that reads a page's text as a picture.

The shot's fields are closed vocabularies (storyteller.story: SETTINGS, ACTIONS, ...) plus the
props in PROPS below, which are the things the storyboard can draw. This module finds, in plain
text, the words that decide each field ("trudged" -> walk, "moonlit" -> night, "loaves" -> bread)
and remembers which word decided, so whoever uses a cue can say where it came from.

Two callers: the shot maker (storyteller.agent.shots), which checks and completes the LLM's shot
with these cues, and illustrators given no shot at all (a bare prompt through the `illustrate`
tool), which stage the picture from their prompt with `read_shot`. Nothing here is a model: it is
a hand-made lexicon, deterministic, and knows nothing about stories.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storyteller.languages import gloss
from storyteller.story import Shot, ShotCharacter

# -- settings ---------------------------------------------------------------------------------------
SETTING_WORDS: dict[str, tuple[str, ...]] = {
    "snow": ("snow", "snowy", "winter", "wintry", "ice", "icy", "frozen", "frost", "frosty", "blizzard", "snowman",
             "sled", "sledge", "igloo", "arctic", "polar", "snowfall", "snowflakes"),
    "forest": ("forest", "woods", "wood", "woodland", "tree", "trees", "jungle", "pine", "pines", "oak", "grove", "glade"),
    "sea": ("sea", "ocean", "beach", "lighthouse", "shore", "coast", "harbour", "harbor", "waves", "seaside", "island",
            "bay", "pier", "port", "rockpool", "seashore", "cove"),
    "underwater": ("underwater", "reef", "seabed", "seafloor", "coral", "undersea"),
    "indoor": ("room", "house", "home", "kitchen", "bakery", "cafe", "café", "museum", "library", "bedroom", "inside",
               "indoors", "shop", "classroom", "school", "attic", "cottage", "restaurant", "parlour", "hall", "castle",
               "workshop", "tearoom", "teashop", "lab", "laboratory"),
    "city": ("city", "street", "streets", "bus", "town", "road", "market", "station", "traffic", "skyscraper",
             "downtown", "avenue", "alley", "rooftop", "rooftops"),
    "desert": ("desert", "sand", "sandy", "dune", "dunes", "cactus", "cacti", "oasis", "sahara", "camel", "pyramid"),
    "space": ("space", "rocket", "planet", "planets", "galaxy", "astronaut", "spaceship", "orbit", "asteroid", "alien",
              "cosmos", "spacecraft", "satellite"),
    "garden": ("garden", "meadow", "field", "fields", "flowers", "flower", "park", "farm", "lawn", "orchard", "picnic",
               "grass", "grassy", "village", "countryside"),
    "mountain": ("mountain", "mountains", "hill", "hills", "peak", "peaks", "valley", "alps", "summit", "cliff", "cliffs"),
    "river": ("river", "lake", "pond", "stream", "creek", "waterfall", "bridge", "canal", "riverbank"),
    "cave": ("cave", "cavern", "tunnel", "underground", "mine", "grotto", "den", "burrow"),
    "sky": ("sky", "clouds", "cloud", "flying", "flight", "air", "rainbow", "airship", "soaring"),
}
# Indoor words that mean "we are inside" even when an outdoor word is present ("kitchen window on a
# snowy night"); the others ("a café in the desert") leave the outdoor setting in charge.
STRONG_INDOOR = {"kitchen", "room", "bedroom", "inside", "indoors", "library", "museum", "classroom", "attic",
                 "hall", "parlour", "workshop", "lab", "laboratory", "school"}
# The kinds of room the storyboard furnishes differently.
ROOMS = ("kitchen", "bakery", "café", "cafe", "museum", "library", "bedroom", "classroom", "workshop", "attic")

# -- time, weather, light, camera, depth ------------------------------------------------------------
TIME_WORDS: dict[str, tuple[str, ...]] = {
    "night": ("night", "moon", "moonlight", "moonlit", "stars", "starry", "starlit", "dark", "darkness", "midnight",
              "nighttime", "bedtime", "nocturnal", "starlight", "tonight"),
    "evening": ("evening", "sunset", "dusk", "twilight", "sundown", "supper"),
    "morning": ("morning", "dawn", "sunrise", "breakfast", "daybreak"),
}
WEATHER_WORDS: dict[str, tuple[str, ...]] = {
    "storm": ("storm", "stormy", "thunder", "lightning", "gale", "thunderstorm", "tempest"),
    "rain": ("rain", "rainy", "raining", "rained", "drizzle", "puddle", "puddles", "downpour", "wet", "showers", "raindrops"),
    "snow": ("snowing", "snowflakes", "snowflake", "snowfall", "blizzard", "snows", "snowed", "flurries"),
    "fog": ("fog", "foggy", "mist", "misty", "haze", "hazy"),
    "wind": ("wind", "windy", "breeze", "gust", "gusts", "blustery", "blew", "blowing"),
    "cloudy": ("cloudy", "overcast", "grey sky", "gray sky"),
}
GLOW_WORDS = {"lantern", "lanterns", "lamp", "candle", "candles", "glow", "glowing", "glowed", "fire", "campfire",
              "torch", "fireflies", "firefly", "light", "lights", "shining", "shone", "sparkle", "sparkled"}
BRIGHT_WORDS = {"sunny", "sunshine", "sunlight", "bright", "dazzling", "summer"}
CAMERA_WORDS: dict[str, tuple[str, ...]] = {
    # "close"/"closer" say where someone goes ("closer to the dark"), not how near the camera is
    "close-up": ("face", "eyes", "whisper", "whispered", "whispers", "nose", "tear", "tears"),
    "wide": ("far", "distance", "across", "whole", "everywhere", "world", "journey", "horizon", "landscape", "valley",
             "miles", "huge", "vast", "travels", "travelled", "traveled"),
}
FAR_PHRASES = ("far away", "in the distance", "far off", "faraway", "far across", "on the horizon")

# -- what characters do, and how they feel ----------------------------------------------------------
# verb -> action; every regular inflection of a verb is found (walks, walked, walking), irregular
# forms are listed. Weak actions (look, talk, stand) yield to any other the same character does.
ACTION_VERBS: dict[str, tuple[str, ...]] = {
    "stand": ("stand", "stood", "wait", "stay", "pause", "freeze", "froze"),
    "walk": ("walk", "wander", "stroll", "tiptoe", "trudge", "march", "step", "follow", "travel", "journey", "explore",
             "roam", "trek", "waddle", "hike", "stride", "strode", "went", "go", "goes", "visit", "move", "set off"),
    "run": ("run", "ran", "race", "dash", "hurry", "hurried", "rush", "chase", "scamper", "sprint", "scurry", "flee",
            "fled", "gallop", "zoom"),
    "jump": ("jump", "leap", "leapt", "hop", "bounce", "spring", "sprang", "skip", "pounce"),
    "sit": ("sit", "sat", "rest", "perch", "settle", "kneel", "knelt", "squat"),
    "wave": ("wave", "greet", "beckon", "welcome"),
    "point": ("point", "show", "gesture"),
    "hold": ("hold", "held", "carry", "grab", "clutch", "lift", "pick", "take", "took", "bring", "brought", "catch",
             "caught", "grip", "offer", "give", "gave", "build", "built", "fix", "repair", "make", "made", "cook",
             "bake", "mix", "knead", "paint", "write", "wrote", "read"),
    "hug": ("hug", "embrace", "cuddle", "snuggle", "squeeze"),
    "sleep": ("sleep", "slept", "nap", "doze", "snooze", "dream", "dreamt", "slumber", "asleep", "lie", "lay", "lying"),
    "fly": ("fly", "flew", "flown", "soar", "flutter", "glide", "float", "drift", "hover", "flap"),
    "swim": ("swim", "swam", "swum", "dive", "paddle", "splash"),
    "climb": ("climb", "clamber", "scramble", "ascend"),
    "dance": ("dance", "twirl", "spin", "spun", "sway", "prance", "whirl"),
    "reach": ("reach", "stretch", "touch", "open", "knock", "push", "pull", "grasp"),
    "hide": ("hide", "hid", "hidden", "peek", "crouch", "cower"),
    "look": ("look", "watch", "stare", "gaze", "see", "saw", "seen", "notice", "spot", "peer", "search", "find",
             "found", "discover", "listen", "glance", "admire", "observe"),
    "talk": ("say", "said", "ask", "tell", "told", "talk", "shout", "call", "reply", "answer", "sing", "sang", "sung",
             "chat", "explain", "speak", "spoke", "yell", "exclaim", "announce"),
}
WEAK_ACTIONS = ("look", "talk", "stand")
EXPRESSION_WORDS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "happily", "glad", "joy", "joyful", "smile", "laugh", "delighted", "cheerful", "excited",
              "grin", "giggle", "proud", "pleased", "love", "thrilled", "hooray", "yay", "fun", "wonderful",
              "beaming", "merry", "jolly", "hopeful", "laughter"),
    "sad": ("sad", "sadly", "cry", "cried", "tears", "lonely", "unhappy", "sob", "miss", "gloomy", "sigh", "sorry",
            "upset", "heartbroken", "alone"),
    "surprised": ("surprised", "surprise", "gasp", "amazed", "astonished", "shocked", "wow", "startled", "stunned",
                  "suddenly", "amazing"),
    "scared": ("scared", "afraid", "frightened", "fear", "nervous", "worried", "worry", "shiver", "tremble",
               "terrified", "timid", "shy", "anxious", "spooky", "scary"),
    "angry": ("angry", "angrily", "grumpy", "furious", "mad", "frown", "stomp", "huff", "annoyed", "growl",
              "scowl"),
    "thinking": ("think", "thought", "wonder", "puzzled", "curious", "idea", "plan", "remember", "ponder", "decide",
                 "imagine", "wish", "hmm"),
    "sleepy": ("sleepy", "tired", "yawn", "drowsy", "exhausted", "weary"),
}

# -- props: the things the storyboard can draw, and the words that name them -------------------------
PROP_WORDS: dict[str, tuple[str, ...]] = {
    "lantern": ("lantern", "lamp", "torch"),
    "candle": ("candle",),
    "campfire": ("campfire", "bonfire", "fire", "fireplace", "hearth"),
    "kite": ("kite",),
    "balloon": ("balloon",),
    "umbrella": ("umbrella",),
    "flowers": ("flower", "flowers", "tulip", "rose", "daisy", "bouquet", "blossom"),
    "tree": ("tree", "oak", "apple tree"),
    "leaf": ("leaf", "leaves", "autumn leaf"),
    "mushroom": ("mushroom", "toadstool"),
    "house": ("house", "cottage", "cabin", "hut"),
    "cafe": ("café", "cafe", "tearoom", "teashop", "restaurant"),
    "door": ("door", "doorway", "gate"),
    "window": ("window",),
    "lighthouse": ("lighthouse",),
    "boat": ("boat", "ship", "sailboat", "rowboat", "yacht", "ferry", "raft"),
    "rocket": ("rocket", "spaceship", "spacecraft"),
    "bus": ("bus",),
    "car": ("car", "truck", "van", "taxi"),
    "train": ("train",),
    "bicycle": ("bicycle", "bike"),
    "sun": ("sun", "sunshine"),
    "moon": ("moon",),
    "star": ("star", "wishing star", "shooting star"),
    "rainbow": ("rainbow",),
    "cake": ("cake", "cupcake", "pie", "cookie", "pastry", "bun", "muffin"),
    "bread": ("bread", "loaf", "dough", "baguette"),
    "oven": ("oven", "stove"),
    "pot": ("pot", "pan", "saucepan", "kettle", "bowl"),
    "spoon": ("spoon", "whisk", "ladle", "fork"),
    "teacup": ("cup", "mug", "teacup", "teapot", "tea", "coffee"),
    "clock": ("clock", "clocks", "clockwork", "clockmaker"),
    "gears": ("gear", "cog", "bolt", "screw", "parts"),
    "tools": ("tool", "hammer", "wrench", "spanner", "screwdriver"),
    "book": ("book", "storybook", "diary"),
    "map": ("map",),
    "letter": ("letter", "envelope", "postcard"),
    "newspaper": ("newspaper", "headline", "headlines"),
    "paintbrush": ("paintbrush", "brush", "paint", "paints"),
    "easel": ("easel", "canvas", "painting"),
    "sword": ("sword",),
    "shield": ("shield",),
    "crown": ("crown", "tiara"),
    "broom": ("broom", "broomstick"),
    "hat": ("hat",),
    "ball": ("ball",),
    "basket": ("basket",),
    "apple": ("apple", "fruit"),
    "carrot": ("carrot",),
    "key": ("key",),
    "gift": ("gift", "present", "parcel"),
    "bell": ("bell",),
    "music": ("song", "music", "choir", "tune", "melody", "notes"),
    "telescope": ("telescope", "binoculars"),
    "globe": ("globe",),
    "ladder": ("ladder",),
    "bucket": ("bucket", "pail", "spade"),
    "shell": ("shell", "seashell"),
    "rock": ("rock", "stone", "boulder", "pebble"),
    "bench": ("bench",),
    "bed": ("bed", "pillow", "blanket"),
    "chair": ("chair", "stool", "armchair"),
    "table": ("table", "desk"),
    "nest": ("nest", "egg"),
    "bone": ("bone", "fossil", "skeleton"),
    "statue": ("statue",),
    "flag": ("flag",),
    "signpost": ("signpost", "sign"),
    "bag": ("bag", "backpack", "rucksack", "suitcase"),
}
PROPS = tuple(PROP_WORDS)
MAX_PROPS = 4  # a picture-book page shows a few things; the shot allows more (story.Shot.props)

_DOUBLE_FINAL = {"hop", "skip", "stop", "run", "swim", "jog", "hug", "nap", "chat", "clap", "drop", "grab", "step",
                 "trip", "plan", "wag", "pat", "dig", "sit", "spin", "knit", "slip", "scrub", "rub", "nod", "beg"}


def words(text: str) -> list[str]:
    """Lower-case words, accented letters kept ("café"), apostrophes dropped; Chinese text is read
    through its English gloss (storyteller.languages.gloss)."""
    return re.findall(r"[a-zà-ÿ]+", gloss(text).lower().replace("'", ""))


def _inflections(verb: str) -> set[str]:
    """A verb's regular forms: walk -> walks, walked, walking; carry -> carries, carried; hop -> hopped."""
    if " " in verb:
        return {verb}
    forms = {verb}
    if verb.endswith("e"):
        forms |= {verb + "s", verb + "d", verb[:-1] + "ing"}
    elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
        forms |= {verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"}
    elif verb.endswith(("s", "sh", "ch", "x", "z")):
        forms |= {verb + "es", verb + "ed", verb + "ing"}
    elif verb in _DOUBLE_FINAL:
        forms |= {verb + "s", verb + verb[-1] + "ed", verb + verb[-1] + "ing"}
    else:
        forms |= {verb + "s", verb + "ed", verb + "ing"}
    return forms


def _noun_forms(noun: str) -> set[str]:
    if " " in noun:
        return {noun}
    forms = {noun, noun + "s", noun + "es"}
    if noun.endswith("y"):
        forms.add(noun[:-1] + "ies")
    if noun.endswith("f"):
        forms.add(noun[:-1] + "ves")
    if noun.endswith("af"):
        forms.add(noun[:-1] + "ves")  # loaf -> loaves
    return forms


def _index(table: Mapping[str, Sequence[str]], inflect) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, entries in table.items():
        for entry in entries:
            for form in inflect(entry):
                out.setdefault(form, value)
    return out


ACTION_OF = _index(ACTION_VERBS, _inflections)
EXPRESSION_OF = _index(EXPRESSION_WORDS, _inflections)
PROP_OF = _index(PROP_WORDS, _noun_forms)
# Phrases of two words ("apple tree", "set off") are looked up on word pairs.
_PAIR_TABLES = (ACTION_OF, PROP_OF)


@dataclass(frozen=True)
class Cue:
    """A value read from the text and the word that decided it."""

    value: str
    word: str


def _lookup(tokens: list[str], table: Mapping[str, str]) -> list[tuple[int, Cue]]:
    """(position, cue) for every word (or two-word phrase) of `tokens` in `table`."""
    found = []
    for i, token in enumerate(tokens):
        pair = f"{token} {tokens[i + 1]}" if i + 1 < len(tokens) else ""
        if pair and pair in table:
            found.append((i, Cue(table[pair], pair)))
        elif token in table:
            found.append((i, Cue(table[token], token)))
    return found


def read_setting(scene: str, text: str = "") -> Cue | None:
    """The kind of place: the scene's words first, the text's only when the scene names none."""
    scene_t = words(scene)
    source = scene_t if any(w in ws for w in scene_t for ws in SETTING_WORDS.values()) else scene_t + words(text)
    scores: dict[str, float] = {}
    first: dict[str, tuple[int, str]] = {}
    for i, w in enumerate(source):
        for setting, ws in SETTING_WORDS.items():
            if w in ws:
                # "sky" words ("air", "clouds") are weak: most places have a sky.
                scores[setting] = scores.get(setting, 0) + (0.5 if setting == "sky" else 1.0)
                first.setdefault(setting, (i, w))
    if not scores:
        return None
    outdoor = {s: v for s, v in scores.items() if s not in ("indoor", "snow")}
    if "indoor" in scores and (any(w in STRONG_INDOOR for w in source) or not outdoor):
        return Cue("indoor", first["indoor"][1])
    if outdoor:
        best = max(outdoor, key=lambda s: (outdoor[s], -first[s][0]))
        return Cue(best, first[best][1])
    return Cue("snow", first["snow"][1])


def read_room(*texts: str) -> str:
    """The kind of room an indoor place is ('kitchen', 'café', ...), '' when none is named."""
    found = set(words(" ".join(texts)))
    room = next((r for r in ROOMS if r in found), "")
    return {"cafe": "café"}.get(room, room)


def _first(text: str, table: Mapping[str, Sequence[str]]) -> Cue | None:
    tokens = words(text)
    joined = " ".join(tokens)
    for value, entries in table.items():  # table order is priority order (storm before rain)
        for entry in entries:
            if (" " in entry and entry in joined) or entry in tokens:
                return Cue(value, entry)
    return None


def read_time(text: str) -> Cue | None:
    return _first(text, TIME_WORDS)


def read_weather(text: str, setting: str | None = None) -> Cue | None:
    cue = _first(text, WEATHER_WORDS)
    if cue is None and setting == "snow" and {"falling", "fell", "falls"} & set(words(text)):
        return Cue("snow", "falling")
    return cue


def snowy(text: str) -> bool:
    """The place is under snow ("a snowy forest"), whatever kind of place it is."""
    return bool(set(words(text)) & set(SETTING_WORDS["snow"]))


def read_light(text: str, time_of_day: str, weather: str) -> Cue:
    """Light follows from the other fields and the glow words; always answers (soft by default)."""
    tokens = set(words(text))
    glow = next((w for w in words(text) if w in GLOW_WORDS), None)
    if glow and time_of_day in ("night", "evening"):
        return Cue("glowing", glow)
    if time_of_day == "night" or weather in ("storm", "fog"):
        return Cue("dim", time_of_day if time_of_day == "night" else weather)
    if time_of_day == "evening" or "fire" in tokens or "fireplace" in tokens:
        return Cue("warm", "evening" if time_of_day == "evening" else "fire")
    bright = next((w for w in words(text) if w in BRIGHT_WORDS), None)
    if bright and weather in ("clear", "wind"):
        return Cue("bright", bright)
    return Cue("soft", "default")


def read_camera(text: str) -> Cue | None:
    return _first(text, CAMERA_WORDS)


def read_props(text: str, *, exclude: Sequence[str] = (), limit: int = MAX_PROPS) -> list[Cue]:
    """The props the text names, in order of first mention, at most `limit`. `exclude`: words that
    are characters here (a bus that is the hero is not a prop)."""
    skip = {w for e in exclude for w in words(e)}
    found: dict[str, Cue] = {}
    for _, cue in _lookup(words(text), PROP_OF):
        if cue.value not in found and cue.value not in skip and not set(words(cue.word)) & skip:
            found[cue.value] = cue
    return list(found.values())[:limit]


def _clauses(text: str) -> list[list[str]]:
    """The text cut into clauses (sentences split at , ; : and 'and then'), each as words."""
    parts = re.split(r"[.!?;:\n。！？；：]+|[,，]|\band then\b|\bthen\b", text)
    return [words(p) for p in parts if words(p)]


_GROUP_WORDS = {"they", "together", "both", "everyone", "all", "friends", "we"}
# Words of names that name nobody in particular ("Old Tom", "the Little Owl").
_TITLE_WORDS = {"the", "old", "young", "little", "big", "small", "mr", "mrs", "ms", "miss", "sir", "lady", "grand",
                "great", "dear", "of", "and", "a", "an", "person", "human", "character", "creature", "animal"}


def read_cast(text: str, names: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Cue]]:
    """For each character (slug -> the words that name it), the action and expression the text gives it.

    A character's action is the first action word after its name in the same clause (the subject's
    verb); a clause about "they"/"together" counts for everyone; a character no clause names takes
    the page's first action when it is alone on stage. Weak actions (look, talk, stand) give way to
    any other that character does. Expressions: the mood word in a clause naming the character, else
    the page's first mood word.
    """
    name_words = {slug: {w for n in ns for w in words(n) if len(w) > 1 and w not in _TITLE_WORDS}
                  for slug, ns in names.items()}
    actions: dict[str, list[Cue]] = {slug: [] for slug in names}
    moods: dict[str, list[Cue]] = {slug: [] for slug in names}
    page_actions: list[Cue] = []
    page_moods: list[Cue] = []
    subject: list[str] = []  # who the last clause was about: a clause naming nobody ("she ran") is about them too
    for clause in _clauses(text):
        verbs = _lookup(clause, ACTION_OF)
        feelings = _lookup(clause, EXPRESSION_OF)
        page_actions += [c for _, c in verbs]
        page_moods += [c for _, c in feelings]
        mentions = sorted((i, slug) for slug, ws in name_words.items() for i, w in enumerate(clause) if w in ws)
        if set(clause) & _GROUP_WORDS:
            mentions = [(0, slug) for slug in names] + mentions
        if not mentions:
            mentions = [(0, slug) for slug in subject]
        for k, (at, slug) in enumerate(mentions):
            # the verbs after this name and before the next character's name: what it does; else
            # the verb just before it ("called Owl")
            until = next((i for i, other in mentions[k + 1:] if other != slug and i > at), len(clause))
            after = [c for i, c in verbs if at <= i < until]
            before = [c for i, c in verbs if at - 2 <= i < at]
            actions[slug] += after or before
            moods[slug] += [c for _, c in feelings]
        subject = list(dict.fromkeys(slug for _, slug in mentions))
    out: dict[str, dict[str, Cue]] = {}
    alone = len(names) == 1
    for slug in names:
        chosen: dict[str, Cue] = {}
        pool = actions[slug] or (page_actions if alone else [])
        strong = [c for c in pool if c.value not in WEAK_ACTIONS]
        if strong or pool:
            chosen["action"] = (strong or pool)[0]
        feeling = moods[slug] or (page_moods if alone else [])
        if feeling:
            chosen["expression"] = feeling[0]
        out[slug] = chosen
    return out


def read_far(text: str, names: Sequence[str]) -> bool:
    """True when a clause naming the character puts it far away ("Owl, far away on the hill")."""
    wanted = {w for n in names for w in words(n) if len(w) > 1 and w not in _TITLE_WORDS}
    for part in re.split(r"[.!?;\n。！？；]+", text.lower()):
        if set(words(part)) & wanted and any(p in part for p in FAR_PHRASES):
            return True
    return False


def stage(cast: Sequence[ShotCharacter]) -> list[ShotCharacter]:
    """Where each character stands and which way it faces, from the cast's order and actions.

    One character stands in the centre; two take the left and the right and face each other; three
    fill left, centre, right; a crowd stands in a row across the page. Someone moving
    (walk, run, fly, swim) faces the way the page reads, unless another character is to its right
    and it is moving towards them anyway. Sleepers face front.
    """
    n = len(cast)
    slots = {1: ["centre"], 2: ["left", "right"], 3: ["left", "centre", "right"]}.get(n)
    out = []
    for i, member in enumerate(cast):
        # a crowd stands in a row: its members' positions are the nearest of the three slots
        position = slots[i] if slots else ("left", "centre", "right")[min(2, i * 3 // n)]
        depth = member.depth
        if member.action == "sleep":
            facing = "front"
        elif position == "left":
            facing = "right"
        elif position == "right":
            facing = "left"
        elif member.action in ("walk", "run", "fly", "swim", "climb"):
            facing = "right"
        else:
            facing = "front"
        out.append(member.model_copy(update={"position": position, "facing": facing, "depth": depth}))
    return out


def read_shot(text: str, scene: str = "", names: Mapping[str, Sequence[str]] | None = None) -> Shot:
    """A whole shot from words alone (no model): what an illustrator given only a prompt draws.
    `names`: the characters on stage, in order, slug -> the words that name them."""
    names = dict(names or {})
    everything = f"{scene}. {text}"
    setting = read_setting(scene, text)
    time = read_time(everything)
    weather = read_weather(everything, setting.value if setting else None)
    time_v, weather_v = (time.value if time else "day"), (weather.value if weather else "clear")
    if weather is None and setting is not None and setting.value != "snow" and snowy(everything):
        weather_v = "snow"  # a snowy forest: snow on the trees and in the air (or past the window)
    if setting is not None and setting.value == "space":
        time_v = "night"  # space is black
    cues = read_cast(text, names)
    cast = [ShotCharacter(character=slug, action=cues[slug]["action"].value if "action" in cues[slug] else "stand",
                          expression=cues[slug]["expression"].value if "expression" in cues[slug] else "neutral",
                          depth="far" if read_far(text, ns) else "near")
            for slug, ns in names.items()]
    camera = read_camera(text)
    return Shot(
        setting=setting.value if setting else "garden", place=scene, time_of_day=time_v, weather=weather_v,
        light=read_light(everything, time_v, weather_v).value,
        props=[c.value for c in read_props(everything, exclude=[w for ns in names.values() for w in ns])],
        cast=stage(cast), camera=camera.value if camera else "medium",
        filled=["all: read from the words (no shot given)"],
    )
