"""Continue a story from a photo: it is copied into the story, described, and woven into a new page.

    python examples/continue_with_photo.py PHOTO [FOLDER]

FOLDER (default: photo-story) gets a 2-page story first when it holds none; run again, the same
story goes on by one more page each time.
"""

import argparse
import sys
from pathlib import Path

from storyteller import Storyteller, StorytellerError


def main(photo: str, folder: str) -> None:
    teller = Storyteller()
    if (Path(folder) / "story.json").exists():
        story = teller.load(folder)
        print(f"going on with {story.title!r} in {folder}/ ({len(story.pages)} pages so far)")
    else:
        print(f"writing a new story into {folder}/")
        teller.new_story("Two friends build a snow castle", out=folder, pages=2)

    story = teller.continue_story(folder, "A visitor from far away arrives", image=photo)
    page = story.pages[-1]
    notes = page.text_provenance.parameters
    print(f"page {page.number}: {page.text}")
    print("photo copied to:", notes["photo"])
    print("described as:", notes["photo_description"])
    print("turn:", story.history[-1].action, story.history[-1].pages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", help="a photo (JPEG, PNG, WebP, ...) to weave into the next page")
    parser.add_argument("folder", nargs="?", default="photo-story", help="the story folder (default: %(default)s)")
    args = parser.parse_args()
    if not Path(args.photo).is_file():
        parser.error(f"{args.photo} is not a file")  # before a story is written for nothing
    try:
        main(args.photo, args.folder)
    except StorytellerError as exc:  # a picture it cannot read, an unfinished story: the message and its fix
        sys.exit(f"error: {exc}")
