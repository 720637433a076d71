"""The README's first command: `vcall demo` sets up the sandbox, serves, plays a call, exits."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import apsw
import pytest

pytestmark = pytest.mark.e2e


def test_demo_shows_a_whole_call_and_ends(isolated, seed_json):
    fast = ["--talk-for", "0", "--answer-after", "0", "--hold", "0.05"]
    proc = subprocess.run(
        [sys.executable, "-m", "vcall", "demo", "--port", "0", *fast],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"the page: http://127\.0\.0\.1:\d+/\?key=\S{32,}", out)
    assert "NCCO request: caller 441234567890" in out
    shown = re.findall(r"EVENT (\w+) (inbound|outbound)", out)
    assert shown == [(e["status"], e["direction"]) for e in seed_json["events"]]
    assert re.search(r"outcome\s+answered", out)

    # Every event was committed, and the server no longer advertises itself.
    db = apsw.Connection(str(isolated / ".vcall" / "events.db"))
    try:
        bodies = [json.loads(raw) for (raw,) in db.execute("SELECT raw FROM events ORDER BY id")]
        assert [b["status"] for b in bodies] == [e["status"] for e in seed_json["events"]]
        assert db.execute("SELECT count(*) FROM rejected").fetchone()[0] == 0  # all signed
    finally:
        db.close()
    assert not (isolated / ".vcall" / "serve.json").exists()
