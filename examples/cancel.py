"""Cancel a story from another thread (a Stop button), then finish it later.

    python examples/cancel.py

Run again, it uses the next free folder (owl-2/, owl-3/, ...).
"""

import threading

from storyteller import Storyteller, free_folder
from storyteller.errors import Cancelled
from storyteller.events import TurnCommitted


def main():
    teller = Storyteller()
    stop = threading.Event()  # set it from anywhere: a UI thread, a signal handler, a timer

    def on_event(event):
        if isinstance(event, TurnCommitted):  # here: stop once the first page is complete
            stop.set()

    owl = free_folder("owl")
    print(f"writing into {owl}/")
    try:
        teller.new_story("An owl who is afraid of the dark", out=owl, pages=6, on_event=on_event, cancel=stop)
    except Cancelled as exc:
        print("cancelled:", exc.message)

    story = teller.load(owl)
    print(f"kept {len(story.pages)} page(s); last turn: {story.history[-1].action} {story.history[-1].pages}")
    story = teller.resume(owl)
    print("resumed; complete:", story.is_complete)


if __name__ == "__main__":
    main()
