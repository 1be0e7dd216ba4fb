import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Problem } from './problem.js';

/** A parsed YAML file that can say where a key path sits (line:column) for error messages. */
export interface YamlSource {
  file: string;
  data: unknown;
  problems: Problem[];
  /** Position of the value at `path` (or of its key, or of the nearest existing parent). */
  locate(path: readonly PropertyKey[], what?: 'key' | 'value'): { line: number; column: number } | undefined;
  /** True when the file itself sets `path`. */
  has(path: readonly PropertyKey[]): boolean;
}

export function parseYaml(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    problems.push({
      severity: 'error',
      file,
      line: pos.line,
      column: pos.col,
      key: '',
      message: `YAML syntax: ${firstLine(err.message)}`,
      hint: 'fix the YAML syntax (indentation, quotes, colons)',
    });
  }
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return {
    file,
    data: problems.length ? undefined : doc.toJS(),
    problems,
    has: (path) => doc.hasIn(path),
    locate(path, what = 'value') {
      let node: unknown = doc.contents;
      let pos = node && (node as Node).range ? at((node as Node).range![0]) : undefined;
      for (const seg of path) {
        if (isMap(node)) {
          const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === seg);
          if (!pair) return pos;
          const keyNode = pair.key as Node;
          const valueNode = pair.value as Node | null;
          const isLast = seg === path[path.length - 1];
          if (isLast && what === 'key' && keyNode.range) return at(keyNode.range[0]);
          pos = valueNode?.range ? at(valueNode.range[0]) : keyNode.range ? at(keyNode.range[0]) : pos;
          node = valueNode;
        } else if (isSeq(node) && typeof seg === 'number') {
          const item = node.items[seg] as Node | undefined;
          if (!item) return pos;
          if (item.range) pos = at(item.range[0]);
          node = item;
        } else {
          return pos;
        }
      }
      return pos;
    },
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
