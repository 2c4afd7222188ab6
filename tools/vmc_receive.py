#!/usr/bin/env python3
"""A small VMC receiver on python-osc (an OSC implementation independent of cmanet's `rosc`).

It listens for cmanet's stream (or any VMC sender), prints one line per frame (time, root, hips),
and with --json writes every frame's messages (address, OSC type tags, arguments) to a file.
tests/cli.rs runs it against `cmanet stream` to check what goes on the wire.

    pip install python-osc
    python3 tools/vmc_receive.py --port 39539            # then: cmanet stream --input take.safetensors
    python3 tools/vmc_receive.py --port 0 --frames 30 --json received.json

The first line printed is `listening on HOST:PORT` (with the port chosen when --port is 0).
"""
import argparse
import json
import socket
import sys
import time

from pythonosc import osc_packet
from pythonosc.parsing import osc_types


def type_tags(dgram):
    """The message's OSC type tag string (without the comma), read from its bytes."""
    _, index = osc_types.get_string(dgram, 0)
    tags, _ = osc_types.get_string(dgram, index)
    return tags.lstrip(",")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=39539)
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: never)")
    parser.add_argument("--timeout", type=float, default=0.0, help="stop after this many seconds (0: never)")
    parser.add_argument("--json", help="write every frame's messages here at the end")
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    sock.settimeout(0.1)
    print(f"listening on {args.host}:{sock.getsockname()[1]}", flush=True)
    frames = []
    start = time.monotonic()
    try:
        while not (args.frames and len(frames) >= args.frames):
            if args.timeout and time.monotonic() - start > args.timeout:
                break
            try:
                data, _ = sock.recvfrom(65536)
            except socket.timeout:
                continue
            try:
                packet = osc_packet.OscPacket(data)
            except osc_packet.ParseError as error:
                print(f"not OSC: {error}", file=sys.stderr)
                continue
            messages = [
                {"address": m.message.address, "types": type_tags(m.message.dgram), "args": list(m.message.params)}
                for m in packet.messages
            ]
            frames.append(messages)
            by_address = {m["address"]: m["args"] for m in messages}
            hips = next((m["args"] for m in messages if m["args"] and m["args"][0] == "Hips"), None)
            t = by_address.get("/VMC/Ext/T", ["?"])[0]
            if hips and not args.json:
                print(f"t {t:.3f}  bones {len(messages) - 3}  hips at ({hips[1]:+.3f}, {hips[2]:+.3f}, {hips[3]:+.3f})")
    except KeyboardInterrupt:
        pass
    if args.json:
        with open(args.json, "w") as f:
            json.dump(frames, f)
    print(f"received {len(frames)} frames", flush=True)


if __name__ == "__main__":
    main()
