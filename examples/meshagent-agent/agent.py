"""An agent written with the MeshAgent SDK, in a Gatehouse room.

It joins the room with the SDK's own RoomClient, waits for the person it works for, and gets that
person's access token at a third-party OAuth provider: the stored one when the person consented
before, otherwise by asking, which shows the person a consent prompt (examples/room-consent is a
page that answers it). The token itself is never printed.

Settings come from the environment; see README.md.
"""

import asyncio
import os
import sys

from meshagent.api import RoomClient, RoomException
from meshagent.api.oauth import OAuthClientConfig
from meshagent.api.websocket_protocol import WebSocketClientProtocol


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        sys.exit(f"set {name} (see README.md)")
    return value


async def person_in(room: RoomClient, name: str, wait: float = 300):
    """The participant called `name`, once it is in the room."""
    room.messaging.enable()
    for _ in range(int(wait * 10)):
        person = room.messaging.get_participant_by_name(name)
        if person is not None:
            return person
        await asyncio.sleep(0.1)
    sys.exit(f"{name} did not join the room within {wait:.0f} s")


async def main() -> None:
    base = setting("GATEHOUSE_URL").rstrip("/").replace("http", "ws", 1)
    url = f"{base}/rooms/{setting('ROOM')}"
    token = setting("PARTICIPANT_TOKEN")
    person_name = setting("PERSON")
    provider = OAuthClientConfig(
        client_id=setting("PROVIDER_CLIENT_ID"),
        client_secret=os.environ.get("PROVIDER_CLIENT_SECRET") or None,
        authorization_endpoint=setting("PROVIDER_AUTHORIZATION_ENDPOINT"),
        token_endpoint=setting("PROVIDER_TOKEN_ENDPOINT"),
        scopes=setting("PROVIDER_SCOPES", "openid").split(),
    )
    room = RoomClient(protocol_factory=lambda: WebSocketClientProtocol(url=url, token=token))
    async with room:
        print(f"joined {room.room_name} as participant {room.local_participant.id}")
        person = await person_in(room, person_name)
        try:
            access = await room.secrets.get_offline_oauth_token(oauth=provider, delegated_by=person_name)
            if access is None:
                print(f"asking {person_name} to consent…")
                access = await room.secrets.request_oauth_token(
                    oauth=provider,
                    from_participant_id=person.id,
                    redirect_uri=setting("REDIRECT_URI"),
                    timeout=300,
                )
            print(f"got {person_name}'s access token ({len(access)} characters)")
            for secret in await room.secrets.list_secrets():
                print(f"stored: {secret.type} {secret.name} (delegated to {secret.delegated_to})")
        except RoomException as e:
            sys.exit(f"Gatehouse refused: {e} (code {e.code})")


if __name__ == "__main__":
    asyncio.run(main())
