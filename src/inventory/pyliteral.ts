// INI inventory values go through Python's ast.literal_eval in Ansible: "22" becomes 22, "True"
// becomes true, "'x'" becomes x, "[1, 2]" a list, "{'a': 1}" a mapping; anything that is not a
// Python literal ("true", "0644", "10.0.0.1", "foo bar") stays the string it was. This is a small
// evaluator for exactly those literals.

class NotLiteral extends Error {}

const NUMBER_RE =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?)[jJ]?/;
const STRING_PREFIX_RE = /^(?:[rR][bB]?|[bB][rR]?|[uU])?(?='|")/;
const NAME_RE = /^[\p{L}_][\p{L}\p{N}_]*/u;

type Tok =
  | { t: 'num'; v: number | string }
  | { t: 'str'; v: string; bytes: boolean }
  | { t: 'name'; v: string }
  | { t: 'op'; v: string };

function decodeEscapes(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i === body.length - 1) {
      out += c;
      continue;
    }
    const n = body[++i]!;
    const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
    if (n in simple) out += simple[n];
    else if (/[0-7]/.test(n)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCodePoint(parseInt(m, 8));
      i += m.length - 1;
    } else if (n === 'x' || n === 'u' || n === 'U') {
      const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new NotLiteral();
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) throw new NotLiteral();
      out += String.fromCodePoint(cp);
      i += len;
    } else if (n === 'N') throw new NotLiteral(); // named escapes: keep the text as it is
    else out += `\\${n}`; // unknown escapes stay verbatim, as in Python
  }
  return out;
}

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') break; // a comment runs to the end of the (single) line
    const pre = STRING_PREFIX_RE.exec(rest);
    if (pre) {
      const prefix = pre[0].toLowerCase();
      let j = pre[0].length;
      const q = rest[j]!;
      const triple = rest.startsWith(q.repeat(3), j);
      const delim = triple ? q.repeat(3) : q;
      j += delim.length;
      let body = '';
      for (;;) {
        if (j >= rest.length) throw new NotLiteral();
        if (rest[j] === '\\' && j + 1 < rest.length) {
          body += rest.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (rest.startsWith(delim, j)) break;
        if (!triple && rest[j] === '\n') throw new NotLiteral();
        body += rest[j];
        j++;
      }
      j += delim.length;
      toks.push({ t: 'str', v: prefix.includes('r') ? body : decodeEscapes(body), bytes: prefix.includes('b') });
      i += j;
      continue;
    }
    const num = /^[0-9.]/.test(c) ? NUMBER_RE.exec(rest) : null;
    if (num && num[0] !== '.') {
      const text = num[0];
      if (/^[\p{L}\p{N}_.]/u.test(rest.slice(text.length))) throw new NotLiteral(); // "1abc", "1.2.3"
      if (/[jJ]$/.test(text)) throw new NotLiteral(); // complex numbers stay strings
      const clean = text.replace(/_/g, '');
      let v: number | string;
      if (/^0[xXoObB]/.test(clean)) v = Number(clean);
      else if (/[.eE]/.test(clean)) v = Number(clean);
      else {
        if (/^0+[1-9]/.test(clean)) throw new NotLiteral(); // "0644": leading zeros are a SyntaxError
        v = Number(clean);
      }
      if (!Number.isFinite(v) || (Number.isInteger(v) && !/[.eE]/.test(clean) && !Number.isSafeInteger(v))) {
        throw new NotLiteral(); // too large for a JS number: keep the exact text
      }
      toks.push({ t: 'num', v });
      i += text.length;
      continue;
    }
    if (rest.startsWith('...')) {
      toks.push({ t: 'name', v: '...' });
      i += 3;
      continue;
    }
    const name = NAME_RE.exec(rest);
    if (name) {
      toks.push({ t: 'name', v: name[0] });
      i += name[0].length;
      continue;
    }
    if ('[](){},:+-'.includes(c)) {
      toks.push({ t: 'op', v: c });
      i++;
      continue;
    }
    throw new NotLiteral();
  }
  return toks;
}

class Parser {
  private i = 0;
  constructor(private toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === v;
  }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new NotLiteral();
    this.i++;
  }

  parseTop(): unknown {
    const first = this.value();
    if (this.isOp(',')) {
      // a bare tuple "80, 443" -> [80, 443]
      const items = [first];
      while (this.isOp(',')) {
        this.i++;
        if (this.i >= this.toks.length) break;
        items.push(this.value());
      }
      this.done();
      return items;
    }
    this.done();
    return first;
  }

  private done(): void {
    if (this.i !== this.toks.length) throw new NotLiteral();
  }

  private seq(close: string): unknown[] {
    const items: unknown[] = [];
    while (!this.isOp(close)) {
      items.push(this.value());
      if (this.isOp(',')) this.i++;
      else if (!this.isOp(close)) throw new NotLiteral();
    }
    this.i++;
    return items;
  }

  private value(): unknown {
    const t = this.toks[this.i++];
    if (!t) throw new NotLiteral();
    if (t.t === 'str') {
      let s = t.v;
      // adjacent literals concatenate ('a' 'b' -> 'ab'); bytes and str cannot mix
      while (this.peek()?.t === 'str') {
        const n = this.toks[this.i++] as Extract<Tok, { t: 'str' }>;
        if (n.bytes !== t.bytes) throw new NotLiteral();
        s += n.v;
      }
      return s;
    }
    if (t.t === 'num') return t.v;
    if (t.t === 'name') {
      if (t.v === 'True') return true;
      if (t.v === 'False') return false;
      if (t.v === 'None') return null;
      if (t.v === '...') return '...';
      throw new NotLiteral();
    }
    if (t.v === '-' || t.v === '+') {
      const n = this.toks[this.i++];
      if (n?.t !== 'num' || typeof n.v !== 'number') throw new NotLiteral();
      return t.v === '-' ? -n.v : n.v;
    }
    if (t.v === '[') return this.seq(']');
    if (t.v === '(') {
      if (this.isOp(')')) {
        this.i++;
        return [];
      }
      const first = this.value();
      if (this.isOp(')')) {
        this.i++;
        return first; // "(x)" is just x
      }
      this.expect(',');
      return [first, ...this.seq(')')];
    }
    if (t.v === '{') {
      if (this.isOp('}')) {
        this.i++;
        return {};
      }
      const first = this.value();
      if (this.isOp(':')) {
        const obj: Record<string, unknown> = {};
        this.i++;
        obj[String(first)] = this.value();
        while (this.isOp(',')) {
          this.i++;
          if (this.isOp('}')) break;
          const k = this.value();
          this.expect(':');
          obj[String(k)] = this.value();
        }
        this.expect('}');
        return obj;
      }
      // a set literal becomes a list, as Ansible does
      const items = [first];
      if (this.isOp(',')) {
        this.i++;
        items.push(...this.seq('}'));
      } else this.expect('}');
      return [...new Set(items)];
    }
    throw new NotLiteral();
  }
}

/** Ansible's INI value conversion: a Python literal becomes its value, anything else stays text. */
export function parsePythonLiteral(text: string): unknown {
  try {
    const toks = tokenize(text);
    if (toks.length === 0) return text;
    return new Parser(toks).parseTop();
  } catch (e) {
    if (e instanceof NotLiteral) return text;
    throw e;
  }
}
