"""The storyteller as a LangChain Runnable: in a chain, invoked, streamed, batched.

    python examples/runnable.py

Run again, each story goes into the next free folder (snail-2/, cloud-2/, ...).
"""

import asyncio

from langchain_core.runnables import RunnableLambda

from storyteller import Storyteller, free_folder


def main():
    teller = Storyteller()
    storyteller = teller.as_runnable()  # {"premise", "out", "pages"?, "style"?, "seed"?} -> Story

    snail, cloud, robot, kite = (str(free_folder(name)) for name in ("snail", "cloud", "robot", "kite"))
    print(f"writing into {snail}/, {cloud}/, {robot}/ and {kite}/")

    to_request = RunnableLambda(lambda idea: {"premise": idea, "out": snail, "pages": 2})
    chain = to_request | storyteller
    story = chain.invoke("A snail who wants to see the sea")
    print("invoke:", story.title, [page.text for page in story.pages])

    stories = storyteller.batch([{"premise": "A cloud who is shy", "out": cloud, "pages": 2},
                                 {"premise": "A robot who plants trees", "out": robot, "pages": 2}])
    print("batch:", [s.premise for s in stories])

    async def stream():
        async for event in storyteller.astream({"premise": "A kite lost in the city", "out": kite, "pages": 2}):
            if event.type in ("plan_ready", "turn_committed", "done"):
                print("astream:", event.type)

    asyncio.run(stream())


if __name__ == "__main__":
    main()
