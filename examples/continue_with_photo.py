"""Continue a story from a photo: it is copied into the story, described, and woven into a new page.

    python examples/continue_with_photo.py PHOTO [FOLDER]
"""

import sys
from pathlib import Path

from storyteller import Storyteller


def main(photo: str, folder: str = "photo-story"):
    teller = Storyteller()
    if not (Path(folder) / "story.json").exists():
        teller.new_story("Two friends build a snow castle", out=folder, pages=2)

    story = teller.continue_story(folder, "A visitor from far away arrives", image=photo)
    page = story.pages[-1]
    notes = page.text_provenance.parameters
    print(f"page {page.number}: {page.text}")
    print("photo copied to:", notes["photo"])
    print("described as:", notes["photo_description"])
    print("turn:", story.history[-1].action, story.history[-1].pages)


if __name__ == "__main__":
    main(*sys.argv[1:])
