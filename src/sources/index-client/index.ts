export { UndiciIndexClient, createIndexClient, SIMPLE_ACCEPT, type IndexClientOptions } from './client.js';
export { IndexError, type IndexErrorCode } from './errors.js';
export { HttpTransport, DEFAULT_MAX_BODY_BYTES, type HttpOptions, type IndexRoute } from './http.js';
export { parseFeed, splitTitle, decodeUtf8, type ParsedFeed } from './rss.js';
export { parsePep691, parsePep503, type ParsedPage, type PageProblem } from './project-page.js';
export { parseWarehouseJson } from './warehouse-json.js';
