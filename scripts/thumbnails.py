"""Make docs/images/pictures.png from a `localize demo` output: one frame of the source
(burned-in Chinese), the clean picture and the English rendition, side by side.

    .venv/bin/localize demo --out out/demo
    .venv/bin/python scripts/thumbnails.py out/demo --at 8.5

Frames are taken with ffmpeg at the same time in each file and scaled to 270 px wide
(the PNG stays well under 1 MB).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path, help="the folder `localize demo --out` wrote")
    parser.add_argument("--at", type=float, default=8.5, help="time of the frame, seconds")
    parser.add_argument("--width", type=int, default=270)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "pictures.png")
    args = parser.parse_args(argv)
    episode = args.demo / "episode"
    videos = [
        args.demo / "sample" / "episode.mp4",
        episode / "episode.clean.mp4",
        episode / "episode.en.burned.mp4",
    ]
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        print(f"error: not found: {', '.join(missing)} (run localize demo first)", file=sys.stderr)
        return 1
    inputs: list[str] = []
    for video in videos:
        inputs += ["-ss", f"{args.at:.3f}", "-i", str(video)]
    scaled = ";".join(f"[{i}:v]scale={args.width}:-2[v{i}]" for i in range(len(videos)))
    stack = "".join(f"[v{i}]" for i in range(len(videos)))
    graph = f"{scaled};{stack}hstack=inputs={len(videos)}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph,
         "-frames:v", "1", str(args.out)],
        check=True,
    )  # fmt: skip
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
