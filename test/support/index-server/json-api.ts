/** Warehouse's JSON API: `/pypi/<name>/json` and `/pypi/<name>/<version>/json`; `last_serial` is the project's. */
import type { IndexFileEntry } from './files.js';
import type { ProjectEntry, ReleaseEntry } from './model.js';
import { fileUrl, pythonIsoTime } from './simple.js';

function fileJson(origin: string, release: ReleaseEntry, file: IndexFileEntry) {
  return {
    comment_text: '',
    digests: { blake2b_256: file.blake2b256, md5: file.md5, sha256: file.sha256 },
    downloads: -1,
    filename: file.filename,
    has_sig: false,
    md5_digest: file.md5,
    packagetype: file.packagetype,
    python_version: file.packagetype === 'sdist' ? 'source' : 'py3',
    requires_python: file.requiresPython,
    size: file.size,
    upload_time: file.uploadTime.toISOString().slice(0, 19),
    upload_time_iso_8601: pythonIsoTime(file.uploadTime),
    url: fileUrl(origin, file),
    yanked: release.yanked,
    yanked_reason: release.yankedReason,
  };
}

function info(origin: string, project: ProjectEntry, release: ReleaseEntry | undefined) {
  return {
    name: project.name,
    version: release?.version ?? null,
    summary: release?.summary ?? project.summary,
    author_email: release?.author ?? project.author,
    requires_python: release?.files[0]?.requiresPython ?? null,
    package_url: `${origin}/project/${project.name}/`,
    project_url: `${origin}/project/${project.name}/`,
    release_url: release ? `${origin}/project/${project.name}/${release.version}/` : null,
    yanked: release?.yanked ?? false,
    yanked_reason: release?.yankedReason ?? null,
  };
}

/** The latest release: the newest upload that is not yanked, else the newest. */
function latest(project: ProjectEntry): ReleaseEntry | undefined {
  const byTime = [...project.releases].sort((a, b) => b.uploadTime.getTime() - a.uploadTime.getTime() || b.seq - a.seq);
  return byTime.find((r) => !r.yanked) ?? byTime[0];
}

export function projectJsonApi(project: ProjectEntry, origin: string): string {
  const current = latest(project);
  return JSON.stringify({
    info: info(origin, project, current),
    last_serial: project.lastSerial,
    releases: Object.fromEntries(project.releases.map((r) => [r.version, r.files.map((f) => fileJson(origin, r, f))])),
    urls: current ? current.files.map((f) => fileJson(origin, current, f)) : [],
    vulnerabilities: [],
  });
}

export function releaseJsonApi(project: ProjectEntry, release: ReleaseEntry, origin: string): string {
  return JSON.stringify({
    info: info(origin, project, release),
    last_serial: project.lastSerial,
    urls: release.files.map((f) => fileJson(origin, release, f)),
    vulnerabilities: [],
  });
}
