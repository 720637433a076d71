"""``vcall status`` in the sandbox, against a running ``vcall serve``: every check passing.

Run from the repository root:

    .venv/bin/python bench/status.py

In a scratch folder it runs ``vcall setup`` (sandbox), starts ``vcall serve`` (so the round
trip and the NCCO are checked too), then hyperfine times ``vcall status`` after warm-up runs.
Each run starts the sandbox's REST API, asks it through the SDK (credentials, application,
number, user), requests ``/healthz`` and the answer URL, validates the NCCO. Target: under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import _harness as h

TARGET_MS = 1000


def measure(runs: int) -> tuple[list[float], float]:
    """The wall times (ms) of ``runs`` runs of ``vcall status``, and their mean CPU (ms)."""
    h.WORK.mkdir(parents=True, exist_ok=True)
    h.ensure_debian("hyperfine")
    with tempfile.TemporaryDirectory(prefix="status-", dir=h.WORK) as scratch:
        cwd = Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VONAGE_", "VCALL_"))}
        env["VCALL_HOME"] = str(cwd / ".vcall")
        subprocess.run([h.VCALL, "setup", "--json"], cwd=cwd, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        port = h.free_port()
        serve = [h.VCALL, "serve", "--port", str(port), "--quiet"]
        with h.server(serve, f"http://127.0.0.1:{port}/healthz", env=env, cwd=cwd):
            checked = subprocess.run([h.VCALL, "status", "--json"], cwd=cwd, env=env,
                                     capture_output=True, text=True)  # fmt: skip
            if checked.returncode != 0:
                raise RuntimeError(f"vcall status is not all ticks: {checked.stdout}")
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                args = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs),
                        "--export-json", out.name, f"{h.VCALL} status"]  # fmt: skip
                subprocess.run(args, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
                result = json.loads(Path(out.name).read_text())["results"][0]
    return [t * 1000 for t in result["times"]], (result["user"] + result["system"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    times, cpu = measure(args.runs)
    median = statistics.median(times)
    row = [f"{statistics.mean(times):.0f}", f"{median:.0f}", f"{max(times):.0f}", f"{cpu:.0f}"]
    verdict = (
        f"vcall status (sandbox, every check): median {median:.0f} ms (target < {TARGET_MS} ms): "
        + ("met" if median < TARGET_MS else "MISSED")
    )
    h.publish(
        "vcall status in the sandbox",
        ["mean ms", "median ms", "max ms", "CPU ms (user + sys)"],
        [row],
        [verdict, f"load: {h.load()}"],
        args.markdown,
    )


if __name__ == "__main__":
    main()
