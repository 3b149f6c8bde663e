// PAM's only first-party script, loaded as an external file so that the
// Content-Security-Policy can forbid inline script entirely.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
