"""Start-up time of the CLI and the package, and export time of a 50-page story.

    python benchmarks/startup_and_export.py [--pages 50] [--json out.json]

The 50-page story is built here without an LLM (text is generated procedurally, pictures by the
storyboard renderer, narration is a 10 s tone per page) because only the exports are measured;
building it through the embedded LLM would take ~15 minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storyteller.agent.graph import png_bytes, wav_bytes
from storyteller.backends.base import Figure, IllustrationRequest
from storyteller.backends.storyboard import StoryboardIllustrator
from storyteller.export import export_story
from storyteller.session import StoryFolder
from storyteller.story import Appearance, Character, Page, PageBeat, Provenance, Story, StyleGuide


def median_seconds(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build_story(root: Path, pages: int) -> None:
    import numpy as np

    fox = Character(name="Fern", slug="fern", appearance=Appearance(species="fox", colors=["orange", "white"]))
    story = Story(title="Fifty Pages", premise="A fox who finds a lantern in the snow",
                  style=StyleGuide(name="watercolor", palette=["#f4efe6", "#9cc5d9", "#e8a87c"]), characters=[fox])
    folder = StoryFolder.create(root, story)
    illustrator = StoryboardIllustrator()
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(22050 * 10) / 22050)).astype(np.float32)
    for number in range(1, pages + 1):
        scene = ["snowy forest at night", "a warm kitchen", "by the sea", "a meadow"][number % 4]
        text = f"On page {number}, Fern walks on with the lantern. The snow sparkles and the night is quiet."
        story.outline.append(PageBeat(beat=text, scene=scene, characters=["fern"]))
        [image] = illustrator.illustrate([IllustrationRequest(
            prompt=text, seed=number, scene=scene, style="watercolor", caption=text,
            figures=[Figure(key="fern", label="Fern", description="fox", colors=["orange", "white"], species="fox")])])
        audio_provenance = Provenance(backend="tone", model="sine", kind="procedural", duration_s=0.0)
        page = Page(number=number, text=text, scene=scene, characters=["fern"],
                    illustration=folder.write_asset("image", f"page-{number:02d}", png_bytes(image.image), suffix=".png",
                                                    media_type="image/png", provenance=image.provenance),
                    narration=folder.write_asset("audio", f"page-{number:02d}", wav_bytes(tone, 22050), suffix=".wav",
                                                 media_type="audio/wav", provenance=audio_provenance))
        story.pages.append(page)
    folder.save()
    folder.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("storyteller"))
    results = {
        "storyteller_help_s": round(median_seconds([cli, "--help"]), 3),
        "import_storyteller_s": round(median_seconds([sys.executable, "-c", "import storyteller"]), 3),
        "python_startup_s": round(median_seconds([sys.executable, "-c", "pass"]), 3),
        "export_s": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "story"
        build_story(root, args.pages)
        for fmt in ("json", "html", "epub", "mp4"):
            started = time.perf_counter()
            path = export_story(root, fmt)
            results["export_s"][fmt] = {"seconds": round(time.perf_counter() - started, 2),
                                        "megabytes": round(path.stat().st_size / 1e6, 1)}
    print(f"storyteller --help   {results['storyteller_help_s']:.3f} s (median of 7; bare python {results['python_startup_s']:.3f} s)")
    print(f"import storyteller   {results['import_storyteller_s']:.3f} s")
    for fmt, r in results["export_s"].items():
        print(f"export {fmt:5} ({args.pages} pages)  {r['seconds']:7.2f} s  {r['megabytes']:7.1f} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
