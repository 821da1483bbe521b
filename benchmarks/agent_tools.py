"""How well the agent turns a reader's words into the right tool call (storyteller.agent.chat).

    python benchmarks/agent_tools.py [--story DIR] [--config storyteller.toml] [--json out.json]

For each request of benchmarks/agent_requests.jsonl (varied wording, some ambiguous, some in
Chinese) it asks the agent what it would do, without doing it (Agent.decide: the model's call,
checked, repaired and re-asked as in a real chat), and compares it with the expected tool
(a list: any of them is right; "reply": an answer in words) and key arguments (a number must be
equal, a text must contain the expected words, case aside). `{hero}`, `{friend}`, `{last}` and
`{voice}` in a request stand for the story's first two characters, its last page and the
narrator's second voice. Without --story a 4-page story is written first (embedded default:
a few minutes). Reports tool accuracy, argument accuracy (of the requests whose tool was right)
and latency per request: the first (cold: the system prompt is computed) apart from the rest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from storyteller import Storyteller
from storyteller.agent.chat import Agent
from storyteller.requests import Chat

REQUESTS = Path(__file__).with_name("agent_requests.jsonl")
PREMISE = "A young fox in a red scarf looks for the lost lantern of her village, helped by a grumpy old bear"


def fill(value, names: dict[str, str]):
    if isinstance(value, str):
        for key, name in names.items():
            value = value.replace("{" + key + "}", name)
        return int(value) if value.isdigit() else value
    return value


def argument_ok(expected, got) -> bool:
    if isinstance(expected, int):
        return got == expected
    return isinstance(got, str) and str(expected).lower() in got.lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--story", type=Path, help="a finished story folder (default: write one)")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    teller = Storyteller(config_file=args.config)
    folder = args.story
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="agent-bench-")) / "story"
        teller.new_story(PREMISE, out=folder, pages=4)
    story = teller.load(folder)
    voices = [v.voice_id for v in teller.voices()]
    names = {"hero": story.characters[0].name, "friend": story.characters[-1].name, "last": str(len(story.pages)),
             "voice": voices[min(1, len(voices) - 1)]}
    rows = []
    for line in REQUESTS.read_text("utf-8").splitlines():
        case = json.loads(line)
        message = fill(case["message"], names)
        expected = case["tool"] if isinstance(case["tool"], list) else [case["tool"]]
        started = time.perf_counter()
        step = Agent(teller, Chat(folder=folder, message=message)).decide()
        seconds = time.perf_counter() - started
        tool = "reply" if step.tool is None else step.tool
        tool_ok = tool in expected and step.error is None
        wanted = {k: fill(v, names) for k, v in case["args"].items()}
        args_ok = tool_ok and all(argument_ok(v, step.arguments.get(k)) for k, v in wanted.items())
        rows.append({"message": message, "expected": expected, "tool": tool, "arguments": step.arguments,
                     "error": step.error, "repairs": step.repairs, "tool_ok": tool_ok, "args_ok": args_ok,
                     "seconds": round(seconds, 2)})
        mark = "ok " if args_ok else ("arg" if tool_ok else "NO ")
        print(f"{mark} {seconds:5.1f}s  {message[:60]:<60} -> {tool} {json.dumps(step.arguments, ensure_ascii=False)[:80]}"
              + (f"  [{step.error}]" if step.error else ""), flush=True)
    right = sum(r["tool_ok"] for r in rows)
    warm = [r["seconds"] for r in rows[1:]]
    summary = {
        "llm": teller.toolbox.llm.describe(), "requests": len(rows),
        "tool_accuracy": round(right / len(rows), 3),
        "argument_accuracy": round(sum(r["args_ok"] for r in rows) / max(1, right), 3),
        "first_request_s": rows[0]["seconds"], "median_s": round(statistics.median(warm), 2),
        "max_s": max(warm), "repaired": sum(bool(r["repairs"]) for r in rows),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
