// Code blocks between `<!-- example:NAME -->` and `<!-- /example:NAME -->` in a Markdown file.
import fs from 'node:fs';

// The fenced block of example `name` in `file`, exactly as written, or null when absent.
export function docExample(file: string, name: string): string | null {
  const text = fs.readFileSync(file, 'utf8');
  const m = new RegExp(`<!-- example:${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n<!-- /example:${name} -->`).exec(
    text,
  );
  return m ? m[1]! : null;
}
