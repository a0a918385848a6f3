import { describe, expect, it } from 'vitest';
import { parseDistributionFilename } from '../../src/domain/filename.js';

const versionFromFilename = (filename: string, project?: string) => parseDistributionFilename(filename, project)?.version ?? null;

describe('the version a filename carries', () => {
  it.each([
    ['requests-2.32.3-py3-none-any.whl', undefined, '2.32.3'],
    ['numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', 'numpy', '2.0.0'],
    ['foo_bar-1.0rc1-1-py3-none-any.whl', 'foo-bar', '1.0rc1'],
    ['Foo.Bar-1.0.tar.gz', 'foo-bar', '1.0'],
    ['python-dateutil-2.8.2.tar.gz', 'python-dateutil', '2.8.2'],
    ['python-dateutil-2.8.2.tar.gz', undefined, '2.8.2'],
    ['zope.interface-5.4.0.zip', 'zope-interface', '5.4.0'],
    ['pkg-1.0.tar.bz2', 'pkg', '1.0'],
    ['pkg-1.0.tgz', 'pkg', '1.0'],
    ['pkg-1.0.tar.xz', 'pkg', '1.0'],
    ['pkg-1.0-1.tar.gz', 'pkg', '1.0-1'],
    ['pkg-2!1.0.post1.dev2+local.7.tar.gz', 'pkg', '2!1.0.post1.dev2+local.7'],
    ['setuptools-0.6c11-py2.7.egg', 'setuptools', '0.6c11'],
    ['my_pkg-1.2-py2.7-linux-x86_64.egg', 'my-pkg', '1.2'],
    ['pywin32-1.0.win32-py2.7.exe', 'pywin32', '1.0'],
    ['https://files.example.org/packages/ab/cd/pkg-3.1.tar.gz', 'pkg', '3.1'],
  ])('%s (project %s) -> %s', (filename, project, version) => {
    expect(versionFromFilename(filename, project)).toBe(version);
  });

  it.each([
    ['requests-2.32.3-py3-none-any.whl', 'urllib3'],
    ['pkg-1.0.tar.gz', 'other'],
    ['pkg-1.0-py3-any.whl', undefined],
    ['pkg.tar.gz', undefined],
    ['pkg-.tar.gz', 'pkg'],
    ['pkg-abc.tar.gz', 'pkg'],
    ['pkg-1.0.rpm', 'pkg'],
    ['README.md', undefined],
    ['pkg-1.0.tar.gz\u0000; rm', 'pkg'],
  ])('%s (project %s) has no version', (filename, project) => {
    expect(versionFromFilename(filename, project)).toBeNull();
  });

  it('tells the kind of distribution', () => {
    expect(parseDistributionFilename('a-1-py3-none-any.whl')).toEqual({ name: 'a', version: '1', kind: 'wheel' });
    expect(parseDistributionFilename('a-b-1.zip', 'a-b')).toEqual({ name: 'a-b', version: '1', kind: 'sdist' });
    expect(parseDistributionFilename('a-1-py3.6.egg')?.kind).toBe('egg');
    expect(parseDistributionFilename('a-1.win-amd64.msi', 'a')?.kind).toBe('wininst');
  });
});
