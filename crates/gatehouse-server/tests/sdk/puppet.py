"""Drives MeshAgent SDK room clients for Gatehouse's tests.

Reads one JSON command a line on stdin and answers each on stdout with the same "id"; commands
run side by side (a consent request waits for the answer another command gives). Events the
clients receive (consent prompts, participants coming and going, messages) are written as
lines with an "event" member. Everything here is the SDK's public API, used as an agent would.
"""

import asyncio
import dataclasses
import json
import sys

from meshagent.api import RoomClient, RoomException
from meshagent.api.oauth import OAuthClientConfig
from meshagent.api.websocket_protocol import WebSocketClientProtocol

rooms: dict[str, RoomClient] = {}


def emit(line: dict) -> None:
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()


def watch(name: str, room: RoomClient) -> None:
    def added(participant):
        emit({"event": "participant_added", "as": name, "id": participant.id,
              "name": participant.get_attribute("name")})

    def removed(participant):
        emit({"event": "participant_removed", "as": name, "id": participant.id,
              "name": participant.get_attribute("name")})

    def message(message):
        emit({"event": "message", "as": name, "from": message.from_participant_id,
              "type": message.type, "message": message.message})

    room.messaging.on("participant_added", added)
    room.messaging.on("participant_removed", removed)
    room.messaging.on("message", message)


async def connect(cmd: dict) -> dict:
    name = cmd["as"]

    async def on_prompt(request):
        emit({"event": "oauth_request", "as": name, "request": dataclasses.asdict(request)})

    room = RoomClient(
        protocol_factory=lambda: WebSocketClientProtocol(url=cmd["url"], token=cmd["token"]),
        reconnect_timeout=0,
        oauth_token_request_handler=on_prompt,
    )
    await asyncio.wait_for(room.__aenter__(), 20)
    rooms[name] = room
    watch(name, room)
    if cmd.get("messaging"):
        room.messaging.enable()
        while not room.messaging.online:
            await asyncio.sleep(0.02)
    me = room.local_participant
    return {"participant_id": me.id, "attributes": me.attributes, "room_name": room.room_name,
            "room_url": room.room_url, "session_id": room.session_id}


def plain(value):
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


async def run(cmd: dict):
    op = cmd["cmd"]
    if op == "connect":
        return await connect(cmd)
    room = rooms[cmd["as"]]
    if op == "secrets":
        args = dict(cmd.get("args", {}))
        if "oauth" in args:
            args["oauth"] = OAuthClientConfig(**args["oauth"])
        return plain(await getattr(room.secrets, cmd["method"])(**args))
    if op == "invoke":
        return plain(await room.invoke(toolkit=cmd["toolkit"], tool=cmd["tool"], input=cmd.get("input")))
    if op == "list_toolkits":
        return plain(await room.list_toolkits())
    if op == "participants":
        return [{"id": p.id, "name": p.get_attribute("name"), "role": p.role}
                for p in room.messaging.remote_participants]
    if op == "send":
        to = room.messaging.get_participant(cmd["to"])
        await room.messaging.send_message(to=to, type=cmd["type"], message=cmd["message"])
        return None
    if op == "close":
        await room.__aexit__(None, None, None)
        del rooms[cmd["as"]]
        return None
    raise ValueError(f"unknown command {op}")


async def answer(cmd: dict) -> None:
    try:
        emit({"id": cmd["id"], "ok": True, "result": await run(cmd)})
    except RoomException as e:
        emit({"id": cmd["id"], "ok": False, "error": str(e), "code": e.code})
    except Exception as e:  # the test reads what went wrong
        emit({"id": cmd["id"], "ok": False, "error": f"{type(e).__name__}: {e}", "code": None})


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    emit({"event": "ready"})
    while line := await reader.readline():
        task = asyncio.create_task(answer(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for room in list(rooms.values()):
        await room.__aexit__(None, None, None)


asyncio.run(main())
