/** Warehouse's JSON API (`/pypi/<name>/json`, `/pypi/<name>/<version>/json`) -> IndexRelease[]. */
import { canonicalizeName } from '../../domain/pep503.js';
import type { IndexFile, IndexRelease } from '../../domain/types.js';
import { readSize, readUploadTime } from './page-fields.js';
import { ShapeChecker, checkSha256, withValidVersions, type ParsedPage, type PageProblem } from './project-page.js';

function parseFile(check: ShapeChecker, value: unknown, field: string, project: string, problems: PageProblem[]): IndexFile {
  const entry = check.object(value, field);
  const filename = check.string(entry.filename, `${field}.filename`);
  const digests = entry.digests === undefined ? {} : check.object(entry.digests, `${field}.digests`);
  const sha256 = checkSha256(check.optionalString(digests.sha256, `${field}.digests.sha256`), `${project} ${filename}`, problems);
  if (entry.yanked !== undefined && typeof entry.yanked !== 'boolean') check.fail(`${field}.yanked`, 'a boolean', entry.yanked);
  const reason = check.optionalString(entry.yanked_reason, `${field}.yanked_reason`);
  return {
    filename,
    sha256,
    yanked: entry.yanked === true,
    yankedReason: entry.yanked === true && reason ? reason : null,
    uploadTime: readUploadTime(entry.upload_time_iso_8601, `${project} ${filename}`, problems),
    size: readSize(entry.size, `${project} ${filename}`, problems),
  };
}

/**
 * `/pypi/<name>/json` (every release, from the deprecated `releases` key) or, with
 * `version`, `/pypi/<name>/<version>/json` (that release, from `urls`).
 */
export function parseWarehouseJson(data: unknown, url: string, requested: string, version?: string): ParsedPage {
  const project = canonicalizeName(requested);
  const check = new ShapeChecker(url, project);
  const root = check.object(data, '(root)');
  const info = check.object(root.info, 'info');
  const name = check.string(info.name, 'info.name');
  if (canonicalizeName(name) !== project) check.fail('info.name', `the project ${project}`, name);
  const problems: PageProblem[] = [];
  const releases: IndexRelease[] = [];
  if (version !== undefined) {
    const files = check.array(root.urls, 'urls').map((f, i) => parseFile(check, f, `urls[${i}]`, project, problems));
    const published = check.optionalString(info.version, 'info.version') ?? version;
    releases.push({ version: published, files });
  } else {
    const all = check.object(root.releases, 'releases');
    for (const [v, files] of Object.entries(all)) {
      releases.push({
        version: v,
        files: check.array(files, `releases.${v}`).map((f, i) => parseFile(check, f, `releases.${v}[${i}]`, project, problems)),
      });
    }
  }
  return { project, releases: withValidVersions(project, releases, problems), problems };
}
