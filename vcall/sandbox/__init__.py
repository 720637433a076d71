"""The embedded Vonage sandbox: REST APIs (applications, numbers, users) over loopback HTTPS,
with state kept under ``.vcall/sandbox/`` (see :mod:`vcall.sandbox.state`)."""
