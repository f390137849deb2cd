"""A python-websockets echo server (asyncio API of websockets 10.4).

Listens on an ephemeral loopback port and prints {"port": N}, echoes every
message with its type, answers pings (websockets does), selects the first
offered subprotocol it knows, and prints {"close": {code, reason}} for each
connection once it ended (websockets answers a close frame with the same code
and reason). On the text message "close me" it closes first with 4001
"python server bye". Run by tests/client/connect_test.ts with Debian's
/usr/bin/python3 (python3-websockets).
"""

import asyncio
import json

import websockets


def emit(line):
    print(json.dumps(line), flush=True)


async def echo(ws):
    emit({"open": {"protocol": ws.subprotocol}})
    try:
        async for message in ws:
            if message == "close me":
                await ws.close(4001, "python server bye")
            else:
                await ws.send(message)
    finally:
        await ws.wait_closed()
        emit({"close": {"code": ws.close_code, "reason": ws.close_reason}})


async def main():
    async with websockets.serve(
        echo,
        "127.0.0.1",
        0,
        compression=None,
        subprotocols=["chat", "v1"],
        ping_interval=None,
        max_size=16 * 1024 * 1024,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        emit({"port": port})
        await asyncio.Future()


asyncio.run(main())
