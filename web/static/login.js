"use strict";

// Signs in with POST /v1/login; the server sets the session cookie, which
// scripts cannot read, and the dashboard page follows.
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  const body = JSON.stringify({
    user: document.getElementById("user").value,
    password: document.getElementById("password").value,
  });
  try {
    const resp = await fetch("/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body,
    });
    if (!resp.ok) {
      const data = await resp.json().catch(() => ({}));
      error.textContent = (data.error && data.error.message) || "sign-in failed: " + resp.status;
      return;
    }
    window.location.assign("/ui/dashboard");
  } catch (e) {
    error.textContent = "the server cannot be reached: try again";
  }
});
