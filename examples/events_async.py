"""Async: stream a story's events (as a web server would), run two stories at once, and cancel one.

    python examples/events_async.py

Run again, each story goes into the next free folder (fox-2/, whale-2/, journey-2/, ...).
"""

import asyncio
from contextlib import aclosing
from pathlib import Path

from storyteller import Storyteller, free_folder
from storyteller.events import ModelCall, PageTextDelta, TurnCommitted


async def tell(teller: Storyteller, premise: str, out: Path) -> None:
    async for event in teller.astream_story(premise, out=out, pages=3):
        if isinstance(event, (PageTextDelta, ModelCall)):
            continue  # text as it is generated, and every model call's timing: a UI may show them too
        # In a web app: await websocket.send_text(event.model_dump_json())
        print(f"[{out}] {event.type}", getattr(event, "page", ""))


async def main():
    teller = Storyteller()
    fox, whale, journey = free_folder("fox"), free_folder("whale"), free_folder("journey")
    print(f"writing into {fox}/, {whale}/ and {journey}/")

    # Two stories at once: they share the loaded models and nothing else.
    await asyncio.gather(tell(teller, "A fox who finds a lantern in the snow", fox),
                         tell(teller, "A whale who learns to sing", whale))

    # Stop a story from the outside: closing its event stream (or cancelling the task that awaits
    # anew_story) cancels it at the next safe point; the folder keeps its completed pages.
    async with aclosing(teller.astream_story("A long journey home", out=journey, pages=8)) as events:
        async for event in events:
            if isinstance(event, TurnCommitted):
                break
    story = await teller.aload(journey)
    print(f"journey stopped with {len(story.pages)} of {len(story.outline)} pages written")
    story = await teller.aresume(journey)
    print("journey finished:", story.is_complete)


if __name__ == "__main__":
    asyncio.run(main())
