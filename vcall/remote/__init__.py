"""Talking to a running ``vcall serve``: finding it (``.vcall/serve.json``), placing a simulated
call on it and waiting for the end, and following its event stream."""
