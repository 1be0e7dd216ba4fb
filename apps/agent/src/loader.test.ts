import { describe, expect, it } from 'vitest';
import { AgentError } from './errors.js';
import { inside } from './loader.js';

describe('paths from the manifest', () => {
  it('stay inside the OS folder', () => {
    expect(inside('/run/oss/deb', 'boot/vmlinuz')).toBe('/run/oss/deb/boot/vmlinuz');
    expect(inside('/run/oss/deb', './x/../vmlinuz')).toBe('/run/oss/deb/vmlinuz');
    expect(() => inside('/run/oss/deb', '../other/vmlinuz')).toThrow(AgentError);
    expect(() => inside('/run/oss/deb', '/etc/shadow')).toThrow(/points outside the OS folder/);
    expect(() => inside('/run/oss/deb', '../deb-evil/x')).toThrow(
      expect.objectContaining({ code: 'AGENT_BAD_OS' }),
    );
  });
});
