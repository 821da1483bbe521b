"""The offline default illustrator: a procedural storyboard renderer, not a neural model.

No text-to-image model ships with storyteller, so the default draws an honest storyboard panel
with Pillow and numpy, of the request's shot (storyteller.story.Shot; without one, the prompt's
words staged by storyteller.staging): the setting, time of day, weather and light; the props the
shot names (a labelled parcel for one it has no drawing for); each character as a simple figure
built from its species and colours, in its pose (action, expression, facing), where the shot puts
it (left/centre/right, near/far) at the camera's distance; a style treatment (watercolor, pencil,
crayon, pixel art, ink, oil or flat), the caption and a corner label saying what made the picture.
A sheet request draws each character large on a plain ground instead, front and side view.

Invariants the rest of storyteller relies on:
- Deterministic: the same request gives the same pixels, in any process (hashes are hashlib,
  never Python's salted `hash`). Different seeds vary the composition.
- A character looks the same on every page: its colours and shapes depend only on the figure's
  key, species, colours and description; its pose moves limbs and face; camera and depth scale it.
- It says where it put everyone: `ImageResult.regions` and the provenance's `figures` (with the
  action drawn and how: "articulated", or "body moved" when a family cannot do it any closer).
- Any text renders: captions and names are sanitised, fonts fall back, nothing raises on emoji,
  RTL or markup.

Layout of the package, in drawing order:
- colors.py: colour words and hex, shading, the stable hash; text.py: fonts, wrap, labels.
- figures.py: a Figure and a Pose -> a cached sprite, drawn by people.py, beasts.py (four-legged
  animals, dragons) or creatures.py (everything else), with the kit in pen.py and poses.py.
- scenes.py: a Shot -> SceneSpec, and the Backdrop canvas; landscapes.py and rooms.py paint the
  settings; props.py places the props (things.py draws the small ones) and the weather.
- styles.py: the style treatments; page.py: composition of one page (render_page).
- this file: the backend class, and the names other code imports.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from storyteller.backends.base import BackendOptions, Figure, IllustrationRequest, IllustratorBackend, ImageResult
from storyteller.backends.storyboard.colors import HEX_COLOR, parse_color
from storyteller.backends.storyboard.figures import draw_figure, draw_posed, resolve_look
from storyteller.backends.storyboard.page import CORNER_LABEL, MODEL_ID, RENDERER_VERSION, Placement, figure_unit, render_page
from storyteller.backends.storyboard.poses import Pose
from storyteller.backends.storyboard.scenes import SceneSpec, spec_from_shot
from storyteller.backends.storyboard.styles import apply_style, style_treatment
from storyteller.backends.storyboard.text import clean_text, get_font, wrap_text
from storyteller.errors import InvalidInput

__all__ = [
    "CORNER_LABEL", "MODEL_ID", "RENDERER_VERSION", "Placement", "Pose", "SceneSpec", "StoryboardIllustrator",
    "StoryboardInputError", "apply_style", "clean_text", "draw_figure", "draw_posed", "figure_unit", "get_font",
    "parse_color", "render_page", "resolve_look", "spec_from_shot", "style_treatment", "wrap_text",
]

MIN_SIDE, MAX_SIDE = 64, 2048


class StoryboardInputError(InvalidInput, ValueError):
    """A request the renderer cannot draw. A ValueError too, like diffusers' check_inputs errors."""


class StoryboardIllustrator(IllustratorBackend):
    """Draws storyboard panels procedurally (no neural model)."""

    name = "storyboard"
    kind = "procedural"

    class Options(BackendOptions):
        caption: bool = Field(True, description="draw the caption strip under the picture")
        labels: bool = Field(True, description="name labels under the figures")
        corner_label: bool = Field(True, description="the corner label saying the picture is procedural")

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.draw_caption = self.options.caption
        self.draw_labels = self.options.labels
        self.draw_corner_label = self.options.corner_label

    @property
    def model_id(self) -> str:
        return MODEL_ID

    def check_inputs(self, request: IllustrationRequest) -> None:
        """Reject what cannot be drawn, naming the precise problem."""
        for side in ("width", "height"):
            value = getattr(request, side)
            if isinstance(value, bool) or not isinstance(value, int):
                raise StoryboardInputError(f"{side} must be an integer number of pixels, got {value!r}")
            if not MIN_SIDE <= value <= MAX_SIDE:
                raise StoryboardInputError(f"{side} {value} is out of range: it must be between {MIN_SIDE} and {MAX_SIDE}")
            if value % 8:
                raise StoryboardInputError(f"{side} {value} must be a multiple of 8 (e.g. {value - value % 8 or 8})")
        if isinstance(request.seed, bool) or not isinstance(request.seed, int):
            raise StoryboardInputError(f"seed must be an integer, got {request.seed!r}")
        if request.seed < 0:
            raise StoryboardInputError(f"seed must be >= 0, got {request.seed}")
        for i, entry in enumerate(request.palette or []):
            if not isinstance(entry, str) or not HEX_COLOR.match(entry):
                raise StoryboardInputError(f"palette[{i}] = {entry!r} is not a colour of the form '#rrggbb'")
        for i, figure in enumerate(request.figures or []):
            if not isinstance(figure, Figure):
                raise StoryboardInputError(f"figures[{i}] must be a Figure, got {type(figure).__name__}")

    def illustrate(self, requests: list[IllustrationRequest]) -> list[ImageResult]:
        for i, request in enumerate(requests):
            try:
                self.check_inputs(request)
            except StoryboardInputError as exc:
                raise StoryboardInputError(f"request {i}: {exc.message}") from None
        results = []
        for request in requests:
            holder: dict[str, Any] = {}

            def render(request=request, holder=holder):
                image, holder["parameters"], holder["masks"] = render_page(
                    request, caption=self.draw_caption, labels=self.draw_labels, corner_label=self.draw_corner_label,
                )
                return image

            # Parameters are only known after drawing; the Provenance object is filled in after.
            image, provenance = self.timed("illustrate", render, seed=request.seed, prompt=request.prompt)
            provenance.parameters = holder["parameters"]
            # The renderer placed every figure itself: its region and its pixels are known, not
            # detected. On a sheet, a figure's second view is "KEY#side".
            regions, masks = {}, {}
            for placed, mask in zip(provenance.parameters["figures"], holder["masks"]):
                name = placed["key"] if placed.get("view", "front") == "front" else f"{placed['key']}#{placed['view']}"
                if placed["box"] is not None and name not in regions:
                    regions[name], masks[name] = tuple(placed["box"]), mask
            results.append(ImageResult(image=image, provenance=provenance, regions=regions, masks=masks))
        return results
