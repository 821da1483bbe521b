"""storyteller's tools as LangChain tools: on their own, and in an agent's ToolNode.

    python examples/langchain_tools.py
"""

import json

from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from storyteller import Storyteller
from storyteller.langchain import tools


def main():
    teller = Storyteller()
    caption, ask, illustrate, narrate = tools(teller, names=["caption", "ask", "illustrate", "narrate"])

    picture = illustrate.invoke({"prompt": "A fox holding a lantern in the snow", "seed": 7})
    picture.image.save("fox.png")
    print("illustrate:", picture.image.size, picture.provenance.backend, picture.provenance.kind)
    print("caption:", caption.invoke({"image_path": "fox.png"}).text)
    print("ask:", ask.invoke({"image_path": "fox.png", "question": "Is the picture bright or dark?"}).text)
    speech = narrate.invoke({"text": "Once upon a time, a fox found a lantern."})
    print(f"narrate: {speech.seconds:.1f} s at {speech.sample_rate} Hz")

    # What a tool-calling model is shown:
    print(json.dumps(convert_to_openai_tool(narrate)["function"]["parameters"]["properties"], indent=1))

    # In an agent: the model reads a short text; the result object is the ToolMessage's artifact.
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(tools(teller, for_agents=True)))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    agent_tools = builder.compile()
    model_turn = AIMessage(content="", tool_calls=[
        {"name": "illustrate", "args": {"prompt": "An owl reading a book", "seed": 3}, "id": "call-1"}])
    reply = agent_tools.invoke({"messages": [model_turn]})["messages"][-1]
    print("tool message:", reply.content)
    reply.artifact.image.save("owl.png")


if __name__ == "__main__":
    main()
