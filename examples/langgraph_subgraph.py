"""The story graph as one node (a subgraph) of your own LangGraph graph.

    python examples/langgraph_subgraph.py

Run again, the story node finds Mira's story in mira-story/ and resumes it instead of starting
over: a node that LangGraph runs twice (a retry, a replayed checkpoint) does no work twice.
"""

from langgraph.graph import END, START, StateGraph

from storyteller import Storyteller
from storyteller.langchain import StoryGraphState, story_graph


class Bedtime(StoryGraphState, total=False):
    """Your graph's state: what the story subgraph reads (premise, out, pages, ...) and writes
    (folder, title, texts, images, narrations) come from StoryGraphState; the rest is yours."""

    child: str
    message: str


def choose_premise(state: Bedtime) -> Bedtime:
    child = state["child"]
    return {"premise": f"{child} and a fox find a lantern in the snow", "out": f"{child.lower()}-story", "pages": 3}


def write_message(state: Bedtime) -> Bedtime:
    return {"message": f"Tonight's story for {state['child']}: {state['title']}, "
                       f"{len(state['texts'])} pages in {state['folder']}/"}


def main():
    builder = StateGraph(Bedtime)
    builder.add_node("choose_premise", choose_premise)
    builder.add_node("story", story_graph(Storyteller()))
    builder.add_node("write_message", write_message)
    builder.add_edge(START, "choose_premise")
    builder.add_edge("choose_premise", "story")
    builder.add_edge("story", "write_message")
    builder.add_edge("write_message", END)
    app = builder.compile()

    final, planned = {}, False
    # storyteller's events come through stream_mode="custom" (from a subgraph: subgraphs=True).
    for namespace, mode, chunk in app.stream({"child": "Mira"}, stream_mode=["custom", "values"], subgraphs=True):
        if mode == "custom" and chunk.type == "plan_ready":
            planned = True
        elif mode == "custom" and chunk.type == "page_written":
            print(f"  page {chunk.page}: {chunk.text}")
        elif mode == "values" and not namespace:
            final = chunk
    if not planned:
        print(f"{final['folder']}/ already held this story: the story node resumed it")
    print(final["message"])


if __name__ == "__main__":
    main()
