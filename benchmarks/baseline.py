"""The straightforward way to do one edit, as a first script would: the yardstick for scenario (a).

Encode each input file to base64 as it is, call the SDK, then download each result one after another
in 8 KiB chunks. No checks, no parallelism, no store.

    python -m benchmarks.baseline --base-url http://127.0.0.1:8765/api/v1 --out /tmp/out a.jpg b.jpg c.jpg
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path

import dashscope
import requests

MODEL = "qwen-image-edit-plus"
CHUNK = 8 * 1024


@dataclass(frozen=True)
class BaselineRun:
    """Seconds spent encoding, in the call, and downloading; and the files written."""

    encode: float
    call: float
    download: float
    files: tuple[Path, ...]

    @property
    def total(self) -> float:
        return self.encode + self.call + self.download


def edit(
    inputs: list[Path],
    prompt: str,
    *,
    base_url: str,
    api_key: str,
    out: Path,
    n: int,
    size: str | None = None,
    seed: int | None = None,
) -> BaselineRun:
    """One edit the straightforward way; raises RuntimeError when the service refuses."""
    started = time.perf_counter()
    content: list[dict[str, str]] = []
    for path in inputs:
        mime = mimetypes.guess_type(path.name)[0] or "image/png"
        content.append({"image": f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"})
    content.append({"text": prompt})
    parameters: dict[str, object] = {"n": n, "watermark": False}
    if size:
        parameters["size"] = size
    if seed is not None:
        parameters["seed"] = seed
    encoded = time.perf_counter()
    response = dashscope.MultiModalConversation.call(
        api_key=api_key,
        model=MODEL,
        messages=[{"role": "user", "content": content}],
        base_address=base_url,
        **parameters,
    )
    if response.status_code != 200:
        raise RuntimeError(f"{response.code}: {response.message}")
    answered = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for index, item in enumerate(response.output.choices[0].message.content, start=1):
        target = out / f"result-{index}.png"
        with requests.get(item["image"], stream=True, timeout=60) as download, open(target, "wb") as file:
            download.raise_for_status()
            for chunk in download.iter_content(CHUNK):
                file.write(chunk)
        files.append(target)
    done = time.perf_counter()
    return BaselineRun(encoded - started, answered - encoded, done - answered, tuple(files))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--base-url", required=True, help="e.g. a simulator's http://127.0.0.1:PORT/api/v1")
    parser.add_argument("--key", default="sk-bench")
    parser.add_argument("--prompt", default="make it blue")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--size", default=None, help='"W*H"; default: the service decides')
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    run = edit(
        args.inputs, args.prompt, base_url=args.base_url, api_key=args.key, out=args.out, n=args.n, size=args.size
    )
    print(f"encode {run.encode:.3f} s, call {run.call:.3f} s, download {run.download:.3f} s: {run.total:.3f} s")


if __name__ == "__main__":
    main()
