"""The offline default illustrator: a procedural storyboard renderer, not a neural model.

No text-to-image model ships with storyteller, so the default draws an honest storyboard panel
with Pillow and numpy: a setting picked from keywords in the scene text (snowy night, seaside,
kitchen...), a few props named in the text (lantern, kite, boat...), each character as a simple
figure built from its species and colours, a style treatment (watercolor, pencil, crayon, pixel
art, ink, oil or flat), the caption and a corner label saying what made the picture.

Invariants the rest of storyteller relies on:
- Deterministic: the same request gives the same pixels, in any process (hashes are hashlib,
  never Python's salted `hash`). Different seeds vary the composition.
- A character looks the same on every page: `draw_figure` depends only on the figure's key,
  species, colours and description, and its scale only on the page size; the seed moves it.
- Any text renders: captions and names are sanitised, fonts fall back, nothing raises on emoji,
  RTL or markup.

Layout of the package, in drawing order:
- colors.py: colour words and hex, shading, the stable hash; text.py: fonts, wrap, labels.
- figures.py: a Figure -> a cached sprite, drawn by people.py, beasts.py (four-legged animals,
  dragons) or creatures.py (everything else), all with the kit in pen.py.
- scenes.py: scene text -> SceneSpec, and the Backdrop canvas; landscapes.py and rooms.py paint
  the settings; props.py the props and the weather.
- styles.py: the style treatments; page.py: composition of one page (render_page).
- this file: the backend class, and the names other code imports.
"""

from __future__ import annotations

from typing import Any

from storyteller.backends.base import Figure, IllustrationRequest, IllustratorBackend, ImageResult
from storyteller.backends.storyboard.colors import HEX_COLOR, parse_color
from storyteller.backends.storyboard.figures import draw_figure, resolve_look
from storyteller.backends.storyboard.page import (
    CORNER_LABEL,
    MODEL_ID,
    RENDERER_VERSION,
    Placement,
    figure_unit,
    layout_figures,
    render_page,
)
from storyteller.backends.storyboard.scenes import SceneSpec, analyse_scene
from storyteller.backends.storyboard.styles import apply_style, style_treatment
from storyteller.backends.storyboard.text import clean_text, get_font, wrap_text
from storyteller.errors import InvalidInput

__all__ = [
    "CORNER_LABEL", "MODEL_ID", "RENDERER_VERSION", "Placement", "SceneSpec", "StoryboardIllustrator",
    "StoryboardInputError", "analyse_scene", "apply_style", "clean_text", "draw_figure", "figure_unit", "get_font",
    "layout_figures", "parse_color", "render_page", "resolve_look", "style_treatment", "wrap_text",
]

MIN_SIDE, MAX_SIDE = 64, 2048


class StoryboardInputError(InvalidInput, ValueError):
    """A request the renderer cannot draw. A ValueError too, like diffusers' check_inputs errors."""


class StoryboardIllustrator(IllustratorBackend):
    """Draws storyboard panels procedurally. Options: none required.

    options: caption (bool, default True: draw the caption strip), labels (bool, default True:
    name labels under figures), corner_label (bool, default True).
    """

    name = "storyboard"
    kind = "procedural"

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.draw_caption = bool(options.get("caption", True))
        self.draw_labels = bool(options.get("labels", True))
        self.draw_corner_label = bool(options.get("corner_label", True))

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
                image, holder["parameters"] = render_page(
                    request, caption=self.draw_caption, labels=self.draw_labels, corner_label=self.draw_corner_label,
                )
                return image

            # Parameters are only known after drawing; the Provenance object is filled in after.
            image, provenance = self.timed("illustrate", render, seed=request.seed, prompt=request.prompt)
            provenance.parameters = holder["parameters"]
            results.append(ImageResult(image=image, provenance=provenance))
        return results
