"""The agent: planner, writer, and the LangGraph story graph that drives the tools."""
