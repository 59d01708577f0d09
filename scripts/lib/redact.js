// Connection strings in what the setup scripts print: the password replaced by ****.
"use strict";

/** @param {string} url */
function redactUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "****";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

module.exports = { redactUrl };
