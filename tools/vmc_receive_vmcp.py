#!/usr/bin/env python3
"""Receive cmanet's VMC stream with vmcp, a third-party VMC protocol library (PyPI `vmcp`).

vmcp parses every message into a typed VMC event: `Bone/Pos` names must be one of Unity's 55
HumanBodyBones, `OK` a known model state, `T` a time. This script is the book's tested recipe
for a receiver that is not ours (tests/cli.rs runs it): it prints each frame's hips and, with
--json, writes what it parsed. vmcp is AGPL-3.0; it is installed for this check only, never shipped.

    pip install vmcp==1.0.6 osc4py3==1.0.3
    python3 tools/vmc_receive_vmcp.py --port 39539      # then: cmanet stream --input take.safetensors
"""
import argparse
import json
import time

from vmcp.events import BoneTransformEvent, RelativeTimeEvent, RootTransformEvent, StateEvent
from vmcp.facades import on_receive
from vmcp.osc import OSC
from vmcp.osc.backend.osc4py3 import as_eventloop as backend


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=39539)
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: never)")
    parser.add_argument("--timeout", type=float, default=0.0, help="stop after this many seconds (0: never)")
    parser.add_argument("--json", help="write the parsed frames here at the end")
    args = parser.parse_args()

    frames, current = [], {"bones": {}}

    def on_root(event):
        current["root"] = [event.position.x, event.position.y, event.position.z]

    def on_bone(event):
        rotation = event.rotation
        current["bones"][event.joint.value] = {
            "position": [event.position.x, event.position.y, event.position.z],
            "rotation": [rotation.x, rotation.y, rotation.z, rotation.w],
        }

    def on_state(event):
        current["state"] = event.model_state.name

    def on_time(event):
        # cmanet sends T last: a frame is complete.
        current["time"] = event.delta
        frames.append(dict(current))
        hips = current["bones"].get("Hips")
        if hips and not args.json:
            print(f"t {event.delta:.3f}  {len(current['bones'])} bones  hips {hips['position']}", flush=True)
        current.clear()
        current["bones"] = {}

    osc = OSC(backend)
    with osc.open():
        receiver = osc.create_receiver(args.host, args.port, "cmanet").open()
        on_receive(receiver, RootTransformEvent, on_root)
        on_receive(receiver, BoneTransformEvent, on_bone)
        on_receive(receiver, StateEvent, on_state)
        on_receive(receiver, RelativeTimeEvent, on_time)
        print(f"listening on {args.host}:{args.port}", flush=True)
        start = time.monotonic()
        while not (args.frames and len(frames) >= args.frames):
            if args.timeout and time.monotonic() - start > args.timeout:
                break
            osc.run()
            time.sleep(0.001)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(frames, f)
    print(f"received {len(frames)} frames", flush=True)


if __name__ == "__main__":
    main()
