"""The embedded Vonage sandbox: its two emulated parts, and the account both share.

- :mod:`vcall.sandbox.rest`: the Applications, Numbers and Users APIs the SDK calls
  (``vcall setup``), over loopback HTTPS.
- :mod:`vcall.sandbox.voice`: the Voice platform that places simulated calls against the
  application's webhooks (mounted inside ``vcall serve`` in sandbox mode).
- :mod:`vcall.sandbox.account` and :mod:`vcall.sandbox.tls`: the emulated account (credentials,
  applications, numbers, users) and the local CA, kept under ``.vcall/sandbox/``.

Nothing here imports :mod:`vcall.web`: ``vcall serve`` mounts the voice routes itself.
"""
