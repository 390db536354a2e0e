"""The official OpenAI and Anthropic Python SDKs pointed at Gatehouse's LLM proxy gate.

Run by the Rust test `llm::sdks` (crates/gatehouse-server/tests/api/llm/sdks.rs), which starts
Gatehouse and a mock upstream and passes, in the environment, the gate's address (GATE), the
project (PROJECT) and one credential of each caller type (API_KEY, PARTICIPANT, USER_TOKEN).
Each caller calls each provider, streamed and not, through the SDK as an application would;
the texts received are printed as one JSON object for the test to check.
"""

import json
import os

import anthropic
import openai

GATE = os.environ["GATE"]
PROJECT = os.environ["PROJECT"]
CALLERS = {
    "api_key": os.environ["API_KEY"],
    "participant": os.environ["PARTICIPANT"],
    "user": os.environ["USER_TOKEN"],
}
PROMPT = [{"role": "user", "content": "Say hello"}]


def headers(caller):
    """A person's token names the project; the other credentials carry it."""
    return {"Meshagent-Project-Id": PROJECT} if caller == "user" else {}


def openai_texts(caller, credential):
    client = openai.OpenAI(
        base_url=f"{GATE}/openai/v1",
        api_key=credential,
        default_headers=headers(caller),
        max_retries=0,
    )
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    streamed = ""
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            streamed += chunk.choices[0].delta.content
    return whole.choices[0].message.content, streamed


def anthropic_texts(caller, credential):
    # API keys and participant tokens go as x-api-key (api_key), a person's token as Bearer.
    auth = {"auth_token": credential} if caller == "user" else {"api_key": credential}
    client = anthropic.Anthropic(
        base_url=f"{GATE}/anthropic",
        default_headers=headers(caller),
        max_retries=0,
        **auth,
    )
    whole = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=PROMPT)
    streamed = ""
    with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=64, messages=PROMPT) as stream:
        for text in stream.text_stream:
            streamed += text
    return whole.content[0].text, streamed


def main():
    results = []
    for caller, credential in CALLERS.items():
        for provider, call in (("openai", openai_texts), ("anthropic", anthropic_texts)):
            whole, streamed = call(caller, credential)
            results.append({"caller": caller, "provider": provider, "whole": whole, "streamed": streamed})
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
