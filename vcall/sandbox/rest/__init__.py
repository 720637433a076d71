"""The emulated Vonage REST APIs (Applications, Numbers, Users) that the ``vonage`` SDK talks to
in sandbox mode, served over loopback HTTPS (see :mod:`vcall.sandbox.rest.server`)."""
