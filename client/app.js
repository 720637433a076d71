// The page: the real @vonage/client-sdk, live and in the sandbox alike. /api/token says where
// the SDK goes (live: Vonage's hosts for the region; sandbox: vcall serve, which speaks its
// protocol), so there is one code path.

// The page key came in the URL; the server has set it as an HttpOnly cookie by now, so drop it
// from the address bar (and from history, bookmarks and shoulder-surfers).
if (new URLSearchParams(location.search).has("key")) {
  history.replaceState(null, "", location.pathname);
}

const $ = (id) => document.getElementById(id);
const show = (...ids) => {
  for (const id of ["answer", "reject", "hangup"]) $(id).hidden = !ids.includes(id);
};

let client = null;
let callId = null;
let timer = null;
let refreshTimer = null;
let sessionId = null;

function setStatus(text) {
  $("status").textContent = `Call Status: ${text}`;
}

function showError(text) {
  $("error").hidden = !text;
  $("error").textContent = text ? `Error: ${text}` : "";
}

function describe(err) {
  if (!err) return "unknown error";
  if (err.code) return `${err.code}${err.message ? ` (${err.message})` : ""}`;
  return err.message || String(err);
}

function idle(notice = "Lines are open for calls…") {
  callId = null;
  clearInterval(timer);
  $("timer").hidden = true;
  $("notification").textContent = notice;
  show();
}

function startTimer() {
  const started = Date.now();
  const tick = () => {
    const s = Math.floor((Date.now() - started) / 1000);
    $("timer").textContent = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  };
  tick();
  $("timer").hidden = false;
  timer = setInterval(tick, 1000);
}

async function fetchToken() {
  const resp = await fetch("/api/token", { credentials: "same-origin", cache: "no-store" });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error || `token request failed (HTTP ${resp.status})`);
  return body;
}

function loadSdk() {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/sdk/vonageClientSDK.min.js";
    script.onload = () => resolve(window.vonageClientSDK);
    script.onerror = () => reject(new Error("the Vonage Client SDK did not load: see vcall serve's output"));
    document.head.append(script);
  });
}

// Renew the JWT before it expires: a minute early, or half its life for short-lived ones.
function scheduleRefresh(expiresIn) {
  clearTimeout(refreshTimer);
  const early = Math.min(60, expiresIn / 2);
  refreshTimer = setTimeout(refresh, Math.max(0.5, expiresIn - early) * 1000);
}

async function refresh() {
  const renewing = sessionId;
  try {
    const session = await fetchToken();
    await client.refreshSession(session.token);
    scheduleRefresh(session.expires_in);
  } catch (err) {
    // The session lives on until its token runs out; then the SDK reports sessionError (and
    // a renewal that fails once a new session has replaced it is no news).
    if (sessionId === renewing) showError(`could not renew the session: ${describe(err)}`);
  }
}

async function signIn(given) {
  const session = given || (await fetchToken());
  sessionId = await client.createSession(session.token);
  scheduleRefresh(session.expires_in);
  $("who").textContent = `Signed in as ${session.user} (${session.mode})`;
  showError("");
}

function wire() {
  client.on("callInvite", (id, from) => {
    callId = id;
    $("notification").textContent = `You are receiving a call from ${from}`;
    setStatus("ringing");
    show("answer", "reject");
  });
  client.on("callInviteCancel", (id, reason) => {
    if (id !== callId) return;
    setStatus(`cancelled (${reason})`);
    idle();
  });
  client.on("callHangup", (id, _quality, reason) => {
    if (id !== callId) return;
    setStatus(`completed (${reason})`);
    idle();
  });
  client.on("legStatusUpdate", (_id, _legId, status) => setStatus(status.toLowerCase()));
  // The server ended the session (its token ran out unrenewed): the SDK has dropped it, so a
  // fresh token signs in anew (refreshSession has no session left to renew).
  client.on("sessionError", async (reason) => {
    clearTimeout(refreshTimer);
    showError(`session ended: ${reason}`);
    idle("Signed out.");
    if (reason === "EXPIRED_TOKEN") {
      try {
        await signIn();
        idle();
      } catch (err) {
        showError(`session ended: ${reason}; signing in again failed: ${describe(err)}`);
      }
    }
  });

  $("answer").onclick = async () => {
    try {
      await client.answer(callId);
      $("notification").textContent = "You are in a call";
      setStatus("answered");
      show("hangup");
      startTimer();
    } catch (err) {
      showError(`could not answer: ${describe(err)}`);
      idle();
    }
  };
  $("reject").onclick = async () => {
    try {
      await client.reject(callId);
      setStatus("rejected");
    } catch (err) {
      showError(`could not reject: ${describe(err)}`);
    }
    idle();
  };
  $("hangup").onclick = async () => {
    try {
      await client.hangup(callId);
      setStatus("completed");
    } catch (err) {
      showError(`could not hang up: ${describe(err)}`);
    }
    idle();
  };
}

async function main() {
  try {
    const [first, sdk] = await Promise.all([fetchToken(), loadSdk()]);
    client = new sdk.VonageClient(first.config);
    wire();
    await signIn(first);
  } catch (err) {
    $("who").textContent = "Not signed in";
    showError(describe(err));
  }
}

main();
