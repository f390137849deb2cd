"""A scripted python-websockets client (asyncio API of websockets 10.4).

Runs each step against the URL in argv[1] and prints one JSON line of
results. Run by tests/interop/python_client_test.ts with Debian's
/usr/bin/python3 (python3-websockets).
"""

import asyncio
import hashlib
import json
import sys

import websockets
from websockets.frames import Opcode

TIMEOUT = 5


async def main(url):
    results = {}
    ws = await websockets.connect(
        url,
        subprotocols=["v1", "chat"],
        ping_interval=None,
        max_size=16 * 1024 * 1024,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    )
    # Record the payload of every PONG: websockets only matches them to pings.
    pongs = []
    read_frame = ws.read_frame

    async def recording_read_frame(max_size):
        frame = await read_frame(max_size)
        if frame.opcode == Opcode.PONG:
            pongs.append(frame.data.decode())
        return frame

    ws.read_frame = recording_read_frame

    async def next_message():
        message = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if isinstance(message, str):
            return {"type": "text", "data": message}
        return {"type": "binary", "data": list(message)}

    try:
        results["protocol"] = ws.subprotocol
        results["extensions"] = [type(e).__name__ for e in ws.extensions]

        await ws.send("hello")
        results["text"] = await next_message()

        await ws.send(bytes([1, 2, 3]))
        results["binary"] = await next_message()

        # An iterable sends one fragmented message, one frame per item.
        await ws.send(["frag", "men", "ted"])
        results["fragmented"] = await next_message()

        await ws.send([bytes([4, 5]), bytes([6])])
        results["fragmentedBinary"] = await next_message()

        # The server answers this one in fragments of its own.
        await ws.send("fragments please")
        results["serverFragments"] = await next_message()

        big = bytes(i * 7 % 251 for i in range(1024 * 1024))
        await ws.send(big)
        echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
        results["big"] = {
            "type": "binary" if isinstance(echo, bytes) else "text",
            "size": len(echo),
            "same": hashlib.sha256(echo).hexdigest()
            == hashlib.sha256(big).hexdigest(),
        }

        big_text = "é" * (512 * 1024)  # 1 MiB of UTF-8
        await ws.send(big_text)
        echo = await asyncio.wait_for(ws.recv(), TIMEOUT)
        results["bigText"] = {
            "type": "text" if isinstance(echo, str) else "binary",
            "size": len(echo.encode()) if isinstance(echo, str) else len(echo),
            "same": echo == big_text,
        }

        pong_waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(pong_waiter, TIMEOUT)
        results["pong"] = pongs

        await ws.close(4000, "python done")
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        results["close"] = {
            "sent": [ws.close_sent.code, ws.close_sent.reason],
            "received": [ws.close_rcvd.code, ws.close_rcvd.reason],
            "closeCode": ws.close_code,
            "closeReason": ws.close_reason,
        }
    except Exception as error:  # Reported in the JSON line, for the test.
        results["error"] = repr(error)
        ws.transport.abort()
    print(json.dumps(results), flush=True)


asyncio.run(main(sys.argv[1]))
