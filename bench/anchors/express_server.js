// The webhook server the Vonage tutorial has users write, in its own stack (Node + Express):
// the peer that `vcall serve` is measured against (bench/webhooks.py, bench/instructions.py).
//   GET|POST /voice/answer -> the NCCO: talk, then connect the caller to the app user Alice
//   any     /voice/event  -> logs the event, answers 204; stores nothing
// Start: npm ci (once, in a writable copy of this folder), then PORT=3000 QUIET=1 node express_server.js
'use strict';
const express = require('express');

const app = express();
app.use(express.json());
// QUIET=1 drops the console logging, which would otherwise dominate a load test's profile.
const quiet = process.env.QUIET === '1';

function answer(req, res) {
  const from = (req.query && req.query.from) || (req.body && req.body.from);
  if (!quiet) console.log(`NCCO request:\n  - caller: ${from}\n---`);
  res.json([
    { action: 'talk', text: 'Thank you for calling. Please wait while we connect you.' },
    { action: 'connect', from, endpoint: [{ type: 'app', user: 'Alice' }] },
  ]);
}

app.get('/voice/answer', answer);
app.post('/voice/answer', answer);
app.all('/voice/event', (req, res) => {
  if (!quiet) {
    console.log('EVENT:');
    console.dir(req.body);
    console.log('---');
  }
  res.sendStatus(204);
});

const port = Number.parseInt(process.env.PORT || '3000', 10);
app.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
