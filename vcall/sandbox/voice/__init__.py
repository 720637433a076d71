"""The emulated Voice platform, mounted inside ``vcall serve`` in sandbox mode: simulated calls,
their NCCO run step by step, the signed webhooks they send, and the Vonage Client SDK's side of
ringing a user (its socket, the Conversation API, WebRTC media), which the page's real SDK
talks to."""
