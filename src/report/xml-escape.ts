// Escaping text for XML/HTML (SVG charts, report.html). One function serves element text and
// attribute values (both quotes are escaped). Characters that XML 1.0 forbids (C0 controls other
// than tab/newline/return, lone surrogates, U+FFFE/U+FFFF) become U+FFFD so the output always parses.

const XML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `s` made safe as XML/HTML element text or as a quoted attribute value. */
export function escapeXml(s: string): string {
  return s
    .replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!)
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
