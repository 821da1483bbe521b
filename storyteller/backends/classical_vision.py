"""Image understanding without a captioning or VQA model: the honest embedded default.

No captioning or VQA model can be installed offline here, so the default says what it can
actually measure and find, and where each part comes from:

- colour and light, measured by classical analysis (no model): orientation, brightness and the
  dominant colours, of the picture or of one subject's box;
- the people and animals in it, as the detector role finds them (in the embedded default the
  SSD-MobileNet COCO model; Haar cascades when the detector is `classical`): their kinds, how many
  and where. The captioner and the VQA backend are built on the detector role's backend (the
  registry's `uses`), so a caption, an answer and a photo scene all report the same finds.

Every caption and answer names both sources, and its provenance records the detector's call
(`parameters.detector`); the VQA backend answers only what these can answer, and says so for the
rest. `HaarDetector`, the `classical` detector (faces, bodies and cat faces found by OpenCV's Haar
cascades, no neural model), lives here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from storyteller.backends.base import (BackendOptions, CaptionerBackend, Detection, DetectionResult, DetectorBackend,
                                       TextResult, VQABackend)
from storyteller.backends.detectors import found_record, plural, where
from storyteller.errors import BackendUnavailable
from storyteller.install import install_hint, pip_hint

# A few named colours are enough to say "mostly blue and white"; names a child would use.
_NAMED_COLOURS = {
    "black": (20, 20, 20), "white": (240, 240, 240), "grey": (128, 128, 128), "red": (200, 40, 40),
    "orange": (235, 140, 40), "yellow": (235, 215, 60), "green": (60, 150, 60), "blue": (50, 90, 200),
    "sky blue": (130, 180, 230), "purple": (130, 70, 160), "pink": (235, 150, 180), "brown": (120, 80, 45),
    "beige": (215, 195, 160),
}


def dominant_colours(image, at_least: float = 0.08) -> list[tuple[str, float]]:
    """Up to three named colours covering at least `at_least` of the picture, largest share first."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB").resize((64, 64))).reshape(-1, 3).astype(np.float32)
    names = list(_NAMED_COLOURS)
    palette = np.array([_NAMED_COLOURS[n] for n in names], dtype=np.float32)
    nearest = np.argmin(((pixels[:, None, :] - palette[None]) ** 2).sum(-1), axis=1)
    shares = np.bincount(nearest, minlength=len(names)) / len(nearest)
    return [(names[i], float(shares[i])) for i in np.argsort(-shares) if shares[i] >= at_least][:3]


def crop(image, box, margin: float = 0.0):
    """The part of `image` inside `box` (fractions of its size), widened by `margin` of the box."""
    w, h = image.size
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return image.crop((max(0, int((x0 - dx) * w)), max(0, int((y0 - dy) * h)),
                       min(w, int((x1 + dx) * w) + 1), min(h, int((y1 + dy) * h) + 1)))


@dataclass
class Look:
    """One picture as the classical backends see it: measured colour and light, and the detector's finds."""

    width: int
    height: int
    brightness: float  # 0..1
    colours: list[tuple[str, float]]  # (name, share), largest first
    found: list[Detection]  # people and animals, left to right
    finder: str  # "the ssd-mobilenet detector, a neural model"

    def of(self, label: str) -> list[Detection]:
        return [d for d in self.found if d.label == label]

    @property
    def light(self) -> str:
        return "dark" if self.brightness < 0.3 else "bright" if self.brightness > 0.65 else "evenly lit"

    @property
    def subjects(self) -> str:
        """"2 people (on the left; on the right) and 1 cat (in the middle)", or "no people or animals"."""
        groups = []
        for label in dict.fromkeys(d.label for d in self.found):  # in the order a reader meets them
            boxes = [d.box for d in self.of(label)]
            groups.append(f"{len(boxes)} {plural(label, len(boxes))} ({'; '.join(where(b) for b in boxes)})")
        if not groups:
            return "no people or animals"
        return groups[0] if len(groups) == 1 else f"{', '.join(groups[:-1])} and {groups[-1]}"

    @property
    def sources(self) -> str:
        return f"colour and light by classical analysis; people and animals found by {self.finder}"


_KIND_WORDS = {"neural": "a neural model", "classical": "no neural model", "procedural": "no neural model"}


class _ClassicalLook:
    """What the classical captioner and VQA share: the detector role's backend, and colour and light."""

    kind = "classical"

    class Options(BackendOptions):
        """None: what they find is the detector role's to configure ([detector] in the config)."""

    def __init__(self, detector: DetectorBackend, **options: Any):
        # `detector` is the detector role's backend, handed in by the Toolbox (registry `uses`), not an option.
        super().__init__(**options)
        self.detector = detector

    @property
    def model_id(self) -> str:
        return f"colour and light statistics + {self.detector.name} detector ({self.detector.model_id})"

    def setup(self) -> None:
        self.detector.ensure_setup()  # no description without the finds: a detector that cannot load says why here

    def look(self, image, operation: str, prompt: str):
        import numpy as np

        found: DetectionResult = self.detector.detect(image)  # its own instrumented call, with its own timing

        def measure() -> Look:
            grey = np.asarray(image.convert("L").resize((128, 128)), dtype=np.float32)
            return Look(image.width, image.height, float(grey.mean() / 255), dominant_colours(image),
                        sorted(found.detections, key=lambda d: (d.box[0] + d.box[2]) / 2),
                        f"the {self.detector.name} detector, {_KIND_WORDS[self.detector.kind]}")

        return self.timed(operation, measure, prompt=prompt, parameters={"detector": found_record(found.detections, found.provenance)})


def _details(look: Look) -> dict:
    return {"brightness": look.brightness, "colours": look.colours, "found": look.found}


def _describe(look: Look) -> str:
    orientation = "landscape" if look.width > look.height else "portrait" if look.height > look.width else "square"
    colours = " and ".join(name for name, _ in look.colours[:2]) or "mixed colours"
    article = "An" if look.light[0] in "aeiou" else "A"
    return f"{article} {look.light} {orientation} picture, mostly {colours}: {look.subjects}."


class ClassicalCaptioner(_ClassicalLook, CaptionerBackend):
    name = "classical"

    def caption(self, image, prompt: str | None = None) -> TextResult:
        look, provenance = self.look(image, "caption", prompt)
        text = f"{_describe(look)} ({look.sources}; not a neural caption)"
        return TextResult(text=text, provenance=provenance, details=_details(look))


class ClassicalVQA(_ClassicalLook, VQABackend):
    name = "classical"

    def answer(self, image, question: str) -> TextResult:
        if _ABOUT_LOOKS.search(question.lower()):  # how someone looks: the face and smile cascades
            (text, reading), provenance = self.timed("answer", lambda: _looks(image), prompt=question,
                                                     parameters={"method": "opencv haar face + smile cascades"})
            return TextResult(text=text, provenance=provenance, details={"expression": reading})
        look, provenance = self.look(image, "answer", question)
        return TextResult(text=_answer(look, image, question), provenance=provenance, details=_details(look))


# Words a reader asks with, for each label the detectors give (teddy bears before bears).
_KINDS = {
    "teddy bear": r"teddy bears?|teddies|teddy",
    "person": r"people|persons?|man|men|woman|women|child|children|kids?|boys?|girls?|humans?|faces?|figures?|"
              r"bod(?:y|ies)|someone|anyone|somebody|anybody",
    "cat": r"cats?|kittens?|kitty", "dog": r"dogs?|pupp(?:y|ies)", "bird": r"birds?", "horse": r"horses?|pon(?:y|ies)",
    "sheep": r"sheep|lambs?", "cow": r"cows?|cattle|calf|calves", "elephant": r"elephants?", "bear": r"bears?",
    "zebra": r"zebras?", "giraffe": r"giraffes?",
}
_ANIMALS = r"animals?|creatures?|pets?"


def _named(q: str) -> list[str]:
    named, rest = [], q
    for label, words in _KINDS.items():
        if re.search(rf"\b(?:{words})\b", rest):
            named.append(label)
            rest = re.sub(rf"\b(?:{words})\b", " ", rest)
    return named


def _tell(found: list[Detection]) -> str:
    groups: dict[str, list[Detection]] = {}
    for d in found:
        groups.setdefault(d.label, []).append(d)
    return ", ".join(f"{len(g)} {plural(label, len(g))} ({'; '.join(where(d.box) for d in g)})" for label, g in groups.items())


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


_ABOUT_LOOKS = re.compile(r"smil|expression|mood|feel|emotion|happy|sad|angry|look(?:s|ing)? like|how (?:does|do) .* look")


def smile_reading(image) -> dict:
    """Whether the largest face in the picture smiles, by OpenCV's Haar cascades (classical): a face
    cascade, then the smile cascade in the face's lower half. All it can tell is a smile from no
    smile. {"faces": n, "smiling": bool or None (no face), "face": (x0, y0, x1, y1) fractions or None}."""
    import cv2
    import numpy as np

    grey = cv2.equalizeHist(cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY))
    side = max(24, min(grey.shape) // 8)
    faces = _cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    if len(faces) == 0:
        return {"faces": 0, "smiling": None, "face": None}
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    mouth = grey[y + h // 2:y + h, x:x + w]
    smiles = _cascade("haarcascade_smile.xml").detectMultiScale(
        mouth, scaleFactor=1.5, minNeighbors=18, minSize=(max(8, w // 5), max(6, h // 10)))
    return {"faces": len(faces), "smiling": len(smiles) > 0,
            "face": tuple(float(v) for v in (x / image.width, y / image.height, (x + w) / image.width, (y + h) / image.height))}


def _cascade(filename: str):
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + filename)
    if cascade.empty():
        raise BackendUnavailable(f"OpenCV cascade {filename} is missing",
                                 fix=pip_hint("--force-reinstall 'opencv-python-headless>=4.8,<5'"))
    return cascade


def _looks(image) -> tuple[str, dict]:
    reading = smile_reading(image)
    how = "OpenCV's Haar face and smile cascades (classical: they tell only a smile from no smile)"
    if reading["smiling"] is None:
        return f"I cannot tell how they look: no face found by {how}.", reading
    if reading["smiling"]:
        return f"Smiling: a smile found in the face by {how}.", reading
    return f"Not smiling: a face found, but no smile, by {how}.", reading


def _answer(look: Look, image, question: str) -> str:
    q = question.lower()
    named = _named(q)
    animals = bool(re.search(rf"\b(?:{_ANIMALS})\b", q))
    asked = [d for d in look.found if d.label in named or animals and d.label != "person"]
    what = " or ".join([*(plural(label, 2) for label in named), *(["animals"] if animals else [])])
    by = f"found by {look.finder}"
    none = f"no {what} {by}; it found {look.subjects}."

    if re.search(r"colou?rs?", q):
        if asked:
            parts = [f"the {d.label} ({where(d.box)}) is mostly "
                     f"{' and '.join(n for n, _ in dominant_colours(crop(image, d.box))[:2]) or 'of mixed colours'}"
                     for d in asked]
            return _sentence("; ".join(parts)) + f" (colours measured in its box by classical analysis; {by})."
        shares = ", ".join(f"{name} ({share:.0%})" for name, share in look.colours) or "no dominant colour"
        overall = f"Dominant colours of the picture: {shares} (classical analysis)."
        return f"{_sentence(none)} {overall}" if named or animals else overall
    if re.search(r"bright|dark|light|night|\bday", q):
        level = "dark" if look.brightness < 0.3 else "bright" if look.brightness > 0.65 else "medium"
        return f"Mean brightness {look.brightness:.0%} ({level}; classical analysis)."
    if named or animals:
        if re.search(r"how many|number of|\bcount", q):
            return f"{_tell(asked)}, {by}." if asked else _sentence(none)
        if re.search(r"\bwhere\b", q):
            return _sentence("; ".join(f"the {d.label} is {where(d.box)}" for d in asked)) + f", {by}." if asked else _sentence(none)
        if re.search(r"\b(?:is|are) there\b|\bany\b|\b(?:do|can) you see\b|^\s*(?:is|are) (?:it|this|that|they|these)\b", q):
            return f"Yes: {_tell(asked)}, {by}." if asked else f"No: {none}"
    if re.search(r"\bwhat(?:'s| is| are)? (?:in|on)\b|\bwhat (?:do|can) you see\b|\bwho(?:'s| is| are)\b|\bdescribe\b"
                 r"|\bwhat (?:is|are) (?:this|these|it|that|shown|pictured)\b|\bwhat (?:animal|kind|creature|sort)"
                 r"|\bhow many\b|\bnumber of\b", q):
        return f"{_describe(look)} ({look.sources}.)"
    return (f"The classical vision backend cannot answer that: it measures colour and light, and reports the people "
            f"and animals found by {look.finder} (what, how many, where; here: {look.subjects}). Configure a VQA "
            "model (vqa backend 'llava', 'qwen2-vl' or 'openai') for open questions.")


# -- the `classical` detector ---------------------------------------------------------------------
# What each cascade finds; profile faces are faces seen from the side.
_PROFILE = "haarcascade_profileface.xml"
_CASCADES = {"haarcascade_frontalface_default.xml": "face", _PROFILE: "face",
             "haarcascade_frontalcatface.xml": "cat face", "haarcascade_fullbody.xml": "full body"}


def _overlaps(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


class HaarDetector(DetectorBackend):
    """People (faces, bodies) and cats (cat faces) found by Haar cascades; no neural model."""

    name = "classical"
    kind = "classical"
    model_id = "opencv-haar-cascades"

    class Options(BackendOptions):
        """None: the cascades are OpenCV's own, with the settings tuned in `_regions`."""

    def setup(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise BackendUnavailable("OpenCV is not installed", fix=install_hint("embedded")) from exc
        self._cascades = []
        for filename, kind in _CASCADES.items():
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + filename)
            if cascade.empty():
                raise BackendUnavailable(f"OpenCV cascade {filename} is missing",
                                         fix=pip_hint("--force-reinstall 'opencv-python-headless>=4.8,<5'"))
            self._cascades.append((filename, kind, cascade))

    def _regions(self, image) -> list[tuple[str, tuple[int, int, int, int]]]:
        """(label, (x, y, w, h) in pixels) of every face, cat face and full body the cascades find."""
        import cv2
        import numpy as np

        rgb = np.asarray(image.convert("RGB"))
        height, width = rgb.shape[:2]
        # Detection on a bounded size keeps huge photos fast; boxes are scaled back.
        scale = min(1.0, 800 / max(height, width))
        small = cv2.resize(rgb, (max(1, int(width * scale)), max(1, int(height * scale)))) if scale < 1 else rgb
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        min_side = max(24, min(grey.shape) // 12)
        regions: list[tuple[str, tuple[int, int, int, int]]] = []
        for filename, kind, cascade in self._cascades:
            found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=6, minSize=(min_side, min_side))
            for x, y, w, h in found:
                box = tuple(int(v / scale) for v in (x, y, w, h))
                # A profile face found where a frontal face already is, is the same face.
                if filename == _PROFILE and any(_overlaps(box, b) for k, b in regions if k == "face"):
                    continue
                regions.append((kind, box))
        return regions

    def detect(self, image) -> DetectionResult:
        def run() -> list[Detection]:
            regions = self._regions(image)
            faces = [(kind, box) for kind, box in regions if kind in ("face", "cat face")]
            # A body around a face found already is the same person.
            bodies = [(kind, box) for kind, box in regions if kind == "full body"
                      and not any(_overlaps(box, b) for k, b in faces if k == "face")]
            found = []
            for kind, (x, y, w, h) in faces + bodies:
                box = (x / image.width, y / image.height, (x + w) / image.width, (y + h) / image.height)
                found.append(Detection("cat" if kind == "cat face" else "person", box))
            return found

        detections, provenance = self.timed("detect", run)
        return DetectionResult(detections, provenance)
