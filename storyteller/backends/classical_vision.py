"""Image understanding without neural weights: the honest embedded default.

No captioning or VQA model can be installed offline here, so the default describes what classical
analysis can actually measure: size, brightness, dominant colours, and faces/bodies/cat faces
found by OpenCV's Haar cascades. Every caption says it is a classical analysis, and the VQA
backend answers only the questions those measurements can answer, saying so for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyteller.backends.base import (CaptionerBackend, Detection, DetectionResult, DetectorBackend, TextResult,
                                       VQABackend)
from storyteller.errors import BackendUnavailable

# A few named colours are enough to say "mostly blue and white"; names a child would use.
_NAMED_COLOURS = {
    "black": (20, 20, 20), "white": (240, 240, 240), "grey": (128, 128, 128), "red": (200, 40, 40),
    "orange": (235, 140, 40), "yellow": (235, 215, 60), "green": (60, 150, 60), "blue": (50, 90, 200),
    "sky blue": (130, 180, 230), "purple": (130, 70, 160), "pink": (235, 150, 180), "brown": (120, 80, 45),
    "beige": (215, 195, 160),
}
_CASCADES = {"faces": "haarcascade_frontalface_default.xml", "profile faces": "haarcascade_profileface.xml",
             "cat faces": "haarcascade_frontalcatface.xml", "full bodies": "haarcascade_fullbody.xml"}


@dataclass
class Region:
    label: str  # "face", "cat face", ...
    box: tuple[int, int, int, int]  # x, y, w, h in the original image's pixels


@dataclass
class Analysis:
    width: int
    height: int
    brightness: float  # 0..1
    colours: list[tuple[str, float]]  # (name, share), largest first
    regions: list[Region]

    def count(self, label: str) -> int:
        return sum(1 for r in self.regions if r.label == label)


class _ClassicalAnalyser:
    kind = "classical"
    model_id = "opencv-haar-cascades + colour statistics"

    def setup(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise BackendUnavailable("OpenCV is not installed", fix="pip install 'storyteller[embedded]'") from exc
        self._cascades = {}
        for label, filename in _CASCADES.items():
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + filename)
            if cascade.empty():
                raise BackendUnavailable(f"OpenCV cascade {filename} is missing", fix="reinstall opencv-python-headless")
            self._cascades[label] = cascade

    def analyse(self, image) -> Analysis:
        import cv2
        import numpy as np

        rgb = np.asarray(image.convert("RGB"))
        height, width = rgb.shape[:2]
        # Detection on a bounded size keeps huge photos fast; boxes are scaled back.
        scale = min(1.0, 800 / max(height, width))
        small = cv2.resize(rgb, (max(1, int(width * scale)), max(1, int(height * scale)))) if scale < 1 else rgb
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        min_side = max(24, min(grey.shape) // 12)
        regions: list[Region] = []
        for label, cascade in self._cascades.items():
            found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=6, minSize=(min_side, min_side))
            singular = label[:-1] if label.endswith("s") else label
            for x, y, w, h in found:
                box = tuple(int(v / scale) for v in (x, y, w, h))
                # A profile face found where a frontal face already is, is the same face.
                if label == "profile faces" and any(_overlaps(box, r.box) for r in regions if r.label == "face"):
                    continue
                regions.append(Region("face" if label == "profile faces" else singular, box))

        brightness = float(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).mean() / 255)
        return Analysis(width, height, brightness, dominant_colours(image), regions)


def dominant_colours(image, at_least: float = 0.08) -> list[tuple[str, float]]:
    """Up to three named colours covering at least `at_least` of the picture, largest share first."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB").resize((64, 64))).reshape(-1, 3).astype(np.float32)
    names = list(_NAMED_COLOURS)
    palette = np.array([_NAMED_COLOURS[n] for n in names], dtype=np.float32)
    nearest = np.argmin(((pixels[:, None, :] - palette[None]) ** 2).sum(-1), axis=1)
    shares = np.bincount(nearest, minlength=len(names)) / len(nearest)
    return [(names[i], float(shares[i])) for i in np.argsort(-shares) if shares[i] >= at_least][:3]


def _overlaps(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _describe(analysis: Analysis) -> str:
    light = "dark" if analysis.brightness < 0.3 else "bright" if analysis.brightness > 0.65 else "evenly lit"
    colours = " and ".join(name for name, _ in analysis.colours[:2]) or "mixed"
    found = []
    for label in ("face", "cat face", "full body"):
        n = analysis.count(label)
        if n:
            found.append(f"{n} {label}{'s' if n > 1 else ''}")
    subjects = ", ".join(found) if found else "no faces or figures detected"
    orientation = "landscape" if analysis.width > analysis.height else "portrait" if analysis.height > analysis.width else "square"
    article = "An" if light[0] in "aeiou" else "A"
    return f"{article} {light} {orientation} picture, mostly {colours}; {subjects}."


class ClassicalCaptioner(_ClassicalAnalyser, CaptionerBackend):
    name = "classical"

    def caption(self, image, prompt: str | None = None) -> TextResult:
        analysis, provenance = self.timed("caption", lambda: self.analyse(image), prompt=prompt)
        text = _describe(analysis) + " (classical analysis, not a neural caption)"
        return TextResult(text=text, provenance=provenance, details={"analysis": analysis})


class ClassicalVQA(_ClassicalAnalyser, VQABackend):
    name = "classical"

    def answer(self, image, question: str) -> TextResult:
        analysis, provenance = self.timed("answer", lambda: self.analyse(image), prompt=question)
        return TextResult(text=_answer(analysis, question), provenance=provenance, details={"analysis": analysis})


def _answer(analysis: Analysis, question: str) -> str:
    q = question.lower()
    if re.search(r"how many|number of|count", q):
        if re.search(r"cat", q):
            n, what = analysis.count("cat face"), "cat face"
        elif re.search(r"bod(y|ies)|figure", q):
            n, what = analysis.count("full body"), "full body"
        else:
            n, what = analysis.count("face"), "face"
        return f"{n} {what}{'s' if n != 1 else ''} detected by classical face/body detection."
    if re.search(r"colou?r", q):
        shares = ", ".join(f"{name} ({share:.0%})" for name, share in analysis.colours) or "no dominant colour"
        return f"Dominant colours: {shares}."
    if re.search(r"bright|dark|light|night|day", q):
        return f"Mean brightness {analysis.brightness:.0%} ({'dark' if analysis.brightness < 0.3 else 'bright' if analysis.brightness > 0.65 else 'medium'})."
    if re.search(r"\b(is|are) there\b.*\b(person|people|face|someone|anyone|cat)", q):
        n = analysis.count("cat face") if "cat" in q else analysis.count("face")
        return f"{'Yes' if n else 'No'}: {n} detected by classical detection."
    return ("The classical vision backend cannot answer that: it only measures faces, cat faces, bodies, "
            "colours and brightness. Configure a VQA model (vqa backend 'llava', 'qwen2-vl' or 'openai') for open questions.")


class HaarDetector(_ClassicalAnalyser, DetectorBackend):
    """People (faces, bodies) and cats (cat faces) found by Haar cascades; no neural model."""

    name = "classical"

    def detect(self, image) -> DetectionResult:
        def run() -> list[Detection]:
            analysis = self.analyse(image)
            faces = [r for r in analysis.regions if r.label in ("face", "cat face")]
            # A body around a face found already is the same person.
            bodies = [r for r in analysis.regions if r.label == "full body"
                      and not any(_overlaps(r.box, f.box) for f in faces if f.label == "face")]
            found = []
            for region in faces + bodies:
                x, y, w, h = region.box
                box = (x / analysis.width, y / analysis.height, (x + w) / analysis.width, (y + h) / analysis.height)
                found.append(Detection("cat" if region.label == "cat face" else "person", box))
            return found

        detections, provenance = self.timed("detect", run)
        return DetectionResult(detections, provenance)
