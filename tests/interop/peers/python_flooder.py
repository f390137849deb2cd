"""Floods a WebSocket server with small text messages as fast as
python-websockets takes them, never pausing to read, until the connection
closes; prints how many it sent and the close code and reason it saw."""

import asyncio
import json
import sys

import websockets


async def main(url):
    sent = 0
    async with websockets.connect(url) as ws:
        try:
            while True:
                await ws.send(f"flood {sent}")
                sent += 1
        except websockets.ConnectionClosed:
            pass
        print(json.dumps({"sent": sent, "code": ws.close_code, "reason": ws.close_reason}))


asyncio.run(main(sys.argv[1]))
