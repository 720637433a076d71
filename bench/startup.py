"""Start-up: ``vcall --help`` and ``vcall token Alice`` against the Vonage CLI's ``vonage jwt``.

Run from the repository root:

    .venv/bin/python bench/startup.py

hyperfine (Debian's, installed if missing) runs each command with no shell, after warm-up runs,
so the file cache is warm for all of them. Both token commands sign the same claims (the
tutorial's ACL) with the same fresh RSA-2048 key. The Vonage CLI 1.2.4 comes from the npm
lockfile in shared/anchors (``npm ci`` in bench/.work/anchors, once).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import _harness as h

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
#: Targets from the issue.
HELP_TARGET_MS = 150
TOKEN_TARGET_RATIO = 0.5


def commands(key: Path, anchors: Path) -> dict[str, list[str]]:
    """The three commands, by the name shown in the table."""
    from vcall.tokens import ACL_PRESETS

    acl = json.dumps(ACL_PRESETS["tutorial"], separators=(",", ":"))
    vonage = str(anchors / "node_modules" / ".bin" / "vonage")
    token = ["token", "Alice", "--application-id", APP_ID, "--private-key", str(key)]
    jwt = ["jwt", f"--app_id={APP_ID}", f"--key_file={key}", "--subject=Alice", f"--acl={acl}"]
    return {
        "vcall --help": [h.VCALL, "--help"],
        "vcall token Alice": [h.VCALL, *token],
        "vonage jwt (Vonage CLI 1.2.4)": [vonage, *jwt],
    }


def hyperfine(cmds: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, dict[str, float]]:
    """Mean, σ, min (ms) per command."""
    import shlex

    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", out.name]
        for name, cmd in cmds.items():
            args += ["-n", name, shlex.join(cmd)]
        # Bytecode caching on, as for anyone who installed vcall (this shell may turn it off).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(args, check=True, cwd=cwd, stdout=subprocess.DEVNULL, env=env)
        data = json.loads(Path(out.name).read_text())
    return {
        r["command"]: {
            k: r[k] * 1000 for k in ("mean", "stddev", "median", "min", "user", "system")
        }
        for r in data["results"]
    }


def run(runs: int) -> dict[str, dict[str, float]]:
    """Measure; the key and the working folder are scratch (no .env, no state file)."""
    from vcall.tokens import new_key_pair

    anchors = h.anchors_workdir()
    h.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="startup-", dir=h.WORK) as scratch:
        key = Path(scratch) / "private.key"
        key.write_text(new_key_pair()[0])
        return hyperfine(commands(key, anchors), runs, Path(scratch))


def report(results: dict[str, dict[str, float]]) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, rows and the target verdicts."""
    stats = ("mean", "stddev", "median", "min")
    header = ["command", "mean ms", "± σ", "median ms", "min ms", "CPU ms (user + sys)"]
    rows = [
        [name, *(f"{r[k]:.0f}" for k in stats), f"{r['user'] + r['system']:.0f}"]
        for name, r in results.items()
    ]
    # Judged on the median: a burst from another process on a shared machine moves the mean.
    help_ms = results["vcall --help"]["median"]
    token, vonage = results["vcall token Alice"], results["vonage jwt (Vonage CLI 1.2.4)"]
    ratio = token["median"] / vonage["median"]
    verdicts = [
        f"vcall --help: median {help_ms:.0f} ms (target ≤ {HELP_TARGET_MS} ms): "
        + ("met" if help_ms <= HELP_TARGET_MS else "MISSED"),
        f"vcall token Alice: {ratio:.2f}× the Vonage CLI's median time "
        f"(target ≤ {TOKEN_TARGET_RATIO}×): "
        + ("met" if ratio <= TOKEN_TARGET_RATIO else "MISSED"),
    ]
    return header, rows, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    h.ensure_debian("hyperfine")
    header, rows, verdicts = report(run(args.runs))
    title = f"Start-up: hyperfine, {args.runs} runs after 3 warm-up runs"
    h.publish(title, header, rows, verdicts, args.markdown)


if __name__ == "__main__":
    main()
