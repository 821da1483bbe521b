"""Quickstart: a story, one more page, a question about a picture, a redraw, a new narration, an export.

    python examples/quickstart.py

Run again, it writes a new story into the next free folder (fox-2/, fox-3/, ...).
"""

from storyteller import Storyteller, free_folder
from storyteller.events import AudioReady, ImageReady, PageWritten


def show(event):
    """Events arrive as they happen (from worker threads): typed pydantic models."""
    if isinstance(event, PageWritten):
        print(f"page {event.page}: {event.text}")
    elif isinstance(event, (ImageReady, AudioReady)):
        print(f"  {event.type}: {event.path}")


def main():
    teller = Storyteller()  # the embedded default; or Storyteller(config_file="storyteller.toml")
    fox = free_folder("fox")  # a folder never holds two stories: "fox", or the next free "fox-2", ...
    print(f"writing into {fox}/")
    story = teller.new_story("A fox who finds a lantern in the snow", out=fox, pages=3,
                             style="watercolor", on_event=show)
    print(f"{story.title}: {len(story.pages)} pages")

    story = teller.continue_story(fox, "The lantern leads the fox to a sleeping bear", on_event=show)
    print(f"continued: now {len(story.pages)} pages")

    answer = teller.ask(fox, 1, "What colours are in the picture?")
    print(f"answer: {answer.text} [{answer.provenance.backend}, {answer.provenance.kind}]")

    story = teller.reillustrate(fox, 2, seed=42)   # through the consistency gate again
    print("page 2 redrawn:", story.pages[1].illustration.path)
    story = teller.renarrate(fox, 2)
    print("page 2 narrated again:", story.pages[1].narration.path)

    print("history:", ", ".join(turn.action for turn in teller.load(fox).history))
    print("exported:", teller.export(fox, "html"))


if __name__ == "__main__":
    main()
