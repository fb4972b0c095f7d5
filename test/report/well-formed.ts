// A small well-formedness checker for the SVG (XML) and HTML the report code writes: balanced and
// properly nested tags, quoted and unique attributes, valid entity references, no raw "<" or "&" in
// text. HTML mode knows the void elements (meta, img, ...), raw-text <style>/<script> and requires
// <!DOCTYPE html>. Throws an Error naming the offset and the problem; returns the element names seen.

const VOID_HTML = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]);
const RAW_TEXT_HTML = new Set(["style", "script"]);
const XML_ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;
const HTML_ENTITY = /^&([A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9a-fA-F]+);/;

export function checkWellFormed(text: string, mode: "xml" | "html"): string[] {
  const entity = mode === "xml" ? XML_ENTITY : HTML_ENTITY;
  const fail = (at: number, what: string): never => {
    throw new Error(`not well-formed ${mode} at offset ${at} (${JSON.stringify(text.slice(Math.max(0, at - 30), at + 30))}): ${what}`);
  };
  const checkText = (s: string, at: number): void => {
    for (let k = s.indexOf("&"); k !== -1; k = s.indexOf("&", k + 1)) if (!entity.test(s.slice(k))) fail(at + k, "bare '&'");
  };
  let i = 0;
  if (mode === "html") {
    const m = /^<!DOCTYPE html>\s*/i.exec(text);
    if (!m) fail(0, "missing <!DOCTYPE html>");
    i = m![0].length;
  } else {
    const m = /^\s*(<\?xml[^>]*\?>\s*)?/.exec(text)!;
    i = m[0].length;
  }
  const stack: string[] = [];
  const seen: string[] = [];
  let roots = 0;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (stack.length === 0 && chunk.trim() !== "") fail(i, "text outside the root element");
    checkText(chunk, i);
    if (lt === -1) break;
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt + 4);
      if (end === -1) fail(lt, "unterminated comment");
      i = end + 3;
      continue;
    }
    const close = /^<\/([A-Za-z][\w:.-]*)\s*>/.exec(text.slice(lt));
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) fail(lt, `</${close[1]}> closes <${open ?? "nothing"}>`);
      i = lt + close[0].length;
      continue;
    }
    const tag = /^<([A-Za-z][\w:.-]*)/.exec(text.slice(lt));
    if (!tag) fail(lt, "'<' that starts no tag");
    const name = tag![1]!;
    let j = lt + tag![0].length;
    const attrs = new Set<string>();
    for (;;) {
      const end = /^\s*(\/?)>/.exec(text.slice(j));
      if (end) {
        j += end[0].length;
        const selfClosing = end[1] === "/" || (mode === "html" && VOID_HTML.has(name.toLowerCase()));
        if (stack.length === 0) roots++;
        seen.push(name);
        if (!selfClosing) {
          if (mode === "html" && RAW_TEXT_HTML.has(name)) {
            const endTag = text.indexOf(`</${name}>`, j);
            if (endTag === -1) fail(j, `unterminated <${name}>`);
            j = endTag + name.length + 3;
          } else stack.push(name);
        }
        break;
      }
      const attr = /^\s+([A-Za-z_:][\w:.-]*)=("([^"<]*)"|'([^'<]*)')/.exec(text.slice(j));
      if (!attr) fail(j, `bad attribute syntax in <${name}>`);
      if (attrs.has(attr![1]!)) fail(j, `duplicate attribute ${attr![1]}`);
      attrs.add(attr![1]!);
      checkText(attr![3] ?? attr![4] ?? "", j);
      j += attr![0].length;
    }
    i = j;
  }
  if (stack.length > 0) fail(text.length, `unclosed <${stack.join("> <")}>`);
  if (roots !== 1) fail(0, `expected one root element, found ${roots}`);
  return seen;
}
