"""SandboxState: persistence, other processes' writes, reset, file modes."""

from __future__ import annotations

import stat

from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState


def mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_folder_gets_an_account_and_the_seed_number(state):
    account = state.account
    assert len(account.api_key) == 8 and len(account.api_secret) == 16
    assert len(account.signature_secret) >= 32
    assert [n["msisdn"] for n in state.numbers()] == [DEFAULT_NUMBER]
    assert mode(state.folder) == 0o700
    assert mode(state.db_path) == 0o600


def test_state_survives_a_restart_and_sees_other_writers(state):
    other = SandboxState(state.folder)  # as another process would open it
    assert other.account == state.account
    with other.transaction() as doc:
        doc["applications"]["A"] = {"id": "A", "name": "x"}
        doc["numbers"][DEFAULT_NUMBER]["app_id"] = "A"
    assert state.application("A") == {"id": "A", "name": "x"}
    assert state.application_for_number(DEFAULT_NUMBER)["id"] == "A"
    assert SandboxState(state.folder).applications() == [{"id": "A", "name": "x"}]


def test_returned_records_are_copies(state):
    state.numbers()[0]["app_id"] = "changed"
    assert "app_id" not in state.number(DEFAULT_NUMBER)


def test_a_failed_transaction_writes_nothing(state):
    state.account  # noqa: B018 (creates the file)
    before = state.db_path.read_bytes()
    try:
        with state.transaction() as doc:
            doc["applications"]["A"] = {"id": "A"}
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert state.db_path.read_bytes() == before
    assert SandboxState(state.folder).application("A") is None


def test_reset_keeps_the_account_unless_all(state):
    account = state.account
    tls = state.tls()
    ca = tls.ca_cert.read_bytes()
    with state.transaction() as doc:
        doc["applications"]["A"] = {"id": "A", "name": "x"}
    state.log_request({"method": "GET"})
    state.reset(numbers=["12015550124"])
    assert state.applications() == [] and state.request_log() == []
    assert [n["msisdn"] for n in state.numbers()] == ["12015550124"]
    assert state.number("12015550124")["country"] == "US"
    assert state.account == account
    assert state.tls().ca_cert.read_bytes() == ca

    state.reset(everything=True)
    assert state.account != account
    assert state.tls().ca_cert.read_bytes() != ca
    for name in ("ca.pem", "server.pem", "db.json", "lock"):
        assert mode(state.folder / name) == 0o600, name
